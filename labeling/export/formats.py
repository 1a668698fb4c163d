"""The formats: what each writes, which options it takes, and the files an export of it is made of."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from labeling import tasktypes
from labeling.errors import InvalidInput
from labeling.export import feedback, manifest, tabular, vision
from labeling.export.options import Options
from labeling.export.writer import Context, Writer

# Options every dataset format takes (a dump takes none: it is the whole project, as it is).
COMMON = frozenset({"split", "seed", "min_confidence", "include_open", "include_gold", "since", "card"})


@dataclass(frozen=True)
class Format:
    """One export format."""

    name: str
    summary: str
    extension: str  # of its data files
    media_type: str
    writer: type[Writer] | None
    options: frozenset[str] = frozenset()  # besides COMMON
    answers: bool = False  # it needs every task's answers
    loader: str | None = None  # the `datasets` builder that reads its files (named in the dataset card)

    @property
    def kind(self) -> str:
        """What its data file is, in words (an output named for another kind is refused)."""
        return KINDS[self.extension][0]

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The file name extensions its data file may have: its own first, then those its readers take as well."""
        return KINDS[self.extension][1]


JSON_LINES = (".jsonl", ".ndjson", ".jsonlines", ".json")  # datasets' json builder reads JSON Lines under each
# A format's own extension -> (what its file is, the extensions a file of it may be named with).
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    ".jsonl": ("JSON Lines", JSON_LINES),
    ".manifest": ("JSON Lines", (".manifest", *JSON_LINES)),
    ".csv": ("CSV", (".csv",)),
    ".json": ("one JSON document", (".json",)),
    ".conll": ("CoNLL text", (".conll", ".bio", ".iob", ".iob2")),
    ".txt": ("a folder", ()),
}
# Extensions that promise a reader a kind of file: an output named with one of them must be of that kind (an
# export written as x.csv that is JSON Lines reads as one broken column). Others (.txt, .out, none) are anyone's.
KNOWN_SUFFIXES = frozenset({suffix for _, suffixes in KINDS.values() for suffix in suffixes} | {
    ".zip", ".tsv", ".conllu", ".parquet", ".arrow", ".feather", ".yaml", ".yml", ".xlsx", ".xls", ".ods",
    ".xml", ".html", ".md", ".gz", ".bz2", ".xz", ".zst", ".tar", ".tgz", ".pkl", ".pickle", ".npy", ".npz"})


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("jsonl", "one JSON object per task: id, external_id, data fields, consensus, confidence, agreement",
           ".jsonl", "application/x-ndjson", tabular.Jsonl, loader="json"),
    Format("csv", "one row per task, nested values as JSON text", ".csv", "text/csv; charset=utf-8", tabular.Csv,
           frozenset({"csv_escape_formulas"}), loader="csv"),
    Format("manifest", "the output manifest of managed ground-truth services", ".manifest", "application/x-ndjson",
           manifest.Manifest, frozenset({"label_attribute"})),
    Format("annotations", "every answer: task, worker pseudonym, time, duration, flags, the whole answer", ".jsonl",
           "application/x-ndjson", tabular.Annotations, answers=True, loader="json"),
    Format("coco", "COCO instances JSON (images with sizes, categories, boxes with scores)", ".json",
           "application/json", vision.Coco, frozenset({"copy_images"})),
    Format("yolo", "YOLO folders: data.yaml, images/SPLIT, labels/SPLIT", ".txt", "application/zip", vision.Yolo),
    Format("spans", "named entities as JSON Lines: text and entities", ".jsonl", "application/x-ndjson",
           tabular.Spans, loader="json"),
    Format("conll", "BIO tags, one token a line, a blank line between documents", ".conll",
           "text/plain; charset=utf-8", tabular.Conll),
    Format("preference", "reward-model and DPO pairs: prompt, chosen, rejected, margin", ".jsonl",
           "application/x-ndjson", feedback.Preference, frozenset({"pairs", "min_margin", "margin", "conversational"}),
           loader="json"),
    Format("kto", "unpaired preference rows: prompt, completion, label", ".jsonl", "application/x-ndjson",
           feedback.Kto, frozenset({"conversational", "kto_source", "good_rating", "bad_rating", "good_rank",
                                    "bad_rank"}), loader="json"),
    Format("ranking", "one row per prompt: the full consensus order, scores and ties", ".jsonl",
           "application/x-ndjson", feedback.Ranking, loader="json"),
    Format("sft", "prompt and completion per demonstration (messages with conversational)", ".jsonl",
           "application/x-ndjson", feedback.Sft, frozenset({"conversational"}), answers=True, loader="json"),
    Format("dump", "a lossless dump of the project (labeling restore FILE reads it)", ".jsonl",
           "application/x-ndjson", None),
    Format("deletions", "the tasks deleted (after --since), and those changed since that the export's options leave "
           "out now, for incremental pulls: id, external_id, deleted_at", ".jsonl", "application/x-ndjson", None,
           frozenset({"since", "include_open", "include_gold", "min_confidence"}), loader="json"),
)}


