/* Bounding boxes: draw with the mouse or the keyboard, move, resize, label with number keys, delete, zoom, pan.
 * Boxes are kept in image pixels; the screen only multiplies them by the zoom factor.
 *
 * A drawn box is not left selected: a number key then picks the label of the next box, as the side panel says.
 * To change a box, click it (or N/P) first; its label, its place (arrows) and its size (R, then arrows) follow. */
(function () {
  "use strict";
  var L = window.Labeling;
  var HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
  var MIN_DRAW_PX = 4; // a smaller drag on screen is a click, not a box
  var ctx, labels, picker, view, viewport, stage, image, layer, list, countEl, noBoxes, targetEl, modeEl, crossX, crossY;
  var boxes = [], selected = -1, currentLabel = null, resizing = false;
  var natural = {w: 0, h: 0}, loaded = false, drag = null, history;

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  /** Image pixel under a pointer event (clamped to the image). */
  function toImage(e) {
    var rect = stage.getBoundingClientRect();
    return {x: clamp((e.clientX - rect.left) / view.scale, 0, natural.w), y: clamp((e.clientY - rect.top) / view.scale, 0, natural.h)};
  }

  function rounded(box) {
    var left = clamp(Math.round(box.x), 0, Math.max(0, natural.w - 1));
    var top = clamp(Math.round(box.y), 0, Math.max(0, natural.h - 1));
    var right = clamp(Math.round(box.x + box.w), left + 1, Math.max(left + 1, natural.w));
    var bottom = clamp(Math.round(box.y + box.h), top + 1, Math.max(top + 1, natural.h));
    return {label: box.label, x: left, y: top, w: right - left, h: bottom - top};
  }

  /* ---- drawing the boxes on screen ---------------------------------------------------------- */

  function place(node, box) {
    node.style.left = box.x * view.scale + "px";
    node.style.top = box.y * view.scale + "px";
    node.style.width = Math.max(1, box.w * view.scale) + "px";
    node.style.height = Math.max(1, box.h * view.scale) + "px";
  }

  function boxNode(box, i) {
    var node = L.paint(L.el("div", {class: "bbox" + (i === selected ? " selected" : "") + (i === selected && resizing ? " resizing" : ""),
                                    dataset: {index: i}}, [
      L.el("span", {class: "bbox-tag", text: (i + 1) + " " + box.label}),
    ]), box.label);
    if (i === selected) {
      HANDLES.forEach(function (h) { node.append(L.el("span", {class: "handle h-" + h, dataset: {handle: h}})); });
    }
    place(node, box);
    return node;
  }

  function renderBoxes() {
    layer.replaceChildren.apply(layer, boxes.map(boxNode));
  }

  function renderList() {
    var items = boxes.map(function (box, i) {
      var r = rounded(box);
      return L.el("li", {class: "item" + (i === selected ? " selected" : ""), dataset: {index: i},
                         onclick: function () { select(i); }}, [
        L.paint(L.el("span", {class: "swatch"}), box.label),
        L.el("span", {class: "item-body"}, [
          L.el("span", {class: "item-text", text: (i + 1) + ". " + box.label}),
          L.el("span", {class: "item-meta", text: r.w + "×" + r.h + " px at (" + r.x + ", " + r.y + ")"}),
        ]),
        L.el("button", {type: "button", class: "btn btn-small btn-quiet remove", "aria-label": "Delete box " + (i + 1),
                        title: "Delete (Delete key)", text: "×",
                        onclick: function (e) { e.stopPropagation(); remove(i); }}),
      ]);
    });
    list.replaceChildren.apply(list, items);
    countEl.textContent = String(boxes.length);
    noBoxes.hidden = boxes.length > 0;
    var box = boxes[selected];
    picker.setSelected(box ? box.label : currentLabel);
    targetEl.textContent = box ? "of box " + (selected + 1) : "for new boxes";
    modeEl.textContent = box ? (resizing ? "Resizing box " + (selected + 1) + ": arrows move its corner" :
                                "Box " + (selected + 1) + " selected") : "New boxes: " + currentLabel;
  }

  /** Redraw; a change of the boxes is a step Ctrl+Z undoes (`tag`: the arrow presses on one box are one step). */
  function render(tag) { renderBoxes(); renderList(); history.commit(tag); }

  function undo(redo) {
    cancelDrag();
    return history.step(redo);
  }

  function select(i) {
    selected = i >= 0 && i < boxes.length ? i : -1;
    resizing = false;
    render();
  }

  function remove(i) {
    if (i < 0 || i >= boxes.length) return;
    boxes.splice(i, 1);
    selected = -1; // a neighbour left selected would take the next number key meant for new boxes
    resizing = false;
    render();
    ctx.message("Box deleted (Ctrl+Z brings it back).", "");
  }

  /* ---- the crosshair: where a box would start or end ---------------------------------------- */

  function crosshair(e) {
    var show = loaded && e && (!drag || drag.mode === "draw") && !view.spaceHeld && !view.pan && !e.target.closest(".bbox");
    crossX.hidden = crossY.hidden = !show;
    if (!show) return;
    var p = toImage(e);
    crossX.style.top = p.y * view.scale + "px";
    crossY.style.left = p.x * view.scale + "px";
  }

  /* ---- mouse: draw, move, resize (the view pans: the middle button, Space+drag) ------------------ */

  function onPointerDown(e) {
    if (!loaded || drag || e.button !== 0) return;
    var p = toImage(e);
    var handle = e.target.closest(".handle");
    var node = e.target.closest(".bbox");
    if (handle && selected >= 0) {
      drag = {mode: "resize", edges: handle.dataset.handle, index: selected, start: p, orig: Object.assign({}, boxes[selected])};
    } else if (node) {
      var i = Number(node.dataset.index);
      if (i !== selected) select(i);
      drag = {mode: "move", index: i, start: p, orig: Object.assign({}, boxes[i])};
    } else {
      drag = {mode: "draw", index: -1, start: p, screen: {x: e.clientX, y: e.clientY}};
    }
    drag.pointerId = e.pointerId;
    layer.setPointerCapture(e.pointerId);
    e.preventDefault();
    e.stopPropagation();
  }

  function onPointerMove(e) {
    crosshair(e);
    if (!drag || e.pointerId !== drag.pointerId) return;
    var p = toImage(e), box;
    if (drag.mode === "draw") {
      if (drag.index < 0) {
        if (Math.abs(e.clientX - drag.screen.x) < MIN_DRAW_PX && Math.abs(e.clientY - drag.screen.y) < MIN_DRAW_PX) return;
        boxes.push({label: currentLabel, x: drag.start.x, y: drag.start.y, w: 0, h: 0});
        drag.index = boxes.length - 1;
        selected = drag.index;
        renderBoxes();
      }
      box = boxes[drag.index];
      box.x = Math.min(drag.start.x, p.x); box.y = Math.min(drag.start.y, p.y);
      box.w = Math.abs(p.x - drag.start.x); box.h = Math.abs(p.y - drag.start.y);
    } else if (drag.mode === "move") {
      box = boxes[drag.index];
      box.x = clamp(drag.orig.x + p.x - drag.start.x, 0, natural.w - box.w);
      box.y = clamp(drag.orig.y + p.y - drag.start.y, 0, natural.h - box.h);
    } else {
      box = boxes[drag.index];
      var o = drag.orig, left = o.x, top = o.y, right = o.x + o.w, bottom = o.y + o.h;
      var dx = p.x - drag.start.x, dy = p.y - drag.start.y, edges = drag.edges;
      if (edges.indexOf("w") >= 0) left = clamp(o.x + dx, 0, natural.w);
      if (edges.indexOf("e") >= 0) right = clamp(o.x + o.w + dx, 0, natural.w);
      if (edges.indexOf("n") >= 0) top = clamp(o.y + dy, 0, natural.h);
      if (edges.indexOf("s") >= 0) bottom = clamp(o.y + o.h + dy, 0, natural.h);
      box.x = Math.min(left, right); box.w = Math.abs(right - left);
      box.y = Math.min(top, bottom); box.h = Math.abs(bottom - top);
    }
    var node = layer.querySelector('.bbox[data-index="' + drag.index + '"]');
    if (node) place(node, box);
  }

  function onPointerUp(e) {
    if (!drag || e.pointerId !== drag.pointerId) return;
    var done = drag;
    drag = null;
    if (layer.hasPointerCapture(e.pointerId)) layer.releasePointerCapture(e.pointerId);
    if (done.mode === "draw" && done.index < 0) { select(-1); return; } // a click on the image: deselect
    var box = boxes[done.index];
    if (box && (box.w < 1 || box.h < 1)) { remove(done.index); return; }
    if (done.mode === "draw") {
      select(-1); // the next number key is for the next box, not this one
      // A finger has no number keys: a box tapped, then a label tapped, takes that label.
      ctx.message("Box " + (done.index + 1) + " drawn as " + box.label + ". To change its label, " +
                  (e.pointerType === "mouse" ? "click it, then press a number." : "tap it, then tap a label."), "");
      return;
    }
    render();
  }

  function cancelDrag() {
    if (!drag) return false;
    var done = drag;
    drag = null;
    if (done.mode === "draw" && done.index >= 0) boxes.splice(done.index, 1);
    else if (done.orig) boxes[done.index] = done.orig;
    selected = -1;
    render();
    return true;
  }

  /* ---- keys ------------------------------------------------------------------------------- */

  function pickLabel(label) {
    if (selected >= 0) {
      boxes[selected].label = label;
      render();
      ctx.message("Box " + (selected + 1) + " is now " + label + ".", "");
      return;
    }
    currentLabel = label;
    render();
    ctx.message("New boxes: " + label + ".", "");
  }

  /** A box from the keyboard: a quarter of the visible part of the image, in its middle, then arrows and R. */
  function addBox() {
    if (!loaded) return;
    var rect = stage.getBoundingClientRect(), shown = viewport.getBoundingClientRect();
    var left = Math.max(rect.left, shown.left), right = Math.min(rect.right, shown.right);
    var top = Math.max(rect.top, shown.top), bottom = Math.min(rect.bottom, shown.bottom);
    var w = Math.max(1, (right - left) / view.scale / 2), h = Math.max(1, (bottom - top) / view.scale / 2);
    var x = clamp(((left + right) / 2 - rect.left) / view.scale - w / 2, 0, natural.w - w);
    var y = clamp(((top + bottom) / 2 - rect.top) / view.scale - h / 2, 0, natural.h - h);
    boxes.push({label: currentLabel, x: x, y: y, w: w, h: h});
    select(boxes.length - 1);
    ctx.message("Box " + boxes.length + " added as " + currentLabel + ": arrows move it, R resizes it, Esc lets it go.", "");
  }

  function nudge(dx, dy) {
    var box = boxes[selected];
    if (resizing) {
      box.w = clamp(box.w + dx, 1, natural.w - box.x);
      box.h = clamp(box.h + dy, 1, natural.h - box.y);
    } else {
      box.x = clamp(box.x + dx, 0, natural.w - box.w);
      box.y = clamp(box.y + dy, 0, natural.h - box.h);
    }
    render((resizing ? "resize " : "move ") + selected);
  }

  function onKey(e) {
    if (picker.handleKey(e)) return true;
    var key = e.key;
    if (key === "Escape") { if (!view.endPan() && !cancelDrag()) select(-1); return true; }
    if (view.handleKey(e)) { if (view.spaceHeld) crossX.hidden = crossY.hidden = true; return true; }
    if (key === "b" || key === "B") { addBox(); return true; }
    if (!boxes.length) return false;
    if (key === "n" || key === "N") { select((selected + 1) % boxes.length); return true; }
    if (key === "p" || key === "P") { select(selected <= 0 ? boxes.length - 1 : selected - 1); return true; }
    if (selected < 0) return false;
    if (key === "r" || key === "R") {
      resizing = !resizing;
      render();
      ctx.message(resizing ? "Resizing box " + (selected + 1) + ": arrows move its bottom-right corner (Shift: 10 px); R to stop."
                           : "Moving box " + (selected + 1) + " with the arrows again.", "");
      return true;
    }
    if (key === "Delete" || key === "Backspace") { remove(selected); return true; }
    var step = e.shiftKey ? 10 : 1;
    if (key === "ArrowLeft") { nudge(-step, 0); return true; }
    if (key === "ArrowRight") { nudge(step, 0); return true; }
    if (key === "ArrowUp") { nudge(0, -step); return true; }
    if (key === "ArrowDown") { nudge(0, step); return true; }
    return false;
  }

  /* ---- the task ---------------------------------------------------------------------------- */

  function onImageLoad() {
    natural = {w: image.naturalWidth, h: image.naturalHeight};
    loaded = true;
    boxes = boxes.map(function (b) {
      var x = clamp(b.x, 0, natural.w), y = clamp(b.y, 0, natural.h);
      return {label: b.label, x: x, y: y, w: clamp(b.w, 1, natural.w - x), h: clamp(b.h, 1, natural.h - y)};
    });
    view.show(natural.w, natural.h);
    render();
    history.reset(); // the boxes as the task came (kept inside the image): where undo stops
  }

  L.register({
    init: function (context) {
      ctx = context;
      labels = context.config.labels;
      currentLabel = labels[0];
      viewport = document.getElementById("box-viewport");
      stage = document.getElementById("box-stage");
      image = document.getElementById("box-image");
      layer = document.getElementById("box-layer");
      list = document.getElementById("box-list");
      countEl = document.getElementById("box-count");
      noBoxes = document.getElementById("no-boxes");
      targetEl = document.getElementById("label-target");
      modeEl = document.getElementById("box-mode");
      crossX = document.getElementById("crosshair-x");
      crossY = document.getElementById("crosshair-y");
      picker = new L.LabelPicker(document.getElementById("labels"), labels, pickLabel);
      history = new L.History(function () { return boxes; }, function (state) {
        boxes = state;
        selected = -1;
        resizing = false;
        render();
      });
      view = new L.ZoomView(viewport, stage, {toolbar: document.getElementById("zoom-bar"), onScale: renderBoxes,
                                              spacePans: true});
      layer.addEventListener("pointerdown", onPointerDown);
      layer.addEventListener("pointermove", onPointerMove);
      layer.addEventListener("pointerup", onPointerUp);
      layer.addEventListener("pointerleave", function () { if (!drag) crossX.hidden = crossY.hidden = true; });
      layer.addEventListener("pointercancel", function () { cancelDrag(); });
      image.addEventListener("load", onImageLoad);
      image.addEventListener("error", function () {
        if (!image.getAttribute("src")) return;
        view.failed();
        ctx.message(L.IMAGE_FAILED, "error");
      });
    },
    load: function (task) {
      var p = task.predictions;
      loaded = false;
      view.show(0, 0);
      drag = null;
      selected = -1;
      resizing = false;
      boxes = p && Array.isArray(p.boxes) ? p.boxes.map(function (b) {
        return {label: labels.indexOf(b.label) >= 0 ? b.label : labels[0], x: b.x, y: b.y, w: b.w, h: b.h};
      }) : [];
      layer.replaceChildren();
      history.reset();
      crossX.hidden = crossY.hidden = true;
      image.removeAttribute("src");
      image.src = L.mediaUrl(task.data.image);
      if (image.complete && image.naturalWidth) onImageLoad(); else renderList();
      return boxes.length > 0;
    },
    answer: function () {
      if (!loaded) return {error: viewport.dataset.image === "failed" ? L.IMAGE_FAILED : L.IMAGE_LOADING};
      return {answer: {boxes: boxes.map(rounded)}};
    },
    meta: function () {
      return loaded ? {image: {natural_width: natural.w, natural_height: natural.h}} : {};
    },
    onKey: onKey,
    undo: undo,
    clear: function () { boxes = []; selected = -1; layer.replaceChildren(); image.removeAttribute("src"); renderList(); history.reset(); },
  });
})();
