/* Bounding boxes: draw with the mouse, move, resize, label with number keys, delete, zoom.
 * Boxes are kept in image pixels; the screen only multiplies them by the zoom factor. */
(function () {
  "use strict";
  var L = window.Labeling;
  var HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
  var MIN_DRAW_PX = 4; // a smaller drag on screen is a click, not a box
  var ctx, labels, picker, viewport, stage, image, layer, list, countEl, noBoxes, targetEl, zoomEl;
  var boxes = [], selected = -1, currentLabel = null;
  var natural = {w: 0, h: 0}, scale = 1, fitMode = true, loaded = false, drag = null;

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function labelIndex(label) { return Math.max(0, labels.indexOf(label)); }

  /** Image pixel under a pointer event (clamped to the image). */
  function toImage(e) {
    var rect = stage.getBoundingClientRect();
    return {x: clamp((e.clientX - rect.left) / scale, 0, natural.w), y: clamp((e.clientY - rect.top) / scale, 0, natural.h)};
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
    node.style.left = box.x * scale + "px";
    node.style.top = box.y * scale + "px";
    node.style.width = Math.max(1, box.w * scale) + "px";
    node.style.height = Math.max(1, box.h * scale) + "px";
  }

  function boxNode(box, i) {
    var node = L.el("div", {class: "bbox c" + (labelIndex(box.label) % 10) + (i === selected ? " selected" : ""),
                            dataset: {index: i}}, [
      L.el("span", {class: "bbox-tag", text: (i + 1) + " " + box.label}),
    ]);
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
        L.el("span", {class: "swatch c" + (labelIndex(box.label) % 10)}),
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
    targetEl.textContent = box ? "for box " + (selected + 1) : "for new boxes";
  }

  function render() { renderBoxes(); renderList(); }

  function select(i) {
    selected = i >= 0 && i < boxes.length ? i : -1;
    render();
  }

  function remove(i) {
    if (i < 0 || i >= boxes.length) return;
    boxes.splice(i, 1);
    selected = Math.min(i, boxes.length - 1);
    if (boxes.length === 0) selected = -1;
    render();
    ctx.message("Box deleted.", "");
  }

  /* ---- zoom ----------------------------------------------------------------------------------- */

  function fitScale() {
    var width = viewport.clientWidth - 2, height = viewport.clientHeight - 2;
    if (!natural.w || !natural.h || width <= 0 || height <= 0) return 1;
    return Math.min(width / natural.w, height / natural.h, 8);
  }

  function applyScale(next, keepCenter) {
    var cx = (viewport.scrollLeft + viewport.clientWidth / 2) / scale;
    var cy = (viewport.scrollTop + viewport.clientHeight / 2) / scale;
    scale = clamp(next, 0.05, 32);
    stage.style.width = natural.w * scale + "px";
    stage.style.height = natural.h * scale + "px";
    if (keepCenter) {
      viewport.scrollLeft = cx * scale - viewport.clientWidth / 2;
      viewport.scrollTop = cy * scale - viewport.clientHeight / 2;
    }
    zoomEl.textContent = Math.round(scale * 100) + "%";
    renderBoxes();
  }

  function fit() { fitMode = true; applyScale(fitScale(), false); }
  function zoom(factor) { fitMode = false; applyScale(scale * factor, true); }

  /* ---- mouse: draw, move, resize -------------------------------------------------------- */

  function onPointerDown(e) {
    if (!loaded || e.button !== 0 || drag) return;
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
  }

  function onPointerMove(e) {
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
    render();
    if (done.mode === "draw") ctx.message("Box " + (done.index + 1) + " drawn as " + box.label + ". Press a number key to change its label.", "");
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
    currentLabel = label;
    if (selected >= 0) boxes[selected].label = label;
    render();
  }

  function nudge(dx, dy) {
    var box = boxes[selected];
    box.x = clamp(box.x + dx, 0, natural.w - box.w);
    box.y = clamp(box.y + dy, 0, natural.h - box.h);
    render();
  }

  function onKey(e) {
    if (picker.handleKey(e)) return true;
    var key = e.key;
    if (key === "Escape") { if (!cancelDrag()) select(-1); return true; }
    if (key === "+" || key === "=") { zoom(1.25); return true; }
    if (key === "-" || key === "_") { zoom(1 / 1.25); return true; }
    if (key === "f" || key === "F") { fit(); return true; }
    if (!boxes.length) return false;
    if (key === "n" || key === "N") { select((selected + 1) % boxes.length); return true; }
    if (key === "p" || key === "P") { select(selected <= 0 ? boxes.length - 1 : selected - 1); return true; }
    if (selected < 0) return false;
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
    fit();
    render();
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
      zoomEl = document.getElementById("zoom-level");
      picker = new L.LabelPicker(document.getElementById("labels"), labels, pickLabel);
      layer.addEventListener("pointerdown", onPointerDown);
      layer.addEventListener("pointermove", onPointerMove);
      layer.addEventListener("pointerup", onPointerUp);
      layer.addEventListener("pointercancel", function () { cancelDrag(); });
      image.addEventListener("load", onImageLoad);
      image.addEventListener("error", function () {
        if (image.getAttribute("src")) ctx.message("The image could not be loaded. If it stays blank, skip the task (S).", "error");
      });
      document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.25); });
      document.getElementById("zoom-out").addEventListener("click", function () { zoom(1 / 1.25); });
      document.getElementById("zoom-fit").addEventListener("click", fit);
      viewport.addEventListener("wheel", function (e) {
        if (!e.ctrlKey) return; // plain wheel scrolls; Ctrl+wheel zooms
        e.preventDefault();
        zoom(e.deltaY < 0 ? 1.1 : 1 / 1.1);
      }, {passive: false});
      // Refit when the space changes (window resized, instructions shown or hidden).
      new ResizeObserver(function () { if (fitMode && loaded) fit(); }).observe(viewport);
    },
    load: function (task) {
      var p = task.predictions;
      loaded = false;
      drag = null;
      selected = -1;
      boxes = p && Array.isArray(p.boxes) ? p.boxes.map(function (b) {
        return {label: labels.indexOf(b.label) >= 0 ? b.label : labels[0], x: b.x, y: b.y, w: b.w, h: b.h};
      }) : [];
      layer.replaceChildren();
      image.removeAttribute("src");
      image.src = L.mediaUrl(task.data.image);
      if (image.complete && image.naturalWidth) onImageLoad(); else renderList();
      return boxes.length > 0;
    },
    answer: function () {
      if (!loaded) return {error: "The image has not loaded yet; wait a moment or skip the task (S)."};
      return {answer: {boxes: boxes.map(rounded)}};
    },
    onKey: onKey,
    clear: function () { boxes = []; selected = -1; layer.replaceChildren(); image.removeAttribute("src"); renderList(); },
  });
})();
