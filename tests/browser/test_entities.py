"""Named entities: spans selected with the mouse get Python character offsets, even after emoji."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import DESKTOP, LONG_TEXT, PHONE, assert_in_view, label_page, scroll_to_the_end

LABELS = ["PERSON", "ORG", "LOC"]
TEXT = "😀 Zoë met José in Zürich 🇨🇭 with ACME Corp 🚀 today."
SECOND = "Flights from Lisbon resume on Monday."

FIND_RECT = """([start, end]) => {
  const root = document.getElementById('entity-text');
  const locate = (offset) => {
    for (const seg of root.querySelectorAll('.seg')) {
      const s = Number(seg.dataset.start), n = seg.textContent.length;
      if (offset >= s && offset < s + n) return [seg.firstChild, offset - s];
    }
    throw new Error('no segment holds ' + offset);
  };
  const rect = (offset) => {
    const [node, at] = locate(offset);
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + 1);
    return range.getBoundingClientRect();
  };
  const a = rect(start), b = rect(end - 1);
  return [a.left + 1, (a.top + a.bottom) / 2, b.right - 1, (b.top + b.bottom) / 2];
}"""


def utf16(text: str, index: int) -> int:
    """The JavaScript (UTF-16) offset of a Python character offset."""
    return len(text[:index].encode("utf-16-le")) // 2


def span(text: str, word: str, label: str) -> dict:
    start = text.index(word)
    return {"start": start, "end": start + len(word), "label": label}


def select_with_mouse(page, text: str, word: str) -> None:
    """Press at the first character of `word`, drag to its last, release."""
    start = text.index(word)
    x1, y1, x2, y2 = page.evaluate(FIND_RECT, [utf16(text, start), utf16(text, start + len(word))])
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x2, y2, steps=8)
    page.mouse.up()


def test_spans_selected_with_the_mouse_have_python_offsets(new_page, server, worker):
    project = server.project("named_entities", [
        {"data": {"text": TEXT}, "external_id": "emoji", "priority": 1,
         "predictions": {"spans": [span(TEXT, "Zoë", "PERSON"), span(TEXT, "today", "LOC")]}},
        {"data": {"text": SECOND}, "external_id": "plain"},
    ], labels=LABELS)
    page = label_page(new_page, worker, project)
    root = page.locator("#entity-text")
    expect(page.locator("#prefill-note")).to_be_visible()
    expect(page.locator("#span-list .item")).to_have_count(2)

    select_with_mouse(page, TEXT, "José")
    expect(root.locator(".seg.pending")).to_have_text("José")
    page.keyboard.press("1")
    select_with_mouse(page, TEXT, "Zürich")
    page.locator("#labels .label-btn", has_text="LOC").click()
    select_with_mouse(page, TEXT, "ACME Corp")
    page.keyboard.press("2")
    select_with_mouse(page, TEXT, "with")  # a mistake: labelled, then deleted by key
    page.keyboard.press("3")
    expect(page.locator("#span-list .item")).to_have_count(6)
    page.keyboard.press("Delete")
    expect(page.locator("#span-list .item")).to_have_count(5)
    # Remove the wrong pre-annotation with its × in the text.
    page.locator(f'.ent-tag[data-at="{utf16(TEXT, TEXT.index("today") + 5)}"] .ent-remove').click()
    expect(page.locator("#span-list .item")).to_have_count(4)
    expect(root.locator(".seg.ent")).to_have_text(["Zoë", "José", "Zürich", "ACME Corp"])
    page.keyboard.press("Enter")

    # Second task: a double-click selects a word, a number key labels it.
    expect(root).to_contain_text("Lisbon")
    expect(page.locator("#prefill-note")).to_be_hidden()
    start = SECOND.index("Lisbon")
    x1, y1, x2, _ = page.evaluate(FIND_RECT, [start, start + 6])
    page.mouse.dblclick((x1 + x2) / 2, y1)
    page.keyboard.press("3")
    expect(root.locator(".seg.ent")).to_have_text(["Lisbon"])
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()

    answers = server.answers(project["id"])
    assert answers["emoji"] == {"spans": [span(TEXT, "Zoë", "PERSON"), span(TEXT, "José", "PERSON"),
                                          span(TEXT, "Zürich", "LOC"), span(TEXT, "ACME Corp", "ORG")]}
    assert answers["plain"] == {"spans": [span(SECOND, "Lisbon", "LOC")]}


SLOPPY = "Maria Gonzalez joined Northwind Analytics after six years in Madrid."


def drag_offsets(page, start: int, end: int) -> None:
    """Press on character `start`, release on character `end - 1` (UTF-16 offsets of the text)."""
    x1, y1, x2, y2 = page.evaluate(FIND_RECT, [start, end])
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x2, y2, steps=8)
    page.mouse.up()


def test_sloppy_selections_snap_to_whole_words_without_punctuation(new_page, server, worker):
    project = server.project("named_entities", [{"data": {"text": SLOPPY}, "external_id": "s"}], labels=LABELS)
    page = label_page(new_page, worker, project)
    root = page.locator("#entity-text")
    start = SLOPPY.index("Northwind") + 2
    drag_offsets(page, start, SLOPPY.index("Analytics") + 7)          # "rthwind Analyti"
    expect(root.locator(".seg.pending")).to_have_text("Northwind Analytics")
    page.keyboard.press("2")
    drag_offsets(page, SLOPPY.index("in Madrid") + 2, len(SLOPPY))     # " Madrid." with the space and the period
    expect(root.locator(".seg.pending")).to_have_text("Madrid")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"])["s"] == {"spans": [span(SLOPPY, "Northwind Analytics", "ORG"),
                                                             span(SLOPPY, "Madrid", "LOC")]}


def test_words_are_selected_and_labelled_from_the_keyboard(new_page, server, worker):
    project = server.project("named_entities", [{"data": {"text": SLOPPY}, "external_id": "k"}], labels=LABELS)
    page = label_page(new_page, worker, project)
    root = page.locator("#entity-text")
    page.keyboard.press("ArrowRight")                                  # the first word
    expect(root.locator(".seg.pending")).to_have_text("Maria")
    page.keyboard.press("Shift+ArrowRight")                            # stretched over the next one
    expect(root.locator(".seg.pending")).to_have_text("Maria Gonzalez")
    page.keyboard.press("1")
    for _ in range(2):                                                 # joined, Northwind
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("2")
    page.keyboard.press("End")                                         # (not a key of the page: nothing happens)
    for _ in range(5):                                                 # after six years in Madrid
        page.keyboard.press("ArrowRight")
    expect(root.locator(".seg.pending")).to_have_text("Madrid")        # the period is not a word
    page.keyboard.press("ArrowRight")
    expect(root.locator(".seg.pending")).to_have_text("Madrid")        # the last word stays
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"])["k"] == {"spans": [span(SLOPPY, "Maria Gonzalez", "PERSON"),
                                                             span(SLOPPY, "Northwind Analytics", "ORG"),
                                                             span(SLOPPY, "Madrid", "LOC")]}


def test_overlaps_follow_the_project_and_tags_never_split_a_word(new_page, server, worker):
    text = "New York City Hall opened."
    project = server.project("named_entities", [
        {"data": {"text": text}, "external_id": "o", "predictions": {"spans": [{"start": 0, "end": 6, "label": "LOC"}]}},
    ], labels=[{"name": "ORG", "color": "#123456"}, "LOC"], options={"span_overlap": "none", "span_unit": "character"})
    page = label_page(new_page, worker, project)
    root = page.locator("#entity-text")
    # A pre-annotation ending inside "York": its tag goes after the word, which stays whole.
    expect(root.locator(".ent-tag")).to_have_count(1)
    assert page.evaluate("""() => {
        const tag = document.querySelector('#entity-text .ent-tag');
        return [tag.previousSibling.textContent, tag.nextSibling.textContent];
    }""") == ["rk", " City Hall opened."]
    assert root.locator(".seg.ent").evaluate("n => getComputedStyle(n).boxShadow").startswith("rgb(")
    drag_offsets(page, 0, 18)                                           # New York City Hall, characters exactly
    expect(root.locator(".seg.pending")).to_have_count(3)               # cut by the LOC span and its tag
    assert "".join(root.locator(".seg.pending").all_text_contents()) == "New York City Hall"
    page.keyboard.press("1")                                            # replaces the overlapping LOC
    expect(page.locator("#message")).to_contain_text("in place of “New Yo”")
    expect(root.locator(".seg.ent")).to_have_text(["New York City Hall"])
    colour = root.locator(".ent-tag").evaluate("n => getComputedStyle(n).backgroundColor")
    assert colour == "rgb(18, 52, 86)", "the label's own colour"
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"])["o"] == {"spans": [{"start": 0, "end": 18, "label": "ORG"}]}


def test_in_a_very_long_text_the_labels_stay_in_view_at_its_end(new_page, server, worker):
    project = server.project("named_entities", [{"data": {"text": LONG_TEXT}, "external_id": f"long{i}"}
                                                for i in range(2)], labels=LABELS, instructions="")
    for done, viewport in enumerate((DESKTOP, PHONE), start=1):
        page = label_page(new_page, worker, project, viewport=viewport)
        scroll_to_the_end(page, "entity-text")
        assert_in_view(page.locator("#labels .label-btn").nth(2))  # no scrolling back up to pick a label
        page.keyboard.press("ArrowLeft")  # the last word...
        page.keyboard.press("3")          # ...is a LOC
        expect(page.locator("#entity-text .ent-tag")).to_have_count(1)
        page.keyboard.press("Enter")
        expect(page.locator("#done-count")).to_have_text(str(done))
        page.context.close()
    end = len(LONG_TEXT)
    assert list(server.answers(project["id"]).values()) == [{"spans": [{"start": end - 3, "end": end, "label": "LOC"}]}] * 2


# Every "(" that ends a text right before a key (an inline-block, which a line may break before): on the same line
# as the key, as the words around it are.
OPEN_PAREN_APART = """() => {
    const apart = [];
    for (const root of document.querySelectorAll('.hint, summary')) {
        if (!root.getClientRects().length) continue;
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const next = n.nextSibling;
            if (!n.data.endsWith('(') || !next || next.nodeName !== 'KBD') continue;
            const range = document.createRange();
            range.setStart(n, n.data.length - 1);
            range.setEnd(n, n.data.length);
            const a = range.getBoundingClientRect(), b = next.getBoundingClientRect();
            if (Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2) > a.height / 2) apart.push(root.textContent);
        }
    }
    return apart;
}"""


def test_the_hint_keeps_its_bracket_with_its_key_on_a_phone(new_page, server, worker):
    """At 390 px the hint broke right after "(", the key it opens on the next line."""
    project = server.project("named_entities", [{"data": {"text": "Ada Lovelace met Charles Babbage."}}],
                             labels=["PER", "ORG"])
    page = label_page(new_page, worker, project, PHONE)
    hint = page.locator(".entities .subject .hint")
    expect(hint).to_be_visible()
    for width in range(300, 431, 5):  # whatever the width, never a line ending in "("
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate(OPEN_PAREN_APART) == [], width


SELECT_BY_TOUCH = """([start, end]) => {
  const root = document.getElementById('entity-text');
  const locate = (offset) => {
    for (const seg of root.querySelectorAll('.seg')) {
      const s = Number(seg.dataset.start), n = seg.textContent.length;
      if (offset >= s && offset <= s + n) return [seg.firstChild, offset - s];
    }
    throw new Error('no segment holds ' + offset);
  };
  const range = document.createRange();
  range.setStart(...locate(start));
  range.setEnd(...locate(end));
  const selection = document.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}"""


def test_a_selection_made_by_touch_is_labelled_by_a_tap_on_a_label(new_page, server, worker):
    """A phone selects text by a long press and the selection's handles, with no pointerup in the text, and a tap on a
    label may clear the selection before the label's click: the words selected still get the label."""
    project = server.project("named_entities", [{"data": {"text": SLOPPY}, "external_id": "t"}], labels=LABELS)
    page = label_page(new_page, worker, project, PHONE)
    root = page.locator("#entity-text")
    start = SLOPPY.index("Northwind")
    page.evaluate(SELECT_BY_TOUCH, [start, start + len("Northwind Analytics")])
    expect(page.locator("#message")).to_contain_text("Selected “Northwind Analytics”")
    page.evaluate("document.getSelection().removeAllRanges()")  # the tap on the label dismisses the selection
    page.locator("#labels .label-btn", has_text="ORG").click()
    expect(root.locator(".seg.ent")).to_have_text(["Northwind Analytics"])
    # A selection dismissed by a tap anywhere else is gone: a label then asks for words first.
    where = SLOPPY.index("Madrid")
    page.evaluate(SELECT_BY_TOUCH, [where, where + len("Madrid")])
    expect(page.locator("#message")).to_contain_text("Selected “Madrid”")
    page.locator(".entities .subject .hint").click()
    page.evaluate("document.getSelection().removeAllRanges()")
    page.locator("#labels .label-btn", has_text="LOC").click()
    expect(page.locator("#message")).to_contain_text("Select some words first")
    expect(root.locator(".seg.ent")).to_have_text(["Northwind Analytics"])
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"])["t"] == {"spans": [span(SLOPPY, "Northwind Analytics", "ORG")]}


