/* Named entities: select words with the mouse, a finger or the keyboard, press a label key; spans are highlighted and listed.
 *
 * A selection snaps to whole words (the project's `span_unit`: "word", the default, or "character"), without the
 * spaces and punctuation around it ("Madrid." gives "Madrid"). The arrow keys move over the words the way they point
 * (in a right-to-left text, the left arrow goes to the next word), Shift+arrows
 * stretch the selection, a number key labels it. Overlaps follow the project's `span_overlap`: "allow", "nested"
 * (spans inside each other, not crossing) or "none" (a new span replaces those it overlaps). A label tag is
 * placed after the word a span ends in, never inside a word.
 * Spans are kept in UTF-16 offsets (the DOM's) and sent as code point offsets (the server's). */
(function () {
  "use strict";
  var L = window.Labeling;
  var ctx, labels, picker, root, list, countEl, noSpans, unit = "word", overlap = "allow";
  var text = "", shown = "", offsets = null, tokens = [], spans = [], pending = null, selected = -1, cursor = null, touched = null;
  var history;

  /* ---- from a DOM selection to offsets ------------------------------------------------------ */

  function startOf(node) {
    if (node.nodeType === Node.TEXT_NODE) node = node.parentNode;
    if (node === root) return 0;
    if (node.dataset && node.dataset.start !== undefined) return Number(node.dataset.start);
    if (node.dataset && node.dataset.at !== undefined) return Number(node.dataset.at);
    var inner = node.closest && node.closest("[data-at],[data-start]");
    return inner && root.contains(inner) ? startOf(inner) : null;
  }

  function endOf(node) {
    if (node === root) return text.length;
    if (node.nodeType === Node.TEXT_NODE) node = node.parentNode;
    if (node.dataset && node.dataset.start !== undefined) return Number(node.dataset.start) + node.textContent.length;
    if (node.dataset && node.dataset.at !== undefined) return Number(node.dataset.at);
    return startOf(node);
  }

  /** The text offset of a selection boundary (container, offset), or null outside the text. */
  function boundary(container, offset) {
    if (!root.contains(container)) return null;
    if (container.nodeType === Node.TEXT_NODE) {
      var seg = container.parentNode.closest(".seg");
      if (seg && root.contains(seg)) return Number(seg.dataset.start) + offset;
      return startOf(container); // inside a label tag: its place in the text
    }
    var child = container.childNodes[offset];
    if (child) return startOf(child);
    return endOf(container);
  }

  /** A range as the project wants it: whole words without the punctuation around them, or characters without
   * the white space around them; null when nothing is left. */
  function snap(start, end) {
    if (unit === "word") {
      var inside = tokens.filter(function (t) { return t.start < end && t.end > start; });
      while (inside.length && inside[0].punct) inside.shift();
      while (inside.length && inside[inside.length - 1].punct) inside.pop();
      return inside.length ? {start: inside[0].start, end: inside[inside.length - 1].end} : null;
    }
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    start = offsets.snap(start, -1);
    end = offsets.snap(end, 1);
    return end > start ? {start: start, end: end} : null;
  }

  function selectionRange() {
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    var range = sel.getRangeAt(0);
    var start = boundary(range.startContainer, range.startOffset);
    var end = boundary(range.endContainer, range.endOffset);
    if (start === null || end === null) return null;
    if (end < start) { var t = start; start = end; end = t; }
    return snap(start, end);
  }

  /** Where a span's tag goes: at its end, or after the rest of the word its end falls in. */
  function tagPlace(span) {
    var token = tokens.filter(function (t) { return t.start < span.end && t.end > span.end; })[0];
    return token ? token.end : span.end;
  }

  /* ---- drawing the text with its spans ---------------------------------------------------- */

  function render() {
    var cuts = new Set([0, text.length]);
    var places = spans.map(tagPlace);
    spans.forEach(function (s, i) { cuts.add(s.start); cuts.add(s.end); cuts.add(places[i]); });
    if (pending) { cuts.add(pending.start); cuts.add(pending.end); }
    var points = Array.from(cuts).sort(function (a, b) { return a - b; });
    var nodes = [];
    for (var k = 0; k < points.length - 1; k++) {
      var a = points[k], b = points[k + 1];
      var covering = [];
      spans.forEach(function (s, i) { if (s.start <= a && s.end >= b) covering.push(i); });
      // The shortest covering span gives the colour; nested spans stay visible by their outline.
      covering.sort(function (x, y) { return (spans[x].end - spans[x].start) - (spans[y].end - spans[y].start); });
      var cls = "seg";
      if (covering.length) {
        cls += " ent";
        if (covering.length > 1) cls += " nested";
        if (covering.indexOf(selected) >= 0) cls += " selected";
      }
      if (pending && pending.start <= a && pending.end >= b) cls += " pending";
      var props = {class: cls, dataset: {start: a}};
      if (covering.length) props.dataset.span = covering[0];
      var seg = L.el("span", props, shown.slice(a, b));
      nodes.push(covering.length ? L.paint(seg, spans[covering[0]].label) : seg);
      spans.forEach(function (s, i) { if (places[i] === b) nodes.push(tag(s, i, b)); });
    }
    root.replaceChildren.apply(root, nodes);
    renderList();
    history.commit(); // a change of the spans is a step Ctrl+Z undoes
  }

  function tag(span, i, at) {
    return L.paint(L.el("span", {class: "ent-tag" + (i === selected ? " selected" : ""),
                                 contenteditable: "false", dataset: {at: at, span: i}}, [
      L.el("span", {class: "ent-label", text: span.label, title: span.label}),
      L.el("button", {type: "button", class: "ent-remove", tabindex: "-1", "aria-label": "Remove " + span.label + " entity",
                      title: "Remove", text: "×", dataset: {remove: i}}),
    ]), span.label);
  }

  function renderList() {
    var items = spans.map(function (s, i) {
      return L.el("li", {class: "item" + (i === selected ? " selected" : ""), dataset: {index: i},
                         onclick: function () { select(i); }}, [
        L.paint(L.el("span", {class: "swatch"}), s.label),
        L.el("span", {class: "item-body"}, [
          L.el("span", {class: "item-text"}, [L.el("strong", {text: s.label}), " ", L.el("q", {text: text.slice(s.start, s.end)})]),
          L.el("span", {class: "item-meta", text: "characters " + offsets.codePoint(s.start) + "–" + offsets.codePoint(s.end)}),
        ]),
        L.el("button", {type: "button", class: "btn btn-small btn-quiet remove", "aria-label": "Remove entity " + (i + 1),
                        title: "Remove (Delete key)", text: "×",
                        onclick: function (e) { e.stopPropagation(); remove(i); }}),
      ]);
    });
    list.replaceChildren.apply(list, items);
    countEl.textContent = String(spans.length);
    noSpans.hidden = spans.length > 0;
    picker.setSelected(spans[selected] ? spans[selected].label : null);
  }

  function select(i) {
    selected = i >= 0 && i < spans.length ? i : -1;
    pending = null;
    touched = null;
    cursor = null;
    render();
  }

  function remove(i) {
    if (i < 0 || i >= spans.length) return;
    var gone = spans.splice(i, 1)[0];
    selected = -1;
    render();
    ctx.message("Removed " + gone.label + " “" + text.slice(gone.start, gone.end) + "”.", "");
  }

  function sortSpans() {
    var keep = spans[selected];
    spans.sort(function (x, y) { return x.start - y.start || x.end - y.end || x.label.localeCompare(y.label); });
    selected = keep ? spans.indexOf(keep) : -1;
  }

  /** Spans that a new span over `range` may not live with, by the project's overlap rule. */
  function clashes(range) {
    return spans.filter(function (s) {
      if (s.start >= range.end || s.end <= range.start) return false;
      if (overlap === "none") return true;
      if (overlap === "nested") {
        var inside = s.start >= range.start && s.end <= range.end, around = s.start <= range.start && s.end >= range.end;
        return !inside && !around;
      }
      return false;
    });
  }

  /* ---- actions ------------------------------------------------------------------------------ */

  /* A touch screen selects text without a pointerup in it (a long press, then the selection's handles), and a tap on a
   * label may clear the browser's selection before the label's click: so the last selection made in the text is kept
   * (`touched`, not drawn: drawing would take the handles away) until a press lands anywhere but on a label. */
  function onSelectionChange() {
    var range = selectionRange();
    if (!range) return;
    touched = range;
    if (selected >= 0) { // new words are chosen: a label goes to them, not to the span chosen before (undrawn here)
      selected = -1;
      document.querySelectorAll(".entities .selected").forEach(function (node) { node.classList.remove("selected"); });
      picker.setSelected(null);
    }
    ctx.message("Selected “" + text.slice(range.start, range.end) + "”: press a label key or tap a label.", "");
  }

  function onPointerDown(e) {
    if (!e.target.closest("#labels")) touched = null;
  }

  function pickLabel(label) {
    var range = selectionRange() || pending || touched;
    touched = null;
    if (range) {
      var replaced = clashes(range);
      spans = spans.filter(function (s) { return replaced.indexOf(s) < 0; });
      var same = spans.filter(function (s) { return s.start === range.start && s.end === range.end && s.label === label; })[0];
      if (!same) { same = {start: range.start, end: range.end, label: label}; spans.push(same); }
      pending = null;
      selected = spans.indexOf(same);
      sortSpans();
      window.getSelection().removeAllRanges();
      render();
      ctx.message(label + ": “" + text.slice(range.start, range.end) + "”" + (replaced.length ? ", in place of " +
        replaced.map(function (s) { return "“" + text.slice(s.start, s.end) + "”"; }).join(", ") : "") + ".", "");
      return;
    }
    if (selected >= 0) {
      spans[selected].label = label;
      sortSpans();
      render();
      return;
    }
    ctx.message("Select some words first (the mouse, a finger, or the arrow keys), then pick their label.", "warn");
  }

  function showPending(range) {
    pending = range;
    selected = -1;
    render(); // the pending span stays highlighted, the browser's selection is no longer needed
    var seg = root.querySelector(".seg.pending");
    if (seg) seg.scrollIntoView({block: "nearest"});
    ctx.message("Selected “" + text.slice(range.start, range.end) + "”: press a label key or click a label.", "");
  }

  function onPointerUp(e) {
    if (e.target.closest(".ent-tag")) {
      var remover = e.target.closest("[data-remove]");
      if (remover) remove(Number(remover.dataset.remove));
      else select(Number(e.target.closest(".ent-tag").dataset.span));
      return;
    }
    var range = selectionRange();
    if (range) {
      cursor = tokenCursor(range);
      showPending(range);
      return;
    }
    var seg = e.target.closest(".seg");
    if (seg && seg.dataset.span !== undefined) select(Number(seg.dataset.span));
    else if (pending || selected >= 0) select(-1);
  }

  /* ---- the keyboard: a selection of whole words ------------------------------------------- */

  function words() { return unit === "word" ? tokens.filter(function (t) { return !t.punct; }) : tokens; }

  /** The words a range covers, as {anchor, focus} indexes into words(). */
  function tokenCursor(range) {
    var all = words(), first = -1, last = -1;
    all.forEach(function (t, i) { if (t.start < range.end && t.end > range.start) { if (first < 0) first = i; last = i; } });
    return first < 0 ? null : {anchor: first, focus: last};
  }

  /** Arrows move the selection to the next or previous word; with Shift they stretch it. */
  function moveCursor(direction, extend) {
    var all = words();
    if (!all.length) return;
    if (!cursor) {
      var from = selected >= 0 ? spans[selected] : null;
      var at = from ? tokenCursor(from) : null;
      var start = at ? (direction > 0 ? at.focus + 1 : at.anchor - 1) : (direction > 0 ? 0 : all.length - 1);
      start = Math.max(0, Math.min(all.length - 1, start));
      cursor = {anchor: start, focus: start};
    } else {
      var next = Math.max(0, Math.min(all.length - 1, cursor.focus + direction));
      cursor = extend ? {anchor: cursor.anchor, focus: next} : {anchor: next, focus: next};
    }
    var lo = all[Math.min(cursor.anchor, cursor.focus)], hi = all[Math.max(cursor.anchor, cursor.focus)];
    window.getSelection().removeAllRanges();
    showPending({start: lo.start, end: hi.end});
  }

  function onKey(e) {
    if (picker.handleKey(e)) {
      if (cursor) cursor = {anchor: cursor.focus, focus: cursor.focus}; // the next arrow goes on from here
      return true;
    }
    var key = e.key;
    if (key === "ArrowRight" || key === "ArrowLeft") {
      // The arrows move the way they point: in a right-to-left text the next word is to the left.
      var forward = (key === "ArrowRight") !== (getComputedStyle(root).direction === "rtl");
      moveCursor(forward ? 1 : -1, e.shiftKey);
      return true;
    }
    if (key === "Escape") { window.getSelection().removeAllRanges(); select(-1); return true; }
    if (!spans.length) return false;
    if (key === "n" || key === "N") { select((selected + 1) % spans.length); return true; }
    if (key === "p" || key === "P") { select(selected <= 0 ? spans.length - 1 : selected - 1); return true; }
    if ((key === "Delete" || key === "Backspace") && selected >= 0) { remove(selected); return true; }
    return false;
  }

  L.register({
    init: function (context) {
      ctx = context;
      labels = context.config.labels;
      unit = (context.config.options || {}).span_unit === "character" ? "character" : "word";
      overlap = (context.config.options || {}).span_overlap || "allow";
      root = document.getElementById("entity-text");
      list = document.getElementById("span-list");
      countEl = document.getElementById("span-count");
      noSpans = document.getElementById("no-spans");
      picker = new L.LabelPicker(document.getElementById("labels"), labels, pickLabel);
      history = new L.History(function () { return spans; }, function (state) {
        spans = state;
        selected = -1;
        pending = null;
        touched = null;
        cursor = null;
        render();
      });
      root.addEventListener("pointerup", onPointerUp);
      document.addEventListener("selectionchange", onSelectionChange);
      document.addEventListener("pointerdown", onPointerDown, true);
    },
    load: function (task) {
      text = task.data.text;
      shown = L.shown(text);
      offsets = new L.Offsets(text);
      tokens = L.tokens(text);
      selected = -1;
      pending = null;
      touched = null;
      cursor = null;
      var p = task.predictions;
      spans = p && Array.isArray(p.spans) ? p.spans.map(function (s) {
        return {start: offsets.utf16(s.start), end: offsets.utf16(s.end), label: s.label};
      }).filter(function (s) { return s.end > s.start && labels.indexOf(s.label) >= 0; }) : [];
      sortSpans();
      history.reset();
      render();
      return spans.length > 0;
    },
    answer: function () {
      return {answer: {spans: spans.map(function (s) {
        return {start: offsets.codePoint(s.start), end: offsets.codePoint(s.end), label: s.label};
      })}};
    },
    onKey: onKey,
    undo: function (redo) { return history.step(redo); },
    clear: function () {
      text = ""; shown = ""; offsets = new L.Offsets(""); tokens = []; spans = []; root.replaceChildren(); renderList(); history.reset();
    },
  });
})();
