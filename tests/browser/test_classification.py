"""Image and text classification, single and multi-label: keys and mouse, pre-annotations, escaping."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import (DESKTOP, LONG_TEXT, PHONE, assert_fits_the_width, assert_in_view, label_page, png,
                                   scroll_to_the_end)

SHAPES = ["circle", "square", "triangle"]


def test_image_classification_by_keys_and_by_mouse(new_page, server, worker):
    requester = server.user("requester", password=None)
    red = server.upload_image(requester["token"], png(320, 240, [("ellipse", (60, 40, 200, 180), "#d62728")]))
    blue = server.upload_image(requester["token"], png(320, 240, [("rect", (80, 60, 220, 200), "#1f77b4")]))
    project = server.project("image_classification", [
        {"data": {"image": red}, "external_id": "red"},
        {"data": {"image": blue}, "external_id": "blue", "predictions": {"label": "triangle"}},
    ], labels=SHAPES)
    page = label_page(new_page, worker, project)

    image = page.locator("#subject-image")
    # Served through the short-lived signed URL that came with the task (no lookup per image).
    expect(image).to_have_attribute("src", re.compile(r"^/signed-media/\d+/[\w-]+/" + re.escape(red) + "$"))
    page.wait_for_function("() => document.getElementById('subject-image').naturalWidth === 320")
    assert image.bounding_box()["width"] > 320  # shown large: scaled up to the frame
    expect(page.locator("#prefill-note")).to_be_hidden()
    page.keyboard.press("Enter")  # nothing picked yet: refused in words, nothing stored
    expect(page.locator("#message")).to_have_text("Pick a label first: click it or press its number key.")
    page.keyboard.press("1")
    expect(page.locator('#labels .label-btn[aria-pressed="true"]')).to_have_text("1circle")
    page.keyboard.press("Enter")

    # The next task follows at once, its pre-annotation shown as the starting point.
    expect(image).to_have_attribute("src", re.compile(r"^/signed-media/\d+/[\w-]+/" + re.escape(blue) + "$"))
    expect(page.locator("#prefill-note")).to_be_visible()
    expect(page.locator('#labels .label-btn[aria-pressed="true"]')).to_have_text("3triangle")
    page.get_by_role("button", name="square").click()
    page.locator("#submit-btn").click()

    expect(page.locator("#state-empty")).to_be_visible()
    expect(page.locator("#state-empty")).to_contain_text("No more tasks for you here")
    expect(page.locator("#done-count")).to_have_text("2")
    assert server.answers(project["id"]) == {"red": {"label": "circle"}, "blue": {"label": "square"}}


def test_image_multilabel_toggles_with_number_keys(new_page, server, worker):
    requester = server.user("requester", password=None)
    image = server.upload_image(requester["token"], png(200, 150, [("rect", (10, 10, 90, 90), "#2ca02c")]))
    colours = ["red", "green", "blue", "yellow"]
    project = server.project("image_multilabel", [
        {"data": {"image": image}, "external_id": "one", "predictions": {"labels": ["red", "blue"]}},
        {"data": {"image": image}, "external_id": "none"},
    ], labels=colours)
    page = label_page(new_page, worker, project)
    pressed = page.locator('#labels .label-btn[aria-pressed="true"] .name')
    expect(pressed).to_have_text(["red", "blue"])
    page.keyboard.press("1")  # red off
    page.keyboard.press("2")  # green on
    page.keyboard.press("4")  # yellow on
    page.keyboard.press("3")  # blue off...
    page.keyboard.press("Control+z")  # ...undone
    expect(pressed).to_have_text(["green", "blue", "yellow"])
    page.keyboard.press("Enter")
    expect(page.locator("#prefill-note")).to_be_hidden()
    expect(pressed).to_have_count(0)
    page.keyboard.press("Enter")  # no label applies: an empty answer is valid
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {"one": {"labels": ["green", "blue", "yellow"]}, "none": {"labels": []}}


def test_text_classification_shows_a_script_as_text(new_page, server, worker):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>'
    project = server.project("text_classification", [
        {"data": {"text": hostile}, "external_id": "hostile"},
    ], labels=["safe", "<i>unsafe</i>"], instructions="Careful: <script>alert('instructions')</script> **stay calm**")
    dialogs: list[str] = []
    page = label_page(new_page, worker, project)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    text = page.locator("#subject-text")
    expect(text).to_have_text(hostile)
    assert text.locator("script, img, b").count() == 0
    expect(page.locator("#labels .name").nth(1)).to_have_text("<i>unsafe</i>")
    instructions = page.locator("#instructions .md")
    expect(instructions).to_contain_text("<script>alert('instructions')</script>")
    assert instructions.locator("script").count() == 0
    expect(instructions.locator("strong")).to_have_text("stay calm")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert dialogs == []
    assert server.answers(project["id"]) == {"hostile": {"label": "<i>unsafe</i>"}}


def test_text_multilabel_by_mouse_and_skip_by_key(new_page, server, worker):
    topics = ["billing", "shipping", "returns"]
    project = server.project("text_multilabel", [
        {"data": {"text": "I was charged twice and the parcel never came."}, "external_id": "t1", "priority": 2},
        {"data": {"text": "Nothing to see here."}, "external_id": "t2", "priority": 1},
        {"data": {"text": "Can I send it back?"}, "external_id": "t3"},
    ], labels=topics)
    page = label_page(new_page, worker, project)
    expect(page.locator("#subject-text")).to_have_text("I was charged twice and the parcel never came.")
    page.get_by_role("button", name="billing").click()
    page.get_by_role("button", name="shipping").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#subject-text")).to_have_text("Nothing to see here.")
    page.keyboard.press("s")  # asks for a reason: 3, broken media
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#subject-text")).to_have_text("Can I send it back?")
    page.keyboard.press("3")
    # A double Enter stores the answer once: the second press finds the page busy or the next state.
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {"t1": {"labels": ["billing", "shipping"]}, "t3": {"labels": ["returns"]}}
    assert server.assignment_statuses(project["id"]) == {"t1": 1, "t2": 2, "t3": 1}
    assert server.query("SELECT skip_reason FROM assignments WHERE project_id = :p AND status = 2",
                        p=project["id"]) == [{"skip_reason": "broken_media"}]
    page.locator("#check-again").click()
    expect(page.locator("#state-empty")).to_be_visible()


def test_many_labels_shift_digits_and_the_label_finder(new_page, server, worker):
    animals = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis", "jay", "kiwi", "lynx", "zebra"]
    project = server.project("text_classification", [
        {"data": {"text": "first"}, "external_id": "shift", "priority": 1},
        {"data": {"text": "second"}, "external_id": "find"},
    ], labels=animals)
    page = label_page(new_page, worker, project)
    expect(page.locator("#labels .label-btn kbd").nth(10)).to_have_text("⇧1")
    page.keyboard.press("0")        # label 10
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("jay")
    page.keyboard.press("Shift+2")  # label 12
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("lynx")
    page.keyboard.press("Enter")
    expect(page.locator("#subject-text")).to_have_text("second")
    page.keyboard.press("/")
    expect(page.locator(".label-filter")).to_be_focused()
    page.keyboard.type("zeb")
    expect(page.locator("#labels .label-btn:visible")).to_have_count(1)
    page.keyboard.press("Enter")    # picks the only match; the next Enter submits
    expect(page.locator(".label-filter")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {"shift": {"label": "lynx"}, "find": {"label": "zebra"}}


@pytest.mark.parametrize("task_type", ["text_classification", "named_entities", "bounding_box"])
def test_the_help_of_every_labels_page_tells_the_label_finder(new_page, server, worker, task_type):
    """Past the 20 labels the digits reach, "/" is the keyboard's only way to a label; the help of the entity and box
    pages did not say so (only the classification page's did), though the finder works there too."""
    labels = [f"label {i:03d}" for i in range(30)]
    data = {"image": server.upload_image(server.admin_token, png(200, 100))} if task_type == "bounding_box" else {
        "text": "Ada Lovelace wrote notes"}
    project = server.project(task_type, [{"data": data, "external_id": "t0"}], labels=labels)
    page = label_page(new_page, worker, project)
    page.keyboard.press("?")
    help_row = page.locator("#help tr", has=page.locator("th kbd", has_text=re.compile(r"^/$")))
    expect(help_row).to_contain_text("Find a label by name")
    page.keyboard.press("Escape")
    if task_type == "named_entities":
        page.keyboard.press("ArrowRight")  # the first word
    page.keyboard.press("/")
    expect(page.locator(".label-filter")).to_be_focused()
    page.keyboard.type("label 025")
    page.keyboard.press("Enter")
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("label 025")


def _zoom(page) -> int:
    return int(page.locator("#zoom-level").text_content().rstrip("%"))


def _scroll(page) -> list[float]:
    return page.locator("#image-frame").evaluate("v => [v.scrollLeft, v.scrollTop]")


def test_a_large_image_zooms_and_pans_by_wheel_buttons_keys_and_drag(new_page, server, worker):
    requester = server.user("requester", password=None)
    big = server.upload_image(requester["token"], png(2400, 1600, [("ellipse", (100, 100, 700, 700), "#d62728")]))
    tens = [f"label{i}" for i in range(1, 11)]  # ten labels: 0 is the tenth label's key, not a zoom key
    project = server.project("image_classification", [{"data": {"image": big}, "external_id": "big"}], labels=tens)
    page = label_page(new_page, worker, project)
    page.wait_for_function("() => document.getElementById('subject-image').naturalWidth === 2400")
    frame, stage = page.locator("#image-frame"), page.locator("#image-stage")
    fitted = _zoom(page)
    assert fitted < 100 and stage.bounding_box()["width"] <= frame.bounding_box()["width"]  # the whole image in view

    page.keyboard.press("+")
    page.keyboard.press("+")
    assert _zoom(page) > fitted
    assert stage.bounding_box()["width"] > frame.bounding_box()["width"]
    page.keyboard.press("2")  # the labels' keys still pick labels while zoomed
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("label2")
    page.keyboard.press("0")  # the tenth label, not a zoom reset
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("label10")
    zoomed = _zoom(page)
    assert zoomed > fitted

    view = frame.bounding_box()
    middle = (view["x"] + view["width"] / 2, view["y"] + view["height"] / 2)
    start = _scroll(page)
    page.mouse.move(*middle)
    page.mouse.down()
    page.mouse.move(middle[0] - 120, middle[1] - 80, steps=5)  # a drag moves the image
    page.mouse.up()
    dragged = _scroll(page)
    assert dragged[0] > start[0] + 60 and dragged[1] > start[1] + 40, (start, dragged)
    page.keyboard.press("ArrowLeft")  # so do the arrows
    assert _scroll(page)[0] < dragged[0]

    page.mouse.move(*middle)
    page.mouse.wheel(0, -100)  # the wheel zooms in around the pointer
    expect(page.locator("#zoom-level")).not_to_have_text(f"{zoomed}%")
    assert _zoom(page) > zoomed
    page.get_by_role("button", name="Zoom out").click()
    page.keyboard.press("-")
    assert _zoom(page) < zoomed
    page.keyboard.press("f")  # back to the whole image
    assert _zoom(page) == fitted
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {"big": {"label": "label10"}}


def test_on_a_phone_the_image_zooms_with_the_buttons_and_0_fits_it_again(new_page, server, worker):
    requester = server.user("requester", password=None)
    big = server.upload_image(requester["token"], png(2400, 1600, [("rect", (1800, 1200, 2300, 1500), "#1f77b4")]))
    project = server.project("image_classification", [{"data": {"image": big}, "external_id": "big"}], labels=SHAPES)
    page = label_page(new_page, worker, project, viewport=PHONE)
    page.wait_for_function("() => document.getElementById('subject-image').naturalWidth === 2400")
    fitted = _zoom(page)
    for _ in range(3):
        page.locator("#zoom-in").click()
    assert _zoom(page) > fitted
    frame = page.locator("#image-frame")
    assert frame.evaluate("v => v.scrollWidth > v.clientWidth")  # the image scrolls in its frame...
    assert_fits_the_width(page)                                   # ...not the page sideways
    frame.evaluate("v => { v.scrollLeft = v.scrollWidth; v.scrollTop = v.scrollHeight; }")  # a finger's pan
    assert_in_view(page.get_by_role("button", name="square"))
    page.keyboard.press("0")  # three labels: 0 is free, and fits the image
    assert _zoom(page) == fitted
    page.get_by_role("button", name="square").click()
    page.locator("#submit-btn").click()
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {"big": {"label": "square"}}


def test_a_very_long_text_scrolls_and_the_labels_stay_in_view(new_page, server, worker):
    project = server.project("text_classification", [{"data": {"text": LONG_TEXT}, "external_id": f"long{i}"}
                                                     for i in range(3)], labels=["pos", "neg"], instructions="")
    for viewport, label in ((DESKTOP, "pos"), (PHONE, "neg")):
        page = label_page(new_page, worker, project, viewport=viewport)
        expect(page.locator("#subject-text")).to_contain_text("THE END")
        scroll_to_the_end(page, "subject-text")
        button = page.get_by_role("button", name=label)
        assert_in_view(button)  # the worker read to the end and picks a label there, without scrolling back
        button.click()
        page.keyboard.press("Enter")
        expect(page.locator("body")).to_have_attribute("data-state", "working")
        expect(page.locator("#message")).to_have_text("Saved. Next task.")
        page.context.close()

    # A short window (a laptop at 200%): the labels do not cover the text, and the header keeps to one line.
    page = label_page(new_page, worker, project, viewport={"width": 640, "height": 400})
    text = page.locator("#subject-text")
    top = text.bounding_box()
    assert text.evaluate("(el, y) => el.contains(document.elementFromPoint(60, y))", top["y"] + 30)
    assert page.locator(".topbar").bounding_box()["height"] < 60  # one line (three were 137 px)
    page.get_by_role("button", name="neg").click()
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert sorted(a["label"] for a in server.answers(project["id"]).values()) == ["neg", "neg", "pos"]


def test_on_a_phone_many_labels_under_a_short_text_take_the_screen_left_to_them(new_page, server, worker):
    """The labels' box was held to 26vh on a phone: thirty labels under a one-line text scrolled four at a time in
    a box some 220 px high, above half a screen of nothing. It now takes the height down to the action bar."""
    labels = [f"topic-{i}" for i in range(30)]
    project = server.project("text_multilabel", [{"data": {"text": "Short."}, "external_id": "short"}],
                             labels=labels, instructions="")
    page = label_page(new_page, worker, project, viewport=PHONE)
    expect(page.locator("#subject-text")).to_have_text("Short.")
    side = page.locator(".classify .side").bounding_box()
    bar = page.locator(".actionbar").bounding_box()
    assert bar["y"] - (side["y"] + side["height"]) < 40  # the box reaches down to the action bar
    assert side["height"] > 0.5 * PHONE["height"]
    tenth = page.locator('#labels .label-btn[data-index="9"]')
    expect(tenth).to_contain_text("topic-9")
    assert_in_view(tenth)  # ten labels in view without scrolling, where four were
    assert_fits_the_width(page)
    tenth.click()
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {"short": {"labels": ["topic-9"]}}


@pytest.mark.parametrize("task_type", ["image_multilabel", "bounding_box"])
def test_an_image_not_loaded_yet_is_not_answered_and_the_frame_says_it_is_loading(new_page, server, worker, task_type):
    """On a slow network the frame was an empty dark box and Enter saved an answer (a multi-label's or boxes' empty
    one) for an image the worker had never seen; a broken image could be answered too."""
    requester = server.user("requester", password=None)
    slow = server.upload_image(requester["token"], png(120, 90, [("rect", (10, 10, 60, 60), "#2ca02c")]))
    broken = server.upload_image(requester["token"], png(100, 80))
    project = server.project(task_type, [{"data": {"image": slow}, "external_id": "slow", "priority": 2},
                                         {"data": {"image": broken}, "external_id": "broken", "priority": 1}],
                             labels=["red", "green"])
    held: list = []  # the slow image's response waits here until the test lets it go
    routes = {f"**/signed-media/**/{slow}": lambda route: held.append(route),
              f"**/signed-media/**/{broken}": lambda route: route.fulfill(status=200, body=b"not an image",
                                                                           content_type="image/png")}
    page = label_page(new_page, worker, project, routes=routes)
    frame = page.locator(".zoom-viewport")
    expect(frame).to_have_attribute("data-image", "loading")
    assert "Loading the image" in frame.evaluate("el => getComputedStyle(el, '::after').content")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_text("The image has not loaded yet: wait for it, or skip the task (S).")
    assert server.answers(project["id"]) == {}

    held[0].continue_()
    expect(frame).to_have_attribute("data-image", "shown")
    page.keyboard.press("Enter")  # saved; the next task's image is broken: the frame and the message say so
    expect(frame).to_have_attribute("data-image", "failed")
    assert "could not be loaded" in frame.evaluate("el => getComputedStyle(el, '::after').content")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_text(
        "The image could not be loaded, so it cannot be labeled: skip the task (S), reason Broken media.")
    empty = {"labels": []} if task_type == "image_multilabel" else {"boxes": []}
    assert server.answers(project["id"]) == {"slow": empty}


@pytest.mark.parametrize("task_type", ["image_classification", "bounding_box"])
def test_a_task_whose_image_is_gone_is_reported_and_skipped_and_the_next_one_comes(new_page, server, worker, task_type):
    """A report on a task whose image could not be loaded (a 404) said 'You may still answer or skip the task', and
    an answer is refused there: the worker was told to do what the page would not take."""
    requester = server.user("requester", password=None)
    gone = server.upload_image(requester["token"], png(100, 80))
    fine = server.upload_image(requester["token"], png(120, 90, [("rect", (10, 10, 60, 60), "#2ca02c")]))
    project = server.project(task_type, [{"data": {"image": gone}, "external_id": "gone", "priority": 2},
                                         {"data": {"image": fine}, "external_id": "fine", "priority": 1}],
                             labels=["red", "green"])
    routes = {f"**/signed-media/**/{gone}": lambda route: route.fulfill(status=404, body=b"not found")}
    page = label_page(new_page, worker, project, routes=routes)
    frame, message = page.locator(".zoom-viewport"), page.locator("#message")
    expect(frame).to_have_attribute("data-image", "failed")
    page.locator("#report-btn").click()
    page.locator("#report-text").fill("The image does not load.")
    page.locator("#report-send").click()
    expect(message).to_have_text("Thank you: the requester will see your report. The image could not be loaded: skip "
                                 "the task (S) to go on.")
    page.keyboard.press("s")
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("3")  # broken media
    page.keyboard.press("Enter")
    expect(frame).to_have_attribute("data-image", "shown")  # the next task, its image shown
    assert server.assignment_statuses(project["id"]) == {"gone": 2, "fine": 0}
    assert server.query("SELECT text FROM task_reports WHERE project_id = :p", p=project["id"]) == [
        {"text": "The image does not load."}]