ON_WHITE = """(el, property) => {
  const value = getComputedStyle(el)[property], rgb = value.match(/rgba?\\(([^)]*)\\)/)[1].split(',').map(Number);
  const lum = rgb.slice(0, 3).map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
                             .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  return 1.05 / (lum + 0.05);
}"""


def test_a_pale_label_colour_still_marks_its_label_and_its_spans(new_page, server, worker):
    """A requester's white or yellow label left no mark on the white page: the label's stripe, the entity's
    underline, the list's swatch and the tag's edge were white on white (1:1) or yellow on white (1.07:1); they are
    drawn in the colour darkened to 3:1 (WCAG 1.4.11), the fills keep the colour given."""
    labels = [{"name": "snow", "color": "#fff"}, {"name": "lemon", "color": "#ffff00"}]
    project = server.project("named_entities", [{"data": {"text": "Snow and lemon."}, "predictions": {"spans": [
        {"start": 0, "end": 4, "label": "snow"}, {"start": 9, "end": 14, "label": "lemon"}]}}], labels=labels)
    page = label_page(new_page, worker, project)
    expect(page.locator(".ent-tag")).to_have_count(2)
    marks = [(".label-btn", "borderLeftColor"), (".seg.ent", "boxShadow"), (".item .swatch", "borderTopColor"),
             (".ent-tag", "boxShadow")]
    for selector, style in marks:
        for i in range(2):
            mark = page.locator(selector).nth(i)
            assert mark.evaluate(ON_WHITE, style) >= 3, (selector, i)
    assert page.locator(".ent-tag").nth(1).evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 255, 0)"


def test_ctrl_z_undoes_a_removed_or_relabelled_entity(new_page, server, worker):
    project = server.project("named_entities", [
        {"data": {"text": SECOND}, "external_id": "u",
         "predictions": {"spans": [span(SECOND, "Lisbon", "LOC")]}},
    ], labels=LABELS)
    page = label_page(new_page, worker, project)
    expect(page.locator("#span-list .item")).to_have_count(1)
    page.keyboard.press("n")
    page.keyboard.press("2")                                           # relabelled ORG
    page.keyboard.press("Delete")                                      # then removed
    expect(page.locator("#span-list .item")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(page.locator("#span-list .item")).to_have_count(1)
    expect(page.locator("#span-list .item strong")).to_have_text("ORG")
    page.keyboard.press("Control+z")
    expect(page.locator("#span-list .item strong")).to_have_text("LOC")
    page.keyboard.press("Control+z")                                   # the spans the task came with: no further
    expect(page.locator("#message")).to_have_text("Nothing to undo on this task.")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"])["u"] == {"spans": [span(SECOND, "Lisbon", "LOC")]}
