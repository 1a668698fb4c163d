/* labeling worker UI: small helpers the page and the task type modules share (vanilla JS, no build step).
 *
 * Elements built from data (never HTML strings), media URLs, a seeded shuffle, code point offsets, words of a
 * text, label colours and hotkeys, the label picker, and an image's zoom and pan. Loaded before core.js and the
 * task type's script.
 */
(function () {
  "use strict";

  var L = (window.Labeling = window.Labeling || {});

  /* ---- small helpers shared with the task type modules ------------------------------------ */

  /** el("button", {class: "btn", text: "Go", onclick: fn}, [children]): children are nodes or plain text. */
  L.el = function (tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "dataset") Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    [].concat(children === undefined ? [] : children).forEach(function (child) {
      if (child !== null && child !== undefined) node.append(child); // strings become text nodes
    });
    return node;
  };

  var mediaUrls = {}; // the current task's signed URLs of its media-folder files (task.media)

  /** Remember the signed URLs that came with a task (by the reference in its data). */
  L.setMediaUrls = function (urls) { mediaUrls = urls || {}; };

  /** The URL of a task image: http(s) URLs as they are, media paths by the signed URL that came with the task
   * (no lookup on the server), else under /media/. */
  L.mediaUrl = function (ref) {
    if (/^https?:\/\//i.test(ref)) return ref;
    if (Object.prototype.hasOwnProperty.call(mediaUrls, ref)) return mediaUrls[ref];
    return "/media/" + String(ref).split("/").map(encodeURIComponent).join("/");
  };

  function hashString(text) {
    var h = 2166136261 >>> 0; // FNV-1a
    for (var i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
    return h;
  }

  /** The letter of the i-th response of a ranking: the page's own shortcuts (I instructions, S skip, X and Z earlier
   *  answers) are never a response's letter, so every response of the most a task may have (16) has its key; the
   *  console names responses by the same letters. */
  L.RESPONSE_LETTERS = "ABCDEFGHJKLMNOPQRTUVWY";
  L.responseLetter = function (i) { return i < L.RESPONSE_LETTERS.length ? L.RESPONSE_LETTERS.charAt(i) : String(i + 1); };

  /** A copy of items in an order that depends only on seed (the same worker and task: the same order). */
  L.shuffled = function (items, seed) {
    var state = hashString(String(seed)) || 1;
    function random() { // mulberry32
      state = (state + 0x6D2B79F5) | 0;
      var t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    var out = items.slice();
    for (var i = out.length - 1; i > 0; i--) {
      var j = Math.floor(random() * (i + 1));
      var tmp = out[i]; out[i] = out[j]; out[j] = tmp;
    }
    return out;
  };

  /** Why an image task cannot be answered yet, or at all (classification and bounding boxes). */
  L.IMAGE_LOADING = "The image has not loaded yet: wait for it, or skip the task (S).";
  L.IMAGE_FAILED = "The image could not be loaded, so it cannot be labeled: skip the task (S), reason Broken media.";

  /** A text as drawn: every line break Python counts (a lone CR, a form feed, NEL, Unicode's line and paragraph
   * separators...) as a line feed, the one pre-wrap breaks a line at (Chromium draws a lone CR as nothing, gluing the
   * words of two lines). One UTF-16 unit for one: an offset in the drawn text is the same offset in the text. */
  L.shown = function (text) {
    return text === undefined || text === null ? "" : String(text).replace(/\r(?!\n)|[\v\f\x1c-\x1e\x85\u2028\u2029]/g, "\n");
  };

  /** Offsets in a text: the server counts code points (Python), JS strings count UTF-16 units. */
  L.Offsets = function (text) {
    this.text = text;
    this.simple = !/[\uD800-\uDFFF]/.test(text);
    if (this.simple) return;
    var toCp = new Int32Array(text.length + 1), toU16 = [0], cp = 0;
    for (var u = 0; u < text.length; u++) {
      toCp[u] = cp;
      var c = text.charCodeAt(u);
      var pair = c >= 0xD800 && c <= 0xDBFF && u + 1 < text.length &&
        text.charCodeAt(u + 1) >= 0xDC00 && text.charCodeAt(u + 1) <= 0xDFFF;
      if (pair) { toCp[u + 1] = cp; u++; }
      cp++;
      toU16.push(u + 1);
    }
    toCp[text.length] = cp;
    this.toCp = toCp;
    this.toU16Table = toU16;
  };
  L.Offsets.prototype.codePoint = function (u16) { return this.simple ? u16 : this.toCp[u16]; };
  L.Offsets.prototype.utf16 = function (cp) {
    if (this.simple) return cp;
    return this.toU16Table[Math.max(0, Math.min(cp, this.toU16Table.length - 1))];
  };
  /** Move a UTF-16 offset off the middle of a surrogate pair (towards `direction`, -1 or +1). */
  L.Offsets.prototype.snap = function (u16, direction) {
    if (this.simple || u16 <= 0 || u16 >= this.text.length) return u16;
    var c = this.text.charCodeAt(u16), before = this.text.charCodeAt(u16 - 1);
    if (c >= 0xDC00 && c <= 0xDFFF && before >= 0xD800 && before <= 0xDBFF) return u16 + (direction < 0 ? -1 : 1);
    return u16;
  };

  function keyName(index) {
    if (index < 9) return String(index + 1);
    if (index === 9) return "0";
    if (index < 20) return "⇧" + keyName(index - 10);
    return "";
  }

  /** The label index a key press names: 1-9 and 0 are labels 1-10, Shift+digit labels 11-20; else -1. */
  L.labelIndexFromKey = function (e) {
    var match = /^(?:Digit|Numpad)(\d)$/.exec(e.code || "");
    var digit = match ? Number(match[1]) : (/^\d$/.test(e.key) ? Number(e.key) : -1);
    if (digit < 0) return -1;
    var index = digit === 0 ? 9 : digit - 1;
    return e.shiftKey ? index + 10 : index;
  };

  /* ---- undo and redo within a task ---------------------------------------------------------- */

  /** The steps of a worker's edits to one task (Ctrl+Z undoes one, Ctrl+Shift+Z or Ctrl+Y redoes it). `read` gives the
   *  task's state as plain data, `write` puts an earlier one back (and redraws). The task type calls commit() after
   *  it redraws: a step is kept only when the state changed, and edits with the same tag in a row (the arrow presses
   *  that move one box) are one step. reset() when a task is shown: its first state is where undo stops. */
  L.History = function (read, write, limit) {
    this.read = read;
    this.write = write;
    this.limit = limit || 200;
    this.reset();
  };
  L.History.prototype.reset = function () {
    this.done = [];
    this.undone = [];
    this.current = JSON.stringify(this.read());
    this.tag = null;
  };
  L.History.prototype.commit = function (tag) {
    var now = JSON.stringify(this.read());
    if (now === this.current) return;
    if (!tag || tag !== this.tag) {
      this.done.push(this.current);
      if (this.done.length > this.limit) this.done.shift();
    }
    this.current = now;
    this.tag = tag || null;
    this.undone = [];
  };
  /** One step back (redo: forward); false when there is none. */
  L.History.prototype.step = function (redo) {
    var from = redo ? this.undone : this.done, to = redo ? this.done : this.undone;
    if (!from.length) return false;
    to.push(this.current);
    this.current = from.pop();
    this.tag = null;
    this.write(JSON.parse(this.current));
    return true;
  };

  /** "undo" for Ctrl+Z (Cmd+Z), "redo" for Ctrl+Shift+Z or Ctrl+Y, else null. */
  L.undoKey = function (e) {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || !/^[zy]$/i.test(e.key)) return null;
    return e.shiftKey || e.key === "y" || e.key === "Y" ? "redo" : "undo";
  };

  /** Undo (or redo) one step of a task type's edits (its `undo`) and say what happened. */
  L.undoStep = function (module, which, say) {
    var redo = which === "redo";
    if (module.undo(redo)) say(redo ? "Redone." : "Undone.", "");
    else say(redo ? "Nothing to redo." : "Nothing to undo on this task.", "");
  };

  /* ---- labels: colours and hotkeys --------------------------------------------------------- */

  var styles = {}; // label name -> {color, text_color, edge_color, hotkey}, from the page's config (the server chose them)

  /** Remember how the project's labels look: [{name, color, text_color, edge_color, hotkey}]. */
  L.setLabelStyles = function (list) {
    styles = {};
    (list || []).forEach(function (s) { styles[s.name] = s; });
  };
  L.labelStyle = function (label) { return styles[label] || {color: "#7f7f7f", text_color: "#ffffff", edge_color: "#7f7f7f"}; };

  /** Give a node its label's own colour (--c), the text colour that reads on it (--on-c) and the colour its marks on
   *  the white page are drawn in (--edge: darkened by the server until it stands 3:1 against white). */
  L.paint = function (node, label) {
    var style = L.labelStyle(label);
    node.style.setProperty("--c", style.color);
    node.style.setProperty("--on-c", style.text_color);
    node.style.setProperty("--edge", style.edge_color || style.color);
    return node;
  };

  /** Label buttons with number-key (and hotkey) hints, the labels' colours, and a "/" finder for long lists. */
  L.LabelPicker = function (container, labels, onPick) {
    var self = this;
    this.labels = labels;
    this.onPick = onPick;
    this.hotkeys = {};
    this.buttons = labels.map(function (label, i) {
      var hotkey = L.labelStyle(label).hotkey;
      if (hotkey) self.hotkeys[hotkey] = i;
      var keys = [keyName(i).replace("⇧", "Shift+"), hotkey ? hotkey.toUpperCase() : ""].filter(Boolean);
      return L.paint(L.el("button", {
        type: "button", class: "label-btn", "aria-pressed": "false", dataset: {index: i},
        title: keys.length ? label + " (" + keys.join(" or ") + ")" : label,
        onclick: function () { self.onPick(label, i); },
      }, [L.el("kbd", {text: keyName(i) || "·"}), L.el("span", {class: "name", text: label}),
          hotkey ? L.el("kbd", {class: "hotkey", text: hotkey.toUpperCase()}) : null]), label);
    });
    this.filter = L.el("input", {
      type: "search", class: "label-filter", placeholder: "Find a label… (Enter picks, Esc closes)",
      "aria-label": "Find a label", hidden: true,
    });
    this.filter.addEventListener("input", function () { self.applyFilter(); });
    this.filter.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault(); e.stopPropagation();
        var first = self.buttons.filter(function (b) { return !b.hidden; })[0];
        self.closeFilter();
        if (first) first.click();
      } else if (e.key === "Escape") {
        e.preventDefault(); e.stopPropagation();
        self.closeFilter();
      }
    });
    container.replaceChildren.apply(container, [this.filter].concat(this.buttons));
  };
  L.LabelPicker.prototype.setSelected = function (selected) {
    var set = selected instanceof Set ? selected : new Set(selected ? [selected] : []);
    this.buttons.forEach(function (b, i) { b.setAttribute("aria-pressed", set.has(this.labels[i]) ? "true" : "false"); }, this);
  };
  L.LabelPicker.prototype.applyFilter = function () {
    var needle = this.filter.value.trim().toLowerCase();
    this.buttons.forEach(function (b, i) { b.hidden = needle !== "" && this.labels[i].toLowerCase().indexOf(needle) < 0; }, this);
  };
  L.LabelPicker.prototype.closeFilter = function () {
    var opener = this.filterOpener;
    this.filterOpener = null;
    this.filter.value = "";
    this.filter.hidden = true;
    this.applyFilter();
    this.filter.blur();
    /* the keyboard goes back where "/" was pressed (a label button), not to the page's top */
    if (opener && opener !== document.body && opener.isConnected && !opener.hidden) opener.focus({preventScroll: true});
  };
  /** Handle a key press meant for the labels; true when it was one. */
  L.LabelPicker.prototype.handleKey = function (e) {
    if (e.key === "/") {
      if (this.filter.hidden) this.filterOpener = document.activeElement;
      this.filter.hidden = false;
      this.filter.focus();
      return true;
    }
    var index = L.labelIndexFromKey(e);
    if (index < 0 && e.key.length === 1 && !e.shiftKey && this.hotkeys[e.key.toLowerCase()] !== undefined) {
      index = this.hotkeys[e.key.toLowerCase()];
    }
    if (index < 0 || index >= this.labels.length) return false;
    this.onPick(this.labels[index], index);
    return true;
  };

  /* ---- an image under a zoom: fit, zoom, pan (image classification, bounding boxes) ----------- */

  var ZOOM_STEP = 1.25, WHEEL_STEP = 1.15;

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  /** A stage (the image and what is drawn over it) of natural size × scale in a scrolling viewport.
   *
   * The toolbar's [data-zoom=in|out|fit] buttons, the wheel (around the pointer) and handleKey's keys zoom; the
   * middle button, Space+drag (options.spacePans) and, with options.dragPans, any mouse drag pan; a finger pans
   * the viewport as it scrolls. While the image is fitted it stays fitted when the viewport changes size.
   * options: {toolbar, onScale(scale): redraw what is over the image, dragPans, spacePans, arrowsPan}. */
  L.ZoomView = function (viewport, stage, options) {
    var self = this;
    this.viewport = viewport;
    this.stage = stage;
    this.options = options || {};
    this.natural = {w: 0, h: 0};
    this.scale = 1;
    this.fitted = true;
    this.loaded = false;
    this.spaceHeld = false;
    this.pan = null;
    var toolbar = this.options.toolbar;
    this.levelEl = toolbar ? toolbar.querySelector('[data-zoom="level"]') : null;
    if (toolbar) {
      toolbar.addEventListener("click", function (e) {
        var button = e.target.closest("button[data-zoom]");
        if (!button) return;
        // Clicked, not pressed from the keyboard: the keys go back to the task (Enter submits, not zooms again).
        if (e.detail) button.blur();
        if (button.dataset.zoom === "in") self.zoom(ZOOM_STEP);
        else if (button.dataset.zoom === "out") self.zoom(1 / ZOOM_STEP);
        else self.fit();
      });
    }
    viewport.addEventListener("wheel", function (e) {
      if (!self.loaded) return;
      e.preventDefault();
      self.zoomAt(e.deltaY < 0 ? WHEEL_STEP : 1 / WHEEL_STEP, e.clientX, e.clientY);
    }, {passive: false});
    // In the capture phase: a pan starts before what is drawn over the image (a box) sees the press.
    viewport.addEventListener("pointerdown", function (e) { self.onPointerDown(e); }, true);
    viewport.addEventListener("pointermove", function (e) { self.onPointerMove(e); });
    viewport.addEventListener("pointerup", function (e) { self.endPan(e); });
    viewport.addEventListener("pointercancel", function (e) { self.endPan(e); });
    viewport.addEventListener("auxclick", function (e) { if (e.button === 1) e.preventDefault(); });
    document.addEventListener("keyup", function (e) { if (e.key === " ") self.releaseSpace(); });
    window.addEventListener("blur", function () { self.releaseSpace(); });
    // Refit when the space changes (window resized, instructions shown or hidden).
    new ResizeObserver(function () { if (self.fitted && self.loaded) self.fit(); }).observe(viewport);
  };

  /** Show an image of this natural size, fitted; show(0, 0) while the next one loads (the view says so: on a slow
   *  network an empty frame looked like a blank image). */
  L.ZoomView.prototype.show = function (width, height) {
    this.natural = {w: width, h: height};
    this.loaded = width > 0 && height > 0;
    this.viewport.dataset.image = this.loaded ? "shown" : "loading";
    this.pan = null;
    this.viewport.classList.remove("panning");
    if (this.loaded) this.fit();
  };

  /** The image could not be loaded: the view says so in place of the image. */
  L.ZoomView.prototype.failed = function () {
    this.show(0, 0);
    this.viewport.dataset.image = "failed";
  };

  L.ZoomView.prototype.fitScale = function () {
    var width = this.viewport.clientWidth - 8, height = this.viewport.clientHeight - 8;
    if (!this.natural.w || !this.natural.h || width <= 0 || height <= 0) return 1;
    // No upper bound: a 3x2 px image stopped at 800%, a speck on a phone; fitted, it fills the view as any other.
    return Math.min(width / this.natural.w, height / this.natural.h);
  };

  L.ZoomView.prototype.setScale = function (next) {
    // Up to 3200%, or four times what fits the view if that is more (an image of a few pixels).
    this.scale = clamp(next, 0.05, Math.max(32, 4 * this.fitScale()));
    this.stage.style.width = this.natural.w * this.scale + "px";
    this.stage.style.height = this.natural.h * this.scale + "px";
    if (this.levelEl) this.levelEl.textContent = Math.round(this.scale * 100) + "%";
    // Magnified this much, the image's own pixels show as squares, not as a blur no edge can be told in.
    this.stage.classList.toggle("pixels", this.scale >= 4);
    // A zoomed image can be dragged around; a fitted one has nowhere to go.
    this.viewport.classList.toggle("zoomed", !this.fitted);
    if (this.options.onScale) this.options.onScale(this.scale);
  };

  /** Zoom by `factor` keeping the image point under (clientX, clientY) where it is on screen. */
  L.ZoomView.prototype.zoomAt = function (factor, clientX, clientY) {
    if (!this.loaded) return;
    this.fitted = false;
    var before = this.stage.getBoundingClientRect();
    var ix = (clientX - before.left) / this.scale, iy = (clientY - before.top) / this.scale;
    this.setScale(this.scale * factor);
    var after = this.stage.getBoundingClientRect();
    this.viewport.scrollLeft += after.left + ix * this.scale - clientX;
    this.viewport.scrollTop += after.top + iy * this.scale - clientY;
  };

  /** Zoom around the middle of the view. */
  L.ZoomView.prototype.zoom = function (factor) {
    var rect = this.viewport.getBoundingClientRect();
    this.zoomAt(factor, rect.left + rect.width / 2, rect.top + rect.height / 2);
  };

  L.ZoomView.prototype.fit = function () {
    if (!this.loaded) return;
    this.fitted = true;
    this.setScale(this.fitScale());
  };

  L.ZoomView.prototype.onPointerDown = function (e) {
    if (this.pan || !this.loaded) return;
    var dragPans = this.options.dragPans && e.pointerType === "mouse" && e.button === 0;
    if (!(e.button === 1 || (e.button === 0 && this.spaceHeld) || dragPans)) return;
    this.pan = {x: e.clientX, y: e.clientY, left: this.viewport.scrollLeft, top: this.viewport.scrollTop,
                pointerId: e.pointerId};
    this.viewport.setPointerCapture(e.pointerId);
    this.viewport.classList.add("panning");
    e.preventDefault();
    e.stopPropagation();
  };

  L.ZoomView.prototype.onPointerMove = function (e) {
    if (!this.pan || e.pointerId !== this.pan.pointerId) return;
    this.viewport.scrollLeft = this.pan.left - (e.clientX - this.pan.x);
    this.viewport.scrollTop = this.pan.top - (e.clientY - this.pan.y);
  };

  /** End a pan (a pointer event that ends it, or none: Esc); true when there was one. */
  L.ZoomView.prototype.endPan = function (e) {
    if (!this.pan || (e && e.pointerId !== this.pan.pointerId)) return false;
    if (this.viewport.hasPointerCapture(this.pan.pointerId)) this.viewport.releasePointerCapture(this.pan.pointerId);
    this.pan = null;
    this.viewport.classList.remove("panning");
    return true;
  };

  L.ZoomView.prototype.releaseSpace = function () {
    this.spaceHeld = false;
    this.viewport.classList.remove("can-pan");
  };

  /** Handle a zoom key: + (or =) and - zoom, F fits (so does 0, when no label took it before); Space held lets
   * a drag pan (options.spacePans); the arrows move a zoomed image (options.arrowsPan). True when it was one. */
  L.ZoomView.prototype.handleKey = function (e) {
    var key = e.key;
    if (key === "+" || key === "=") { this.zoom(ZOOM_STEP); return true; }
    if (key === "-" || key === "_") { this.zoom(1 / ZOOM_STEP); return true; }
    if (key === "f" || key === "F" || key === "0") { this.fit(); return true; }
    if (key === " " && this.options.spacePans) {
      this.spaceHeld = true;
      this.viewport.classList.add("can-pan");
      return true;
    }
    var arrows = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]}[key];
    if (arrows && this.options.arrowsPan && !this.fitted && this.loaded) {
      var share = e.shiftKey ? 0.5 : 0.15; // of the view
      this.viewport.scrollBy(arrows[0] * this.viewport.clientWidth * share, arrows[1] * this.viewport.clientHeight * share);
      return true;
    }
    return false;
  };

  /* ---- words of a text (named entities) ------------------------------------------------------ */

  // A word: letters and digits, joined by an apostrophe, a hyphen, a dot or an ampersand inside it (O'Neil,
  // co-founder, U.S, AT&T); a punctuation mark alone; or a run of other symbols (an emoji with its modifiers).
  var TOKEN = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:['’.\-&][\p{L}\p{N}][\p{L}\p{N}\p{M}]*)*|\p{P}|[^\s\p{L}\p{N}\p{P}]+/gu;
  var PUNCTUATION = /^\p{P}$/u;

  /** The tokens of a text as [{start, end, punct}] in UTF-16 offsets; white space is never part of one. */
  L.tokens = function (text) {
    var out = [], match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(text)) !== null) {
      out.push({start: match.index, end: match.index + match[0].length, punct: PUNCTUATION.test(match[0])});
    }
    return out;
  };

})();
