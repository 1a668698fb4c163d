#!/usr/bin/env python3
"""Generate the demo images in sample_tasks/images/ (Pillow only, deterministic).

Each scene is a plain light (or dark) background with one to three flat-coloured
shapes (circle, square, triangle) that do not overlap. Positions and sizes come
from a seeded RNG, so running the script again gives byte-identical PNGs on the
same Pillow/zlib versions.

Besides the PNGs it writes sample_tasks/scenes.json (kept out of images/, which
the demo copies into the media folder) with the ground truth of every
scene: image size, background, and for each shape its label, colour and exact
pixel bounding box {"x", "y", "w", "h"} (x/y = top-left pixel, w/h in pixels).
The box is the tight box of the pixels that the shape covers by at least half
(shapes are drawn 4x supersampled and downscaled, so edges are anti-aliased).
bounding_box.jsonl's gold answers are copied from this file.

    python sample_tasks/make_images.py            # writes sample_tasks/images/
    python sample_tasks/make_images.py --out DIR --truth FILE  # somewhere else
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

SEED = 20240611
SS = 4  # supersampling factor

COLORS = {
    "red": (214, 48, 49),
    "green": (39, 160, 72),
    "blue": (38, 99, 214),
    "yellow": (246, 196, 35),
    "purple": (136, 72, 184),
    "orange": (240, 128, 30),
}

BACKGROUNDS = {
    "white": (248, 248, 246),
    "light-grey": (226, 228, 230),
    "warm-grey": (232, 226, 218),
    "grey": (200, 203, 206),
    "charcoal": (46, 48, 52),
}

# name, (width, height), background, [(shape, colour), ...]
SCENES = [
    ("scene_01", (320, 240), "white", [("circle", "red")]),
    ("scene_02", (400, 300), "light-grey", [("square", "blue")]),
    ("scene_03", (320, 240), "warm-grey", [("triangle", "green")]),
    ("scene_04", (480, 360), "charcoal", [("circle", "yellow")]),
    ("scene_05", (400, 300), "white", [("square", "orange")]),
    ("scene_06", (320, 240), "grey", [("triangle", "purple")]),
    ("scene_07", (400, 300), "charcoal", [("square", "green")]),
    ("scene_08", (480, 360), "light-grey", [("circle", "blue")]),
    ("scene_09", (480, 360), "white", [("circle", "red"), ("square", "blue")]),
    ("scene_10", (400, 300), "warm-grey", [("triangle", "yellow"), ("circle", "green"), ("square", "red")]),
    ("scene_11", (480, 360), "charcoal", [("square", "purple"), ("triangle", "orange")]),
    ("scene_12", (400, 300), "light-grey", [("circle", "orange"), ("triangle", "blue"), ("circle", "purple")]),
]


def _place(rng: random.Random, size: tuple[int, int], n: int) -> list[tuple[int, int, int]]:
    """Non-overlapping (cx, cy, r) discs, r = half the shape's extent."""
    w, h = size
    short = min(w, h)
    if n == 1:
        r_lo, r_hi = int(short * 0.22), int(short * 0.36)
    else:
        r_lo, r_hi = int(short * 0.13), int(short * 0.21)
    margin = 8
    for _attempt in range(10_000):
        placed: list[tuple[int, int, int]] = []
        for _ in range(n):
            for _try in range(200):
                r = rng.randint(r_lo, r_hi)
                cx = rng.randint(r + margin, w - r - margin)
                cy = rng.randint(r + margin, h - r - margin)
                if all(math.hypot(cx - px, cy - py) > r + pr + 12 for px, py, pr in placed):
                    placed.append((cx, cy, r))
                    break
            else:
                break
        if len(placed) == n:
            return placed
    raise RuntimeError("could not place shapes")


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: int, cy: int, r: int, fill) -> None:
    cx, cy, r = cx * SS, cy * SS, r * SS
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r - 1, cy + r - 1], fill=fill)
    elif shape == "square":
        s = int(r * 0.9)  # squares look bigger than circles of the same extent
        draw.rectangle([cx - s, cy - s, cx + s - 1, cy + s - 1], fill=fill)
    elif shape == "triangle":
        # equilateral-ish, pointing up, base at the bottom of the disc's box
        top = (cx, cy - r)
        half = int(r * 1.0)
        base_y = cy + int(r * 0.75)
        draw.polygon([top, (cx + half, base_y), (cx - half, base_y)], fill=fill)
    else:
        raise ValueError(shape)


def make_scene(rng: random.Random, name, size, background, shapes):
    w, h = size
    big = Image.new("RGB", (w * SS, h * SS), BACKGROUNDS[background])
    draw = ImageDraw.Draw(big)
    truth = []
    for (shape, colour), (cx, cy, r) in zip(shapes, _place(rng, size, len(shapes))):
        _draw_shape(draw, shape, cx, cy, r, COLORS[colour])
        mask = Image.new("L", (w * SS, h * SS), 0)
        _draw_shape(ImageDraw.Draw(mask), shape, cx, cy, r, 255)
        mask = mask.resize((w, h), Image.Resampling.BOX).point(lambda v: 255 if v >= 128 else 0)
        left, top, right, bottom = mask.getbbox()
        truth.append({"label": shape, "color": colour,
                      "x": left, "y": top, "w": right - left, "h": bottom - top})
    img = big.resize((w, h), Image.Resampling.LANCZOS)
    # A palette PNG keeps each file to a few KB.
    img = img.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return img, {"width": w, "height": h, "background": background, "shapes": truth}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "images")
    ap.add_argument("--truth", type=Path, default=Path(__file__).resolve().parent / "scenes.json")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    scenes = {}
    for name, size, background, shapes in SCENES:
        img, truth = make_scene(rng, name, size, background, shapes)
        img.save(args.out / f"{name}.png", optimize=True)
        scenes[f"images/{name}.png"] = truth
    args.truth.write_text(json.dumps(scenes, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(scenes)} images to {args.out} and their shapes to {args.truth}")


if __name__ == "__main__":
    main()
