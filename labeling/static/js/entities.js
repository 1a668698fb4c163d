/* Named entities: select text with the mouse, press a label key; spans are highlighted and listed.
 * Spans are kept in UTF-16 offsets (the DOM's) and sent as code point offsets (the server's). */
(function () {
  "use strict";
  var L = window.Labeling;
  var ctx, labels, picker, root, list, countEl, noSpans;
  var text = "", offsets = null, spans = [], pending = null, selected = -1;

  function labelIndex(label) { return Math.max(0, labels.indexOf(label)); }

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

  function selectionRange() {
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    var range = sel.getRangeAt(0);
    var start = boundary(range.startContainer, range.startOffset);
    var end = boundary(range.endContainer, range.endOffset);
    if (start === null || end === null) return null;
    if (end < start) { var t = start; start = end; end = t; }
    // Leading and trailing white space is never part of an entity (double-click may include it).
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    start = offsets.snap(start, -1);
    end = offsets.snap(end, 1);
    return end > start ? {start: start, end: end} : null;
  }

  /* ---- drawing the text with its spans ---------------------------------------------------- */

  function render() {
    var cuts = new Set([0, text.length]);
    spans.forEach(function (s) { cuts.add(s.start); cuts.add(s.end); });
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
        cls += " ent c" + (labelIndex(spans[covering[0]].label) % 10);
        if (covering.length > 1) cls += " nested";
        if (covering.indexOf(selected) >= 0) cls += " selected";
      }
      if (pending && pending.start <= a && pending.end >= b) cls += " pending";
      var props = {class: cls, dataset: {start: a}};
      if (covering.length) props.dataset.span = covering[0];
      nodes.push(L.el("span", props, text.slice(a, b)));
      spans.forEach(function (s, i) {
        if (s.end === b) nodes.push(tag(s, i));
      });
    }
    root.replaceChildren.apply(root, nodes);
    renderList();
  }

  function tag(span, i) {
    return L.el("span", {class: "ent-tag c" + (labelIndex(span.label) % 10) + (i === selected ? " selected" : ""),
                         contenteditable: "false", dataset: {at: span.end, span: i}}, [
      L.el("span", {class: "ent-label", text: span.label}),
      L.el("button", {type: "button", class: "ent-remove", tabindex: "-1", "aria-label": "Remove " + span.label + " entity",
                      title: "Remove", text: "×", dataset: {remove: i}}),
    ]);
  }

  function renderList() {
    var items = spans.map(function (s, i) {
      return L.el("li", {class: "item" + (i === selected ? " selected" : ""), dataset: {index: i},
                         onclick: function () { select(i); }}, [
        L.el("span", {class: "swatch c" + (labelIndex(s.label) % 10)}),
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

  /* ---- actions ------------------------------------------------------------------------------ */

  function pickLabel(label) {
    var range = selectionRange() || pending;
    if (range) {
      var same = spans.filter(function (s) { return s.start === range.start && s.end === range.end && s.label === label; })[0];
      if (!same) { same = {start: range.start, end: range.end, label: label}; spans.push(same); }
      pending = null;
      selected = spans.indexOf(same);
      sortSpans();
      window.getSelection().removeAllRanges();
      render();
      ctx.message(label + ": “" + text.slice(range.start, range.end) + "”.", "");
      return;
    }
    if (selected >= 0) {
      spans[selected].label = label;
      sortSpans();
      render();
      return;
    }
    ctx.message("Select some text with the mouse first, then pick its label.", "warn");
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
      pending = range;
      selected = -1;
      render(); // the pending span stays highlighted, the browser's selection is no longer needed
      ctx.message("Selected “" + text.slice(range.start, range.end) + "”: press a label key or click a label.", "");
      return;
    }
    var seg = e.target.closest(".seg");
    if (seg && seg.dataset.span !== undefined) select(Number(seg.dataset.span));
    else if (pending || selected >= 0) select(-1);
  }

  function onKey(e) {
    if (picker.handleKey(e)) return true;
    var key = e.key;
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
      root = document.getElementById("entity-text");
      list = document.getElementById("span-list");
      countEl = document.getElementById("span-count");
      noSpans = document.getElementById("no-spans");
      picker = new L.LabelPicker(document.getElementById("labels"), labels, pickLabel);
      root.addEventListener("pointerup", onPointerUp);
    },
    load: function (task) {
      text = task.data.text;
      offsets = new L.Offsets(text);
      selected = -1;
      pending = null;
      var p = task.predictions;
      spans = p && Array.isArray(p.spans) ? p.spans.map(function (s) {
        return {start: offsets.utf16(s.start), end: offsets.utf16(s.end), label: s.label};
      }).filter(function (s) { return s.end > s.start && labels.indexOf(s.label) >= 0; }) : [];
      sortSpans();
      render();
      return spans.length > 0;
    },
    answer: function () {
      return {answer: {spans: spans.map(function (s) {
        return {start: offsets.codePoint(s.start), end: offsets.codePoint(s.end), label: s.label};
      })}};
    },
    onKey: onKey,
    clear: function () { text = ""; offsets = new L.Offsets(""); spans = []; root.replaceChildren(); renderList(); },
  });
})();
