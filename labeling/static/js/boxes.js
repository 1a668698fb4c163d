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
  var ZOOM_STEP = 1.25, WHEEL_STEP = 1.15;
  var ctx, labels, picker, viewport, stage, image, layer, list, countEl, noBoxes, targetEl, zoomEl, modeEl, crossX, crossY;
  var boxes = [], selected = -1, currentLabel = null, resizing = false, spaceHeld = false;
  var natural = {w: 0, h: 0}, scale = 1, fitMode = true, loaded = false, drag = null;

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

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

  function render() { renderBoxes(); renderList(); }

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
    ctx.message("Box deleted.", "");
  }

  /* ---- zoom and pan ------------------------------------------------------------------------ */

  function fitScale() {
    var width = viewport.clientWidth - 8, height = viewport.clientHeight - 8;
    if (!natural.w || !natural.h || width <= 0 || height <= 0) return 1;
    return Math.min(width / natural.w, height / natural.h, 8);
  }

  function setScale(next) {
    scale = clamp(next, 0.05, 32);
    stage.style.width = natural.w * scale + "px";
    stage.style.height = natural.h * scale + "px";
    zoomEl.textContent = Math.round(scale * 100) + "%";
    renderBoxes();
  }

  /** Zoom by `factor` keeping the image point under (clientX, clientY) where it is on screen. */
  function zoomAt(factor, clientX, clientY) {
    if (!loaded) return;
    fitMode = false;
    var before = stage.getBoundingClientRect();
    var ix = (clientX - before.left) / scale, iy = (clientY - before.top) / scale;
    setScale(scale * factor);
    var after = stage.getBoundingClientRect();
    viewport.scrollLeft += after.left + ix * scale - clientX;
    viewport.scrollTop += after.top + iy * scale - clientY;
  }

  function zoom(factor) {
    var rect = viewport.getBoundingClientRect();
    zoomAt(factor, rect.left + rect.width / 2, rect.top + rect.height / 2);
  }

  function fit() { fitMode = true; setScale(fitScale()); }

  /* ---- the crosshair: where a box would start or end ---------------------------------------- */

  function crosshair(e) {
    var show = loaded && e && (!drag || drag.mode === "draw") && !spaceHeld && !e.target.closest(".bbox");
    crossX.hidden = crossY.hidden = !show;
    if (!show) return;
    var p = toImage(e);
    crossX.style.top = p.y * scale + "px";
    crossY.style.left = p.x * scale + "px";
  }

  /* ---- mouse: draw, move, resize, pan ------------------------------------------------------ */

  function startPan(e) {
    drag = {mode: "pan", x: e.clientX, y: e.clientY, left: viewport.scrollLeft, top: viewport.scrollTop,
            pointerId: e.pointerId};
    viewport.setPointerCapture(e.pointerId);
    viewport.classList.add("panning");
    e.preventDefault();
  }

  function onViewportDown(e) {
    if (drag || !loaded) return;
    if (e.button === 1 || (e.button === 0 && spaceHeld)) startPan(e);
  }

  function onPointerDown(e) {
    if (!loaded || drag) return;
    if (e.button === 1 || (e.button === 0 && spaceHeld)) { startPan(e); e.stopPropagation(); return; }
    if (e.button !== 0) return;
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
    if (drag && drag.mode === "pan" && e.pointerId === drag.pointerId) {
      viewport.scrollLeft = drag.left - (e.clientX - drag.x);
      viewport.scrollTop = drag.top - (e.clientY - drag.y);
      return;
    }
    if (e.currentTarget === layer) crosshair(e);
    if (!drag || e.pointerId !== drag.pointerId || e.currentTarget !== layer) return;
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
    if (done.mode === "pan") {
      viewport.classList.remove("panning");
      if (viewport.hasPointerCapture(e.pointerId)) viewport.releasePointerCapture(e.pointerId);
      return;
    }
    if (layer.hasPointerCapture(e.pointerId)) layer.releasePointerCapture(e.pointerId);
    if (done.mode === "draw" && done.index < 0) { select(-1); return; } // a click on the image: deselect
    var box = boxes[done.index];
    if (box && (box.w < 1 || box.h < 1)) { remove(done.index); return; }
    if (done.mode === "draw") {
      select(-1); // the next number key is for the next box, not this one
      ctx.message("Box " + (done.index + 1) + " drawn as " + box.label + ". To change its label, click it, then press " +
                  "a number.", "");
      return;
    }
    render();
  }

  function cancelDrag() {
    if (!drag) return false;
    var done = drag;
    drag = null;
    if (done.mode === "pan") { viewport.classList.remove("panning"); return true; }
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
    var rect = stage.getBoundingClientRect(), view = viewport.getBoundingClientRect();
    var left = Math.max(rect.left, view.left), right = Math.min(rect.right, view.right);
    var top = Math.max(rect.top, view.top), bottom = Math.min(rect.bottom, view.bottom);
    var w = Math.max(1, (right - left) / scale / 2), h = Math.max(1, (bottom - top) / scale / 2);
    var x = clamp(((left + right) / 2 - rect.left) / scale - w / 2, 0, natural.w - w);
    var y = clamp(((top + bottom) / 2 - rect.top) / scale - h / 2, 0, natural.h - h);
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
    render();
  }

  function onKey(e) {
    if (picker.handleKey(e)) return true;
    var key = e.key;
    if (key === " ") { spaceHeld = true; viewport.classList.add("can-pan"); crossX.hidden = crossY.hidden = true; return true; }
    if (key === "Escape") { if (!cancelDrag()) select(-1); return true; }
    if (key === "+" || key === "=") { zoom(ZOOM_STEP); return true; }
    if (key === "-" || key === "_") { zoom(1 / ZOOM_STEP); return true; }
    if (key === "f" || key === "F") { fit(); return true; }
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
      modeEl = document.getElementById("box-mode");
      crossX = document.getElementById("crosshair-x");
      crossY = document.getElementById("crosshair-y");
      picker = new L.LabelPicker(document.getElementById("labels"), labels, pickLabel);
      layer.addEventListener("pointerdown", onPointerDown);
      layer.addEventListener("pointermove", onPointerMove);
      layer.addEventListener("pointerup", onPointerUp);
      layer.addEventListener("pointerleave", function () { if (!drag) crossX.hidden = crossY.hidden = true; });
      layer.addEventListener("pointercancel", function () { cancelDrag(); });
      viewport.addEventListener("pointerdown", onViewportDown);
      viewport.addEventListener("pointermove", onPointerMove);
      viewport.addEventListener("pointerup", onPointerUp);
      viewport.addEventListener("auxclick", function (e) { if (e.button === 1) e.preventDefault(); });
      document.addEventListener("keyup", function (e) {
        if (e.key === " ") { spaceHeld = false; viewport.classList.remove("can-pan"); }
      });
      window.addEventListener("blur", function () { spaceHeld = false; viewport.classList.remove("can-pan"); });
      image.addEventListener("load", onImageLoad);
      image.addEventListener("error", function () {
        if (image.getAttribute("src")) ctx.message("The image could not be loaded. If it stays blank, skip the task (S).", "error");
      });
      document.getElementById("zoom-in").addEventListener("click", function () { zoom(ZOOM_STEP); });
      document.getElementById("zoom-out").addEventListener("click", function () { zoom(1 / ZOOM_STEP); });
      document.getElementById("zoom-fit").addEventListener("click", fit);
      viewport.addEventListener("wheel", function (e) { // the wheel zooms around the pointer
        if (!loaded) return;
        e.preventDefault();
        zoomAt(e.deltaY < 0 ? WHEEL_STEP : 1 / WHEEL_STEP, e.clientX, e.clientY);
      }, {passive: false});
      // Refit when the space changes (window resized, instructions shown or hidden).
      new ResizeObserver(function () { if (fitMode && loaded) fit(); }).observe(viewport);
    },
    load: function (task) {
      var p = task.predictions;
      loaded = false;
      drag = null;
      selected = -1;
      resizing = false;
      boxes = p && Array.isArray(p.boxes) ? p.boxes.map(function (b) {
        return {label: labels.indexOf(b.label) >= 0 ? b.label : labels[0], x: b.x, y: b.y, w: b.w, h: b.h};
      }) : [];
      layer.replaceChildren();
      crossX.hidden = crossY.hidden = true;
      image.removeAttribute("src");
      image.src = L.mediaUrl(task.data.image);
      if (image.complete && image.naturalWidth) onImageLoad(); else renderList();
      return boxes.length > 0;
    },
    answer: function () {
      if (!loaded) return {error: "The image has not loaded yet; wait a moment or skip the task (S)."};
      return {answer: {boxes: boxes.map(rounded)}};
    },
    meta: function () {
      return loaded ? {image: {natural_width: natural.w, natural_height: natural.h}} : {};
    },
    onKey: onKey,
    clear: function () { boxes = []; selected = -1; layer.replaceChildren(); image.removeAttribute("src"); renderList(); },
  });
})();
