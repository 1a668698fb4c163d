/* The console's answer views: a task's data and an answer (a consensus, an override, one worker's) drawn the way
   its task type looks. Driven by the task type's spec as the page's config gives it: `media` (image or text) says
   how the data looks, `family` (labeling/tasktypes: classification, multilabel, boxes, spans, ranking,
   demonstration) the shape of an answer. Built from data with DOM APIs only (never HTML strings); positions are
   set through the CSSOM (the CSP allows no style attributes). Needs js/widgets.js (Labeling.el, paint, mediaUrl).
   window.ConsoleViews = {answer, image, chips, spans, ranking, text, workerColor}. */
(function () {
  "use strict";
  var L = window.Labeling;
  var el = L.el;

  // Distinct colours for workers' answers side by side (colour-blind safe order, then more).
  var WORKER_COLORS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7a5195", "#8c564b",
                       "#3b7a57", "#b22222"];
  function workerColor(i) { return WORKER_COLORS[i % WORKER_COLORS.length]; }

  /** The text colour on a worker's colour: black or white, whichever stands out more (WCAG contrast). White on
      every one of them put a box's or an entity's label at 2.3:1 on #e69f00 and 3.9:1 on #d55e00. */
  function onColor(hex) {
    var lum = [1, 3, 5].map(function (i) {
      var v = parseInt(hex.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    }).reduce(function (sum, v, i) { return sum + v * [0.2126, 0.7152, 0.0722][i]; }, 0);
    return (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) ? "#ffffff" : "#000000";
  }
  function paintWorker(node, color) {
    node.style.setProperty("--c", color);
    node.style.setProperty("--on-c", onColor(color));
    return node;
  }

  /** Label chips in the labels' colours. */
  function chips(labels) {
    if (!labels.length) return el("span", {class: "muted", text: "no label"});
    return el("span", {class: "label-chips"}, labels.map(function (name) {
      return L.paint(el("span", {class: "label-chip", text: name}), name);
    }));
  }

  /** An image with box layers [{boxes, color?}] drawn at the image's pixel positions (percentages of its natural
      size, so they stay right at any displayed size). `thumb`: a small one for a table row. */
  var SMALL_IMAGE = 200, SMALL_THUMB = 96;  // px: the least an image's longer side is shown at

  function image(src, layers, thumb) {
    var img = el("img", {alt: "Task image", loading: thumb ? "lazy" : null, class: "view-image"});
    var frame = el("span", {class: "image-view" + (thumb ? " thumb" : "")}, [img]);
    function draw() {
      var w = img.naturalWidth, h = img.naturalHeight;
      if (!w || !h) return;
      // A tiny image (3x2 px) was a dot: magnified by whole steps until its longer side is SMALL_IMAGE (a thumbnail's
      // smaller), its pixels shown as squares; the CSS's max sizes still hold it in its place.
      var times = Math.floor((thumb ? SMALL_THUMB : SMALL_IMAGE) / Math.max(w, h));
      if (times > 1) img.style.width = w * times + "px";
      frame.classList.toggle("pixels", times >= 4);
      frame.querySelectorAll(".view-box").forEach(function (n) { n.remove(); });
      layers.forEach(function (layer, li) {
        (layer.boxes || []).forEach(function (b) {
          var box = el("span", {class: "view-box", title: b.label + (layer.name ? " · " + layer.name : ""),
                                dataset: {layer: String(li), label: b.label}});
          if (layer.color) {
            paintWorker(box, layer.color);
          } else {
            L.paint(box, b.label);
          }
          box.style.left = (100 * b.x / w) + "%";
          box.style.top = (100 * b.y / h) + "%";
          box.style.width = (100 * b.w / w) + "%";
          box.style.height = (100 * b.h / h) + "%";
          if (!thumb) box.append(el("span", {class: "view-box-label", text: b.label}));
          frame.append(box);
        });
      });
      frame.dataset.drawn = "true";
    }
    img.addEventListener("load", draw);
    img.addEventListener("error", function () { frame.classList.add("broken"); frame.title = "The image could not be loaded"; });
    img.src = L.mediaUrl(src);
    if (img.complete && img.naturalWidth) draw();
    return frame;
  }

  /** A text with spans highlighted; layers [{spans, color?}] (several layers: each its own underline). `most`: draw
      the text only as far as its first `most` spans reach, and a button that draws the whole (a text of 20,000
      spans took 1.6 s to build and 2.5 s to lay out). */
  function spans(text, layers, clip, most) {
    var all = [];
    layers.forEach(function (layer) { (layer.spans || []).forEach(function (s) { all.push(s); }); });
    if (most && all.length > most) return firstSpans(text, layers, clip, most, all);
    var offsets = new L.Offsets(text), shown = L.shown(text);
    var marks = [];
    layers.forEach(function (layer, li) {
      (layer.spans || []).forEach(function (s) {
        marks.push({start: offsets.utf16(s.start), end: offsets.utf16(s.end), label: s.label, color: layer.color, li: li});
      });
    });
    var cuts = [0, text.length];
    marks.forEach(function (m) { cuts.push(m.start, m.end); });
    cuts = Array.from(new Set(cuts)).filter(function (c) { return c >= 0 && c <= text.length; }).sort(function (a, b) { return a - b; });
    // dir="auto": a text takes the direction of its first letters, as on the labeling page (an Arabic sentence with
    // English in it was laid out left to right here, its runs in another order than the worker saw)
    var out = el("span", {class: "span-view" + (clip ? " clip" : ""), dir: "auto"});
    // A sweep over the cuts: the marks covering a piece are those begun and not yet ended (kept in marks order), so
    // a text is drawn in one pass; asking every mark at every cut took 29 s for 3 answers of 20,000 spans.
    var byStart = marks.map(function (m, k) { return k; })
      .sort(function (x, y) { return marks[x].start - marks[y].start || x - y; });
    var active = [], next = 0;
    for (var i = 0; i + 1 < cuts.length; i++) {
      var a = cuts[i], b = cuts[i + 1];
      while (next < byStart.length && marks[byStart[next]].start <= a) {
        var k = byStart[next++], lo = 0, hi = active.length;
        while (lo < hi) { var mid = (lo + hi) >> 1; if (active[mid] < k) lo = mid + 1; else hi = mid; }
        active.splice(lo, 0, k);
      }
      active = active.filter(function (k) { return marks[k].end > a; });
      // a mark covers [a, b) when it starts by a and ends after a: b is the next cut, so it ends at b or later
      var covering = active.map(function (k) { return marks[k]; });
      var piece = shown.slice(a, b);
      if (!covering.length) { out.append(piece); continue; }
      var m = covering[0];
      var mark = el("mark", {class: "view-span", title: covering.map(function (c) { return c.label; }).join(", "),
                             dataset: {label: m.label, layer: String(m.li)}, text: piece});
      if (m.color) { paintWorker(mark, m.color); } else { L.paint(mark, m.label); }
      out.append(mark);
      var ends = covering.filter(function (c) { return c.end === b; });
      ends.forEach(function (c) {
        var tag = el("span", {class: "view-span-tag", text: c.label});
        if (c.color) paintWorker(tag, c.color); else L.paint(tag, c.label);
        out.append(tag);
      });
    }
    return out;
  }

  /** The start of a text, to past its first `most` spans (never cutting one), then a button for the whole. */
  function firstSpans(text, layers, clip, most, all) {
    all.sort(function (x, y) { return x.start - y.start; });
    var cut = 0, k;
    for (k = 0; k < most; k++) cut = Math.max(cut, all[k].end);
    for (; k < all.length && all[k].start < cut; k++) cut = Math.max(cut, all[k].end);
    var head = spans(text.slice(0, new L.Offsets(text).utf16(cut)), layers.map(function (layer) {
      return {color: layer.color, spans: (layer.spans || []).filter(function (s) { return s.end <= cut; })};
    }), clip);
    var rest = all.length - k;
    var button = el("button", {type: "button", class: "btn btn-small show-rest",
                               text: "Show the whole text (" + rest.toLocaleString() + " more span" + (rest === 1 ? "" : "s") + ")"});
    var out = el("span", {class: "span-view-part"}, [head, el("span", {class: "muted", text: " … "}), button]);
    button.addEventListener("click", function () {
      var whole = spans(text, layers, clip);
      whole.tabIndex = -1;
      out.replaceWith(whole);
      whole.focus({preventScroll: true});
    });
    return out;
  }

  /** A ranking, best first, ties on one line: each response by its letter and model, with ratings if any. */
  function ranking(data, answer, compact) {
    var responses = (data && data.responses) || [];
    var letters = {};
    responses.forEach(function (r, i) { letters[String(r.id)] = {letter: L.responseLetter(i), r: r}; });
    var ratings = (answer && answer.ratings) || {};
    var list = el("ol", {class: "rank-view" + (compact ? " compact" : "")});
    ((answer && answer.ranking) || []).forEach(function (tier) {
      list.append(el("li", {}, tier.map(function (id, k) {
        var known = letters[String(id)] || {letter: "?", r: {id: id}};
        var rating = ratings[id];
        var ratingText = rating === undefined ? "" : (typeof rating === "object" ? " ★" + rating.mean : " ★" + rating);
        return el("span", {class: "rank-item", title: known.r.text || ""}, [
          k ? el("span", {class: "tie", text: "="}) : null,
          el("span", {class: "response-letter", text: known.letter}),
          el("span", {class: "rank-model", text: known.r.model || String(id)}),
          ratingText ? el("span", {class: "rank-rating", text: ratingText}) : null]);
      })));
    });
    return list;
  }

  function text(value, clip) {
    return el("span", {class: "text-view" + (clip ? " clip" : ""), dir: "auto", text: L.shown(value)});
  }

  /** The labels an answer holds, by its family. */
  function labelsOf(family, answer) {
    if (!answer) return [];
    if (family === "classification") return answer.label ? [answer.label] : [];
    if (family === "multilabel") return answer.labels || [];
    return [];
  }

  /** A rationale names responses by the letters its worker saw them under (the labeling page shuffles them for each
   *  worker), not by this page's: said when they differ ("B is safer" was read against another B). letters: the
   *  answer's meta.letters, {id: letter}. */
  function workerLetters(data, letters) {
    if (!letters || typeof letters !== "object") return null;
    var responses = (data && data.responses) || [], differ = false, seen = [];
    responses.forEach(function (r, i) {
      var theirs = letters[String(r.id)];
      if (typeof theirs !== "string") return;
      var ours = L.responseLetter(i);
      if (theirs !== ours) differ = true;
      seen.push({theirs: theirs, text: theirs + " = " + (r.model || String(r.id)) + " (" + ours + " here)"});
    });
    if (!differ || !seen.length) return null;
    seen.sort(function (x, y) { return x.theirs < y.theirs ? -1 : x.theirs > y.theirs ? 1 : 0; });
    return "Letters as this worker saw them: " + seen.map(function (s) { return s.text; }).join(", ") + ".";
  }

  /** The data with an answer on it, the way the task type looks. opts: {thumb, color, name, clip, most (spans)}. */
  function answer(config, data, value, opts) {
    opts = opts || {};
    var family = config.family, parts = [];
    if (family === "boxes") {
      parts.push(image(data.image, [{boxes: value ? value.boxes : [], color: opts.color, name: opts.name}], opts.thumb));
    } else if (family === "spans") {
      parts.push(spans(String(data.text || ""), [{spans: value ? value.spans : [], color: opts.color}], opts.clip, opts.most));
    } else if (family === "ranking") {
      if (opts.withData) parts.push(text(data.prompt, opts.clip));
      parts.push(value ? ranking(data, value, opts.thumb) : el("span", {class: "muted", text: "no ranking yet"}));
      if (value && value.rationale) {
        parts.push(el("p", {class: "rationale", text: "“" + value.rationale + "”"}));
        var seen = workerLetters(data, opts.letters);
        if (seen) parts.push(el("p", {class: "muted small worker-letters", text: seen}));
      }
    } else if (family === "demonstration") {
      if (opts.withData) parts.push(text(data.prompt, opts.clip));
      if (value && typeof value.text === "string") parts.push(text(value.text, opts.clip));
      else if (!opts.withData) parts.push(el("span", {class: "muted", text: "demonstrations: see the task"}));
    } else {
      if (config.media === "image" && opts.withData !== false) parts.push(image(data.image, [], opts.thumb));
      else if (opts.withData) parts.push(text(data.text, opts.clip));
      parts.push(chips(labelsOf(family, value)));
    }
    return el("div", {class: "answer-view family-" + family}, parts);
  }

  window.ConsoleViews = {answer: answer, image: image, chips: chips, spans: spans, ranking: ranking, text: text,
                         workerColor: workerColor, labelsOf: labelsOf};
})();