def get(name: str, task_type: str) -> Format:
    """The format, if the task type can have it; else a one-line error naming the formats it can have."""
    allowed = tasktypes.get(task_type).formats
    if name not in FORMATS:
        raise InvalidInput(f"unknown format {name!r}; a {task_type} project exports as {', '.join(allowed)}",
                           field="format")
    if name not in allowed:
        raise InvalidInput(f"a {task_type} project cannot export as {name}; it exports as {', '.join(allowed)}",
                           field="format")
    return FORMATS[name]


# Families whose consensus has no confidence (a demonstration is a text written by each worker, not a vote).
NO_CONFIDENCE = ("demonstration",)


def options_of(fmt: Format) -> frozenset[str]:
    """The options a format takes: a dataset format's COMMON ones and its own; a dump none, `deletions` since and the
    task filter of the pull it goes with."""
    return fmt.options if fmt.writer is None else COMMON | fmt.options


def check(fmt: Format, options: Options, task_type: str | None = None) -> None:
    """Refuse options the format does not take, naming the ones it does, and min_confidence where the project's
    tasks have no confidence (it kept none of them, even at 0, and said nothing)."""
    takes = options_of(fmt)
    for name in sorted(options.given - takes):
        accepted = ", ".join(sorted(map(options.named, takes))) or "none"
        raise InvalidInput(f"option {options.named(name)} does not apply to format {fmt.name} (its options: "
                           f"{accepted})", field=name)
    if (options.min_confidence is not None and task_type is not None
            and tasktypes.get(task_type).family in NO_CONFIDENCE):
        raise InvalidInput(f"{options.named('min_confidence')} does not apply to a {task_type} project: its tasks "
                           "have no consensus confidence", field="min_confidence")


def is_folder(fmt: Format, options: Options) -> bool:
    """Whether the export is several files (a folder, or one zip over HTTP): splits, a card, YOLO, COCO's images."""
    return bool(options.split or options.card or fmt.name == "yolo" or (fmt.name == "coco" and options.copy_images))


def reads_answers(fmt: Format, ctx: Context, folder: bool) -> bool:
    """Whether the exporter must read every task's answers: the format needs them, the dataset card (agreement,
    annotators) does, or the task type's agreement is not in its stored consensus details."""
    spec = ctx.spec
    return fmt.answers or folder or (spec.agreement_key is None and spec.family != "demonstration")


def writers(fmt: Format, ctx: Context, folder: bool, file_name: str) -> list[Writer]:
    """The outputs of an export, in order; each writer sees only the rows of its split, if it has one."""
    assert fmt.writer is not None
    if not folder:
        return [fmt.writer(ctx, file_name)]
    if fmt.name == "yolo":
        return [vision.Yolo(ctx, "")]
    out: list[Writer] = []
    for split in ctx.options.split_names or ("train",):
        only = split if ctx.options.split else None
        if fmt.name == "coco":
            if ctx.options.copy_images:
                out.append(vision.CopyImages(ctx, f"images/{split}", only))
            out.append(vision.Coco(ctx, f"annotations/instances_{split}.json", only, copied=ctx.options.copy_images))
        else:
            out.append(fmt.writer(ctx, f"{split}{fmt.extension}", only))
    return out


def name_suffix(name: str) -> str:
    """A file name's extension as readers and file managers take it: in lower case (x.CSV is a CSV file), and
    past trailing dots and spaces (Windows drops them: x.csv. is saved as x.csv)."""
    return PurePosixPath(name.rstrip(". ").lower()).suffix


def check_output_name(fmt: Format, name: str, folder: bool, what: str = "") -> None:
    """Refuse an output whose name says it is another kind of file than the export writes (-o x.csv of a JSON Lines
    export, or of a folder), or whose name ends in a dot or a space (which hide its extension: x.csv. passed as a
    name with none); a name with an extension no reader relies on is taken as it is. `what`: the output, in words,
    when it is not an export's."""
    if name != name.rstrip(". "):
        raise InvalidInput(f"{name!r} ends with {name[-1]!r}, which hides its extension (Windows drops it): name it "
                           f"{name.rstrip('. ')!r}", field="output")
    suffix = name_suffix(name)
    if suffix not in KNOWN_SUFFIXES or (folder and suffix == ".zip"):
        return
    if folder:
        raise InvalidInput(f"{name} is named as a {suffix} file, but this export is several files: name a folder, "
                           "or FILE.zip", field="output")
    if suffix not in fmt.suffixes:
        other = f" (or {', '.join(fmt.suffixes[1:])})" if len(fmt.suffixes) > 1 else ""
        output = what or f"the {fmt.name} export"
        raise InvalidInput(f"{name} is named as a {suffix} file, but {output} is {fmt.kind}: name it "
                           f"{fmt.suffixes[0]}{other}", field="output")


def file_name(fmt: Format, ctx: Context, folder: bool) -> str:
    """The export's file name (HTTP's Content-Disposition, the CLI's default output)."""
    return f"{ctx.slug}-{fmt.name}" + (".zip" if folder else fmt.extension)
