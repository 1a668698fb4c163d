/* Preference ranking: the prompt, the responses in a per-worker shuffled order (letters A, B, ...),
 * a ranking built by keys or by dragging (ties allowed), optional 1-7 ratings and a rationale.
 * The answer names responses by their ids, never by their position on screen. */
(function () {
  "use strict";
  var L = window.Labeling;
  var ORDINALS = ["1st", "2nd", "3rd"];
  var ctx, promptEl, cardsEl, tiersEl, poolEl, rationale;
  var shown = [], letterOf = {}, tiers = [], ratings = {}, selected = null, drag = null, justDragged = false, history;

  function ordinal(n) { return ORDINALS[n - 1] || n + "th"; }
  var LETTERS = L.RESPONSE_LETTERS, letter = L.responseLetter;

  /** The letters of the first n responses as keys, runs written as ranges: A–H, J–K. */
  function keyList(n) {
    var used = LETTERS.slice(0, Math.min(n, LETTERS.length)), runs = [], nodes = [];
    for (var i = 0; i < used.length; i++) {
      var run = runs[runs.length - 1];
      if (run && used.charCodeAt(i) === run.charCodeAt(run.length - 1) + 1) runs[runs.length - 1] += used[i];
      else runs.push(used[i]);
    }
    runs.forEach(function (r, k) {
      if (k) nodes.push(", ");
      if (r.length > 2) nodes.push(L.el("kbd", {text: r[0]}), "–", L.el("kbd", {text: r[r.length - 1]}));
      else r.split("").forEach(function (c, j) { if (j) nodes.push(", "); nodes.push(L.el("kbd", {text: c})); });
    });
    return nodes;
  }
  function tierOf(id) {
    for (var k = 0; k < tiers.length; k++) if (tiers[k].indexOf(id) >= 0) return k;
    return -1;
  }
  function unranked() { return shown.filter(function (r) { return tierOf(r.id) < 0; }); }
  function byId(id) { return shown.filter(function (r) { return r.id === id; })[0]; }

  /* ---- changing the ranking ------------------------------------------------------------------ */

  function takeOut(id) {
    var k = tierOf(id);
    if (k < 0) return -1;
    tiers[k].splice(tiers[k].indexOf(id), 1);
    if (!tiers[k].length) { tiers.splice(k, 1); return -2 - k; } // the tier vanished (callers may shift indexes)
    return k;
  }

  /** Put id in a new place of its own at position `at` (0 = best). */
  function putAt(id, at) {
    var removed = takeOut(id);
    if (removed <= -2 && -2 - removed < at) at -= 1; // its old place above vanished
    tiers.splice(clampInt(at, 0, tiers.length), 0, [id]);
  }
  /** Tie id with the responses of place `tier`. */
  function tieWith(id, tier) {
    var target = tiers[tier];
    if (!target || target.indexOf(id) >= 0) return;
    takeOut(id);
    target.push(id);
  }
  function clampInt(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  /** Up or down one notch: a place of its own and a tie with the neighbour alternate. */
  function step(id, direction) {
    var k = tierOf(id);
    if (k < 0) return;
    var alone = tiers[k].length === 1;
    if (!alone) {
      tiers[k].splice(tiers[k].indexOf(id), 1);
      tiers.splice(direction < 0 ? k : k + 1, 0, [id]);
      return;
    }
    var neighbour = k + direction;
    if (neighbour < 0 || neighbour >= tiers.length) return;
    tiers.splice(k, 1);
    tiers[direction < 0 ? k - 1 : k].push(id);
  }

  /** "=": tie with the place above; pressed again (now tied), its own place just below the group. False when
   *  nothing changed, and the worker is told why. */
  function toggleTie(id) {
    var k = tierOf(id);
    if (k < 0) { ctx.message("Rank the response first, then tie it.", "warn"); return false; }
    if (tiers[k].length > 1) {
      tiers[k].splice(tiers[k].indexOf(id), 1);
      tiers.splice(k + 1, 0, [id]);
    } else if (k > 0) {
      tiers.splice(k, 1);
      tiers[k - 1].push(id);
    } else {
      ctx.message("The best response has nothing above it to tie with.", "warn");
      return false;
    }
    return true;
  }

  function describe() {
    if (!tiers.length) return "Nothing ranked yet.";
    return "Ranking: " + tiers.map(function (t) { return t.map(function (id) { return letterOf[id]; }).join(" = "); }).join("  >  ");
  }

  function changed(note) {
    render();
    ctx.message(note || describe(), "");
  }

  /* ---- drawing ---------------------------------------------------------------------------- */

  function chip(id) {
    var r = byId(id);
    var title = "Response " + letterOf[id] + " (" + r.text.slice(0, 80) + "): click to rank it next, or drag it to a place";
    return L.el("button", {type: "button", class: "chip" + (id === selected ? " selected" : ""),
                           dataset: {dragId: id, chip: id}, title: title,
                           onclick: function () { if (!justDragged) tapChip(id); }}, [
      L.el("span", {class: "chip-letter", text: letterOf[id]}),
      L.el("span", {class: "chip-text", dir: "auto", text: r.text.slice(0, 60)}),
    ]);
  }

  /** A tap (or click) on a chip: one not ranked yet goes to the next place (a phone needs no drag); else select it. */
  function tapChip(id) {
    selected = id;
    if (tierOf(id) < 0) { putAt(id, tiers.length); changed(); } else render();
  }

  function gap(at, last) {
    return L.el("li", {class: "gap" + (last ? " gap-end" : ""), dataset: {drop: "gap:" + at},
                       "aria-hidden": "true"}, last ? [L.el("span", {text: tiers.length ? "next place" : "1st place"})] : []);
  }

  function render() {
    var rows = [];
    tiers.forEach(function (tier, k) {
      rows.push(gap(k, false));
      rows.push(L.el("li", {class: "tier", dataset: {drop: "tier:" + k, tier: k}}, [
        L.el("span", {class: "tier-place", text: ordinal(k + 1) + (tier.length > 1 ? " (tie)" : "")}),
        L.el("span", {class: "tier-items"}, tier.map(chip)),
      ]));
    });
    if (unranked().length) rows.push(gap(tiers.length, true));
    tiersEl.replaceChildren.apply(tiersEl, rows);
    var rest = unranked();
    poolEl.replaceChildren.apply(poolEl, rest.map(function (r) { return chip(r.id); }));
    poolEl.parentNode.classList.toggle("done", rest.length === 0);
    shown.forEach(function (r) {
      var card = cardsEl.querySelector('[data-card="' + CSS.escape(r.id) + '"]');
      if (!card) return;
      var k = tierOf(r.id);
      card.classList.toggle("selected", r.id === selected);
      card.classList.toggle("ranked", k >= 0);
      card.querySelector(".rank-status").textContent =
        k < 0 ? "not ranked" : ordinal(k + 1) + (tiers[k].length > 1 ? ", tied" : "");
      card.querySelectorAll(".rate").forEach(function (b) {
        b.setAttribute("aria-pressed", String(ratings[r.id] === Number(b.dataset.value)));
      });
    });
    history.commit(); // a change of the ranking or the ratings is a step Ctrl+Z undoes (the rationale has its own)
  }

  function card(r, i) {
    var rate = L.el("div", {class: "rating", role: "group", "aria-label": "Rating of response " + letter(i) + ", 1 to 7"}, [
      L.el("span", {class: "rating-label", text: "Rating"}),
    ]);
    for (var v = 1; v <= 7; v++) {
      rate.append(L.el("button", {type: "button", class: "rate", "aria-pressed": "false", dataset: {value: v},
                                  title: v === 1 ? "1: very bad" : v === 7 ? "7: excellent" : String(v), text: String(v),
                                  onclick: (function (value) { return function () { rateResponse(r.id, value); }; })(v)}));
    }
    return L.el("article", {class: "response", dataset: {card: r.id}, "aria-label": "Response " + letter(i)}, [
      L.el("header", {class: "response-head", dataset: {dragId: r.id},
                      title: i < LETTERS.length ? "Press " + letter(i) + " to put this response next in the ranking" : null,
                      onclick: function () { if (!justDragged) { selected = r.id; render(); } }}, [
        L.el("span", {class: "response-letter", text: letter(i)}),
        L.el("span", {class: "rank-status", text: "not ranked"}),
      ]),
      L.el("div", {class: "response-text", dir: "auto", text: L.shown(r.text)}),
      rate,
    ]);
  }

  /** Bring the selected card's part the keys just changed (its head, or its ratings) into view above the ranking
   *  panel, which sticks to the bottom of the screen: a card chosen or rated by keys could sit under it, out of
   *  sight. The panel's height changes as the ranking grows, so the clearance is measured each time. */
  function reveal(part) {
    var card = selected === null ? null : cardsEl.querySelector('[data-card="' + CSS.escape(selected) + '"]');
    var target = card && card.querySelector(part);
    if (!target) return;
    var panel = document.querySelector(".rank-panel");
    cardsEl.style.setProperty("--panel-clearance", ((panel ? panel.offsetHeight : 0) + 8) + "px");
    target.scrollIntoView({block: "nearest"});
  }

  function rateResponse(id, value) {
    if (ratings[id] === value) delete ratings[id]; else ratings[id] = value;
    selected = id;
    render();
    ctx.message(ratings[id] ? "Rated " + letterOf[id] + ": " + value + " of 7." : "Rating of " + letterOf[id] + " cleared.", "");
  }

  /** The ranking, ratings and rationale as far as they go. */
  function sofar() {
    var answer = {ranking: tiers.map(function (t) { return t.slice(); })};
    if (Object.keys(ratings).length) answer.ratings = Object.assign({}, ratings);
    if (rationale.value.trim()) answer.rationale = rationale.value.trim();
    return answer;
  }

  /* ---- dragging (pointer events: works with a mouse, a pen or a finger) ------------------- */

  function dropTarget(x, y) {
    var hit = document.elementFromPoint(x, y);
    var zone = hit && hit.closest("[data-drop]");
    if (zone) return zone;
    var cardEl = hit && hit.closest("[data-card]"); // dropping on a response card ties with it
    if (cardEl && tierOf(cardEl.dataset.card) >= 0) return tiersEl.querySelector('[data-tier="' + tierOf(cardEl.dataset.card) + '"]');
    return null;
  }

  function onPointerDown(e) {
    var source = e.target.closest("[data-drag-id]");
    if (!source || e.button !== 0 || e.target.closest(".rate")) return;
    drag = {id: source.dataset.dragId, x: e.clientX, y: e.clientY, started: false, ghost: null, over: null, pointerId: e.pointerId};
  }

  function onPointerMove(e) {
    if (!drag || e.pointerId !== drag.pointerId) return;
    if (!drag.started) {
      if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) < 6) return;
      drag.started = true;
      drag.ghost = L.el("div", {class: "drag-ghost", "aria-hidden": "true"}, [chip(drag.id)]);
      document.body.append(drag.ghost);
      document.body.classList.add("dragging");
      window.getSelection().removeAllRanges();
    }
    e.preventDefault();
    drag.ghost.style.transform = "translate(" + (e.clientX + 8) + "px, " + (e.clientY + 8) + "px)";
    var zone = dropTarget(e.clientX, e.clientY);
    if (zone !== drag.over) {
      if (drag.over) drag.over.classList.remove("over");
      if (zone) zone.classList.add("over");
      drag.over = zone;
    }
  }

  function onPointerUp(e) {
    if (!drag || e.pointerId !== drag.pointerId) return;
    var done = drag;
    drag = null;
    if (!done.started) return;
    var zone = dropTarget(e.clientX, e.clientY); // before the drop zones shrink back
    done.ghost.remove();
    document.body.classList.remove("dragging");
    justDragged = true;
    setTimeout(function () { justDragged = false; }, 0); // swallow the click that ends a drag
    if (!zone) return;
    var parts = zone.dataset.drop.split(":");
    if (parts[0] === "gap") putAt(done.id, Number(parts[1]));
    else if (parts[0] === "tier") tieWith(done.id, Number(parts[1]));
    else if (parts[0] === "pool") takeOut(done.id);
    selected = done.id;
    changed();
  }

  /* ---- keys --------------------------------------------------------------------------------- */

  function onKey(e) {
    var key = e.key;
    if (key.length === 1 && /[a-z]/i.test(key) && !e.shiftKey) {
      var i = LETTERS.indexOf(key.toUpperCase());
      if (i >= 0 && i < shown.length) {
        var id = shown[i].id;
        putAt(id, tiers.length); // next place (again: moved to the end)
        selected = id;
        changed();
        reveal(".response-head");
        return true;
      }
      return false;
    }
    var digit = /^Digit([0-7])$/.exec(e.code || "");
    if (digit && selected !== null && !e.shiftKey) {
      var value = Number(digit[1]);
      if (value === 0) { delete ratings[selected]; render(); ctx.message("Rating of " + letterOf[selected] + " cleared.", ""); }
      else rateResponse(selected, value);
      reveal(".rating");
      return true;
    }
    if (key === "=" || key === "+") {
      if (selected !== null && toggleTie(selected)) changed(); // else its warning stays said
      return true;
    }
    if ((key === "ArrowUp" || key === "ArrowDown") && selected !== null) {
      if (tierOf(selected) < 0) putAt(selected, tiers.length); else step(selected, key === "ArrowUp" ? -1 : 1);
      changed();
      return true;
    }
    if ((key === "ArrowLeft" || key === "ArrowRight") && shown.length) {
      var at = shown.findIndex(function (r) { return r.id === selected; });
      at = key === "ArrowRight" ? (at + 1) % shown.length : (at <= 0 ? shown.length - 1 : at - 1);
      selected = shown[at].id;
      render();
      reveal(".response-head");
      return true;
    }
    if (key === "Backspace" || key === "Delete") {
      var target = selected !== null && tierOf(selected) >= 0 ? selected : null;
      if (target === null && tiers.length) target = tiers[tiers.length - 1][tiers[tiers.length - 1].length - 1];
      if (target !== null) { takeOut(target); selected = target; changed(); }
      return true;
    }
    if (key === "Escape") { selected = null; render(); return true; }
    return false;
  }

  L.register({
    init: function (context) {
      ctx = context;
      promptEl = document.getElementById("prompt-text");
      cardsEl = document.getElementById("responses");
      tiersEl = document.getElementById("tiers");
      poolEl = document.getElementById("pool-items");
      rationale = document.getElementById("rationale");
      history = new L.History(function () { return {tiers: tiers, ratings: ratings}; }, function (state) {
        tiers = state.tiers;
        ratings = state.ratings;
        selected = null;
        render();
      });
      var work = document.getElementById("work");
      work.addEventListener("pointerdown", onPointerDown);
      document.addEventListener("pointermove", onPointerMove);
      document.addEventListener("pointerup", onPointerUp);
      document.addEventListener("pointercancel", function () {
        if (drag && drag.ghost) drag.ghost.remove();
        document.body.classList.remove("dragging");
        drag = null;
      });
    },
    load: function (task, info) {
      var responses = task.data.responses;
      // A worker sees the responses in an order of their own (position bias); the console's override editor keeps
      // the data's order, so its letters are those the task page names the responses and the answers by.
      shown = info.inOrder ? responses.slice() : L.shuffled(responses, info.seed);
      letterOf = {};
      shown.forEach(function (r, i) { letterOf[r.id] = letter(i); });
      promptEl.textContent = L.shown(task.data.prompt);
      cardsEl.replaceChildren.apply(cardsEl, shown.map(card));
      cardsEl.classList.toggle("stacked", shown.length > 3);
      cardsEl.style.setProperty("--columns", String(Math.min(shown.length, 3)));
      tiersEl.closest(".rank-panel").classList.toggle("many", shown.length > 6);
      document.querySelectorAll(".rank-keys").forEach(function (node) {
        node.replaceChildren.apply(node, keyList(shown.length));
      });
      tiers = [];
      ratings = {};
      selected = null;
      rationale.value = "";
      var p = task.predictions, prefilled = false;
      if (p && Array.isArray(p.ranking)) {
        tiers = p.ranking.map(function (t) { return t.map(String).filter(function (id) { return letterOf[id]; }); })
          .filter(function (t) { return t.length; });
        prefilled = tiers.length > 0;
      }
      if (p && p.ratings) Object.keys(p.ratings).forEach(function (id) { if (letterOf[id]) { ratings[id] = p.ratings[id]; prefilled = true; } });
      if (p && typeof p.rationale === "string") { rationale.value = p.rationale; prefilled = prefilled || !!p.rationale; }
      history.reset();
      render();
      return prefilled;
    },
    answer: function () {
      var rest = unranked();
      if (rest.length) {
        return {error: "Rank every response first: " + rest.map(function (r) { return letterOf[r.id]; }).join(", ") +
                       (rest.length === 1 ? " is" : " are") + " not ranked yet."};
      }
      return {answer: sofar()};
    },
    /** A ranking not finished yet is no answer, but it is work to keep over a reload (load takes it back). */
    draft: sofar,
    onKey: onKey,
    undo: function (redo) { return history.step(redo); },
    /** The order the responses were shown in and their letters: rationales say "B", position bias needs both. */
    meta: function () {
      return {shown_order: shown.map(function (r) { return r.id; }), letters: Object.assign({}, letterOf)};
    },
    clear: function () {
      shown = []; tiers = []; ratings = {}; cardsEl.replaceChildren(); tiersEl.replaceChildren(); poolEl.replaceChildren(); history.reset();
    },
  });
})();
