/* The console's task page: the data with every worker's answer on it (a colour per worker, toggled), each answer
   in its card, the consensus, and the review actions sent to the JSON API (Console.api, with the CSRF header).
   The override editor is the worker page's component for the task type (its script registers with
   Labeling.register, defined here before it loads), loaded with the shown label as its prefill. */
(function () {
  "use strict";
  var L = window.Labeling, V = window.ConsoleViews, C = window.Console;
  var $ = function (id) { return document.getElementById(id); };
  var editor = null, editorReady = false;
  L.register = function (module) { editor = module; };

  var payload = JSON.parse($("task-data").textContent);
  var config = payload.config, task = payload.task, family = config.family;
  L.setLabelStyles(config.label_styles);
  var api = "/api/projects/" + config.project_id + "/tasks/" + task.id;
  var review = task.review, consensus = task.consensus;
  var crowd = consensus ? consensus.answer : null;
  var shown = task.gold || (review && review.kind === "override" ? review.answer : crowd);
  var shownName = task.gold ? "the gold answer" : review && review.kind === "override" ? "the override" : "the consensus";
  var answers = task.annotations;
  /* An answer of more spans or boxes than FOLD is folded: its counts by label and how many match the shown answer,
     drawn on the data only when opened (3 answers of 20,000 spans drawn whole: 180,000 elements, 19-38 s to show);
     the consensus lists its first CHIPS as chips and counts the rest (it is drawn on the data above). */
  var FOLD = 300, CHIPS = 50, MOST = 2000;  /* a text is drawn to past its first MOST spans; a button draws the rest */

  /* ---- the data, with the answers on it ----------------------------------------------------------- */
  var layers = [{name: "consensus", boxes: shown ? shown.boxes : [], spans: shown ? shown.spans : []}];
  answers.forEach(function (a, i) {
    layers.push({name: a.username, color: V.workerColor(i), boxes: (a.answer || {}).boxes, spans: (a.answer || {}).spans});
  });
  var dataView = $("data-view");
  if (family === "boxes") {
    dataView.append(V.image(task.data.image, layers, false));
    var toggles = $("layer-toggles");
    layers.forEach(function (layer, i) {
      var box = L.el("input", {type: "checkbox", checked: i === 0 || null, dataset: {layer: String(i)}});
      var dot = L.el("span", {class: "swatch-dot"});
      if (layer.color) dot.style.setProperty("--c", layer.color); else dot.style.setProperty("--c", "#444");
      box.addEventListener("change", function () { showLayer(i, box.checked); });
      toggles.append(L.el("label", {}, [box, dot, layer.name + " (" + (layer.boxes || []).length + ")"]));
    });
    var showLayer = function (i, on) {
      dataView.querySelectorAll('.view-box[data-layer="' + i + '"]').forEach(function (b) { b.hidden = !on; });
    };
    // Boxes are drawn when the image loads; keep only the consensus shown until a worker's is asked for.
    var img = dataView.querySelector("img");
    var hideWorkers = function () { for (var i = 1; i < layers.length; i++) showLayer(i, false); };
    img.addEventListener("load", function () { setTimeout(hideWorkers, 0); });
    if (img.complete) hideWorkers();
  } else if (family === "spans") {
    dataView.append(V.spans(String(task.data.text || ""), [layers[0]], false, MOST));
  } else if (family === "ranking") {
    dataView.append(V.text(task.data.prompt));
    dataView.append(L.el("ol", {class: "responses-view", type: "A"}, (task.data.responses || []).map(function (r, i) {
      // an <ol type="A"> item's value is its letter's place in the alphabet: J (10) for the ninth, as the editor says
      return L.el("li", {value: String(L.responseLetter(i).charCodeAt(0) - 64)}, [L.el("strong", {text: r.model || String(r.id)}), L.el("br"), V.text(r.text)]);
    })));
  } else if (family === "demonstration") {
    dataView.append(V.text(task.data.prompt));
    if (task.data.system) dataView.append(L.el("p", {class: "muted small", text: "System: " + task.data.system}));
  } else if (config.media === "image") {
    dataView.append(V.image(task.data.image, [], false));
  } else {
    dataView.append(V.text(task.data.text));
  }

  /* ---- the consensus ------------------------------------------------------------------------------ */
  function summary(value) {
    if (family === "boxes") {
      var boxes = (value && value.boxes) || [];
      return L.el("div", {}, [L.el("span", {class: "muted", text: boxes.length + " box" + (boxes.length === 1 ? "" : "es") + " "}),
                              V.chips(boxes.map(function (b) { return b.label; }))]);
    }
    if (family === "spans") {
      var spans = (value && value.spans) || [];
      var chars = Array.from(String(task.data.text || ""));
      var chips = L.el("span", {class: "label-chips"}, spans.slice(0, CHIPS).map(function (s) {
        return L.paint(L.el("span", {class: "label-chip", text: s.label + ": " + chars.slice(s.start, s.end).join("")}), s.label);
      }));
      if (spans.length <= CHIPS) return chips;
      return L.el("div", {}, [chips, L.el("p", {class: "muted small more-spans", text: "and " +
        (spans.length - CHIPS).toLocaleString() + " more, on the text (" + spans.length.toLocaleString() + " spans: " +
        byLabel(spans) + ")"})]);
    }
    return V.answer(config, task.data, value, {withData: false});
  }
  function noConsensus() {
    if (family === "demonstration") {
      return "Demonstrations are not combined into one answer: each counted answer is an example of its own (below).";
    }
    if (task.state === "complete") return "No consensus: none of this task's answers counts.";
    return "No consensus yet: the task waits for its answers.";
  }
  $("consensus-view").append(shown ? summary(shown) : L.el("p", {class: "muted", id: "no-consensus", text: noConsensus()}));
  if (review && review.kind === "override" && crowd) {
    $("crowd-view").append(L.el("p", {class: "muted small", text: "The crowd's consensus:"}), summary(crowd));
  }

  /* ---- each worker's answer ------------------------------------------------------------------------ */
  /** "PER 12,000 · LOC 8,000": how many of these spans or boxes have each label, most first. */
  function byLabel(items) {
    var counts = {};
    items.forEach(function (x) { counts[x.label] = (counts[x.label] || 0) + 1; });
    return Object.keys(counts).sort(function (x, y) { return counts[y] - counts[x] || (x < y ? -1 : 1); })
      .map(function (label) { return label + " " + counts[label].toLocaleString(); }).join(" · ");
  }
  function itemKey(x) { return family === "spans" ? [x.start, x.end, x.label].join(":") : [x.label, x.x, x.y, x.w, x.h].join(":"); }
  /** A large answer folded: what it holds, and its drawing made when first opened. */
  function folded(items, draw) {
    var same = {}, matching = 0, noun = family === "spans" ? "spans" : "boxes";
    ((shown && shown[noun]) || []).forEach(function (x) { same[itemKey(x)] = true; });
    items.forEach(function (x) { if (same[itemKey(x)]) matching++; });
    var details = L.el("details", {class: "answer-fold"}, [L.el("summary", {text: "Show its " + noun + " on the " +
      (family === "spans" ? "text" : "image")})]);
    details.addEventListener("toggle", function () {
      if (details.open && !details.dataset.drawn) { details.dataset.drawn = "true"; details.append(draw()); }
    });
    return L.el("div", {class: "answer-folded"}, [
      L.el("p", {class: "fold-counts", text: items.length.toLocaleString() + " " + noun + ": " + byLabel(items)}),
      L.el("p", {class: "muted small fold-match", text: shown ? matching.toLocaleString() + " of them as in " + shownName
        : "No " + shownName.replace("the ", "") + " to compare with yet."}), details]);
  }
  document.querySelectorAll(".answer-card").forEach(function (card) {
    var i = Number(card.dataset.index), a = answers[i], color = V.workerColor(i);
    card.style.setProperty("--c", color);
    var onData = family === "boxes" || family === "spans";
    var draw = function () {
      return V.answer(config, task.data, a.answer, {color: onData ? color : null, name: a.username, withData: onData,
                                                    thumb: false, most: MOST, letters: a.meta && a.meta.letters});
    };
    var items = onData && a.answer ? a.answer[family === "spans" ? "spans" : "boxes"] || [] : [];
    card.querySelector(".answer-slot").append(items.length > FOLD ? folded(items, draw) : draw());
    var button = card.querySelector(".exclude-btn");
    if (button) {
      button.addEventListener("click", function () {
        var excluding = button.dataset.excluded === "true";
        act("POST", api + "/answers/" + a.id + "/exclude", {excluded: excluding}, button,
            {text: (excluding ? "Left out of the consensus: " : "Counted in the consensus again: ") + "the answer of " +
                   a.username + ".", focus: "answer-" + a.id});
      });
    }
  });

  /* ---- actions -------------------------------------------------------------------------------------- */
  var status = $("action-status");
  /* Each action reloads the page (its figures all change): what was done is said after the reload, and the
     keyboard's focus goes back to where it was (the review's state, or the answer's button) instead of the top. */
  function remember(done) {
    try { sessionStorage.setItem("task-done", JSON.stringify({task: task.id, text: done.text, focus: done.focus})); }
    catch (e) { /* storage disabled: the page shows the new state, unsaid */ }
  }
  (function said() {
    var done = null;
    try { done = JSON.parse(sessionStorage.getItem("task-done") || "null"); sessionStorage.removeItem("task-done"); }
    catch (e) { done = null; }
    if (!done || done.task !== task.id) return;
    status.hidden = false;
    status.classList.remove("error");
    status.textContent = done.text;
    var target = done.focus && done.focus.indexOf("answer-") === 0
      ? document.querySelector('.answer-card[data-annotation-id="' + done.focus.slice(7) + '"] .exclude-btn')
      : $("review-state") || $("more-btn");
    if (target) {
      if (!target.matches("button")) target.tabIndex = -1;
      target.focus();
    }
  })();
  /** What a review action says once done, as the page words it for its task type. */
  function said(action) {
    var actions = document.querySelector(".review-actions");
    return (actions && actions.getAttribute("data-" + action)) || "Saved.";
  }
  function act(method, url, body, button, done) {
    if (button) button.disabled = true;
    status.hidden = false;
    status.classList.remove("error");
    status.textContent = "Saving…";
    return C.api(method, url, body).then(function (res) {
      if (res.error) {
        status.textContent = res.error.message;
        status.classList.add("error");
        if (button) button.disabled = false;
        return res;
      }
      status.textContent = "Saved.";
      if (done) remember(done);
      window.location.reload();
      return res;
    });
  }
  if ($("accept-btn")) $("accept-btn").addEventListener("click", function (e) {
    act("POST", api + "/accept", undefined, e.currentTarget, {text: said("accepted"), focus: "review"});
  });
  if ($("more-btn")) $("more-btn").addEventListener("click", function (e) {
    /* the count the page shows, plus one: a request sent again (or a second tab's) asks for it once */
    var needed = parseInt(e.currentTarget.getAttribute("data-needed"), 10);
    act("POST", api + "/more-answers", {needed: needed}, e.currentTarget, {text: "Asked for one more answer: the task is open again.", focus: "review"});
  });

  /* ---- the override editor ---------------------------------------------------------------------------- */
  var editorBox = $("editor"), editorStatus = $("editor-status");
  function editorMessage(text, kind) {
    editorStatus.hidden = !text;
    editorStatus.textContent = text || "";
    editorStatus.classList.toggle("error", kind === "error");
  }
  /** What the editor starts from, in an answer's shape: a ranking consensus rates each response with a summary
      ({median, mean, ...}) where an answer has a whole number 1-7 (the summary went back as it was, so saving the
      consensus unchanged was refused: "answer.ratings.a must be a whole number"); the median, rounded, is kept. */
  function asAnswer(value) {
    if (!value || !value.ratings || typeof value.ratings !== "object") return value;
    var ratings = {};
    Object.keys(value.ratings).forEach(function (id) {
      var r = value.ratings[id], n = typeof r === "number" ? r : (r && typeof r.median === "number" ? r.median : null);
      if (n !== null) ratings[id] = Math.min(7, Math.max(1, Math.round(n)));
    });
    return Object.assign({}, value, {ratings: ratings});
  }
  function openEditor() {
    if (!editor) { status.hidden = false; status.textContent = "The editor for this task type could not load."; return; }
    editorBox.hidden = false;
    $("override-btn").setAttribute("aria-expanded", "true");
    if (!editorReady) {
      editor.init({config: {project_id: config.project_id, task_type: config.task_type, labels: config.labels,
                            label_styles: config.label_styles, options: config.options || {}}, message: editorMessage});
      editorReady = true;
    }
    editor.load({id: task.id, data: task.data, predictions: asAnswer(shown), media: {}}, {seed: task.id, inOrder: true});
    editorBox.scrollIntoView({block: "start"});
    var focus = editorBox.querySelector("textarea, .label-btn, button");
    if (editor.focus) editor.focus(); else if (focus) focus.focus();
  }
  function closeEditor() {
    editorBox.hidden = true;
    $("override-btn").setAttribute("aria-expanded", "false");
    $("override-btn").focus();
  }
  function saveOverride() {
    var out = editor.answer();
    if (out.error) { editorMessage(out.error, "error"); return; }
    editorMessage("Saving…", "");
    C.api("POST", api + "/override", {answer: out.answer}).then(function (res) {
      if (res.error) { editorMessage(res.error.message, "error"); return; }
      remember({text: said("overridden"), focus: "review"});
      window.location.reload();
    });
  }
  if (editorBox) {
    $("override-btn").addEventListener("click", openEditor);
    $("override-cancel").addEventListener("click", closeEditor);
    $("override-save").addEventListener("click", saveOverride);
    document.addEventListener("keydown", function (e) {
      if (editorBox.hidden || e.defaultPrevented || e.isComposing) return;
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveOverride(); return; }
      var t = e.target;
      var typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
      if (e.key === "Escape" && !typing) { closeEditor(); return; }
      var undo = !typing && L.undoKey(e);
      if (undo && editor && editor.undo) {
        e.preventDefault(); // the worker page's undo and redo, in the editor it shares
        L.undoStep(editor, undo, editorMessage);
        return;
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (editor && editor.onKey && editor.onKey(e)) e.preventDefault();
    });
  }
})();
