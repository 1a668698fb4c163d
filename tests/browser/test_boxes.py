"""Bounding boxes: drawn with the mouse on a scaled image, stored in image pixels."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import label_page, png

SHAPES = ["circle", "square", "triangle"]
W, H = 400, 300


def close_to(box: dict, label: str, x: float, y: float, w: float, h: float, tolerance: float = 2) -> bool:
    """True when a stored box is the expected one within `tolerance` image pixels."""
    return box["label"] == label and all(abs(box[k] - v) <= tolerance for k, v in zip("xywh", (x, y, w, h)))


def test_boxes_drawn_moved_resized_and_deleted_land_on_image_pixels(new_page, server, worker):
    requester = server.user("requester", password=None)
    image = server.upload_image(requester["token"], png(W, H, [("ellipse", (50, 40, 250, 190), "#d62728"),
                                                               ("rect", (300, 200, 380, 280), "#1f77b4")]))
    project = server.project("bounding_box", [
        {"data": {"image": image}, "external_id": "draw", "priority": 1},
        {"data": {"image": image}, "external_id": "fix",
         "predictions": {"boxes": [{"label": "circle", "x": 20, "y": 30, "w": 50, "h": 40}]}},
    ], labels=SHAPES)
    page = label_page(new_page, worker, project)
    page.wait_for_function("() => document.getElementById('box-image').naturalWidth === 400")
    stage = page.locator("#box-stage")

    def screen(x: float, y: float) -> tuple[float, float]:
        rect = stage.bounding_box()
        scale = rect["width"] / W
        return rect["x"] + x * scale, rect["y"] + y * scale

    def drag(start: tuple[float, float], end: tuple[float, float]) -> None:
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=6)
        page.mouse.up()

    scale = stage.bounding_box()["width"] / W
    assert abs(scale - 1) > 0.2, f"the image should be shown scaled, not at {scale:.2f}x"

    page.keyboard.press("2")                                   # the label of the next boxes: square
    drag(screen(50, 40), screen(250, 190))                    # box 1, drawn as square
    drag(screen(300, 200), screen(380, 280))                   # box 2, drawn as square...
    page.mouse.click(*screen(340, 210))                        # ...selected by a click
    page.get_by_role("button", name="triangle").click()        # ...and labelled by mouse
    expect(page.locator("#box-list .item")).to_have_count(2)

    page.mouse.click(*screen(150, 60))                         # select box 1 again
    expect(page.locator(".bbox.selected .bbox-tag")).to_have_text("1 square")
    drag(screen(150, 115), screen(170, 125))                   # move it by (+20, +10)
    handle = page.locator(".bbox.selected .h-se").bounding_box()
    corner = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    scale = stage.bounding_box()["width"] / W
    drag(corner, (corner[0] + 20 * scale, corner[1] + 20 * scale))  # resize by (+20, +20)

    drag(screen(10, 220), screen(60, 290))                     # box 3, selected with P, then deleted by key
    expect(page.locator("#box-list .item")).to_have_count(3)
    page.keyboard.press("p")
    expect(page.locator(".bbox.selected .bbox-tag")).to_have_text("3 square")
    page.keyboard.press("Delete")
    expect(page.locator("#box-list .item")).to_have_count(2)

    page.keyboard.press("+")                                   # zoom in, draw in the visible bottom-left
    expect(page.locator("#zoom-level")).not_to_have_text(f"{round(scale * 100)}%")
    view = page.locator("#box-viewport").bounding_box()
    rect = stage.bounding_box()
    zoomed = rect["width"] / W
    assert zoomed > scale * 1.2
    left = max(0.0, (view["x"] - rect["x"]) / zoomed) + 5
    bottom = min(float(H), (view["y"] + view["height"] - rect["y"]) / zoomed) - 5
    assert left + 30 < 70, "the new box must be clear of box 1"
    page.keyboard.press("1")
    drag(screen(left, bottom - 20), screen(left + 30, bottom))
    page.keyboard.press("f")
    expect(page.locator("#zoom-level")).to_have_text(f"{round(scale * 100)}%")
    page.keyboard.press("Enter")

    # The next task starts from its pre-annotation; nudge it with the arrow keys.
    expect(page.locator("#prefill-note")).to_be_visible()
    expect(page.locator("#box-list .item")).to_have_count(1)
    page.keyboard.press("n")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()

    answers = server.answers(project["id"])
    drawn = answers["draw"]["boxes"]
    assert len(drawn) == 3, drawn
    assert close_to(drawn[0], "square", 70, 50, 220, 170), drawn[0]
    assert close_to(drawn[1], "triangle", 300, 200, 80, 80), drawn[1]
    assert close_to(drawn[2], "circle", left, bottom - 20, 30, 20), (drawn[2], left, bottom)
    assert all(isinstance(box[k], int) for box in drawn for k in "xywh")
    assert answers["fix"] == {"boxes": [{"label": "circle", "x": 30, "y": 31, "w": 50, "h": 40}]}
