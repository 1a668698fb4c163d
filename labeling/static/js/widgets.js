/* labeling worker UI: small helpers the page and the task type modules share (vanilla JS, no build step).
 *
 * Elements built from data (never HTML strings), media URLs, a seeded shuffle, code point offsets, words of a
 * text, label colours and hotkeys, and the label picker. Loaded before core.js and the task type's script.
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

  /* ---- labels: colours and hotkeys --------------------------------------------------------- */

  var styles = {}; // label name -> {color, text_color, hotkey}, from the page's config (the server chose them)

  /** Remember how the project's labels look: [{name, color, text_color, hotkey}]. */
  L.setLabelStyles = function (list) {
    styles = {};
    (list || []).forEach(function (s) { styles[s.name] = s; });
  };
  L.labelStyle = function (label) { return styles[label] || {color: "#7f7f7f", text_color: "#ffffff"}; };

  /** Give a node its label's own colour (--c) and the text colour that reads on it (--on-c). */
  L.paint = function (node, label) {
    var style = L.labelStyle(label);
    node.style.setProperty("--c", style.color);
    node.style.setProperty("--on-c", style.text_color);
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
    this.filter.value = "";
    this.filter.hidden = true;
    this.applyFilter();
    this.filter.blur();
  };
  /** Handle a key press meant for the labels; true when it was one. */
  L.LabelPicker.prototype.handleKey = function (e) {
    if (e.key === "/") {
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
