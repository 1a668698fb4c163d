/* labeling worker UI: the queue loop shared by every task type (vanilla JS, no build step).
 *
 * The page asks the JSON API for a task, hands it to the task type's module (registered with
 * Labeling.register), and on submit stores the answer and asks for the next one, without page loads.
 * Task text only ever reaches the page through textContent and DOM APIs, never as HTML.
 */
(function () {
  "use strict";

  var L = (window.Labeling = window.Labeling || {});
  var impl = null;
  var config = null;
  var csrf = "";
  var $ = function (id) { return document.getElementById(id); };

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

  /** Label buttons with number-key hints, colours, and a "/" finder for long label lists. */
  L.LabelPicker = function (container, labels, onPick) {
    var self = this;
    this.labels = labels;
    this.onPick = onPick;
    this.buttons = labels.map(function (label, i) {
      return L.el("button", {
        type: "button", class: "label-btn c" + (i % 10), "aria-pressed": "false", dataset: {index: i},
        title: keyName(i) ? label + " (" + keyName(i).replace("⇧", "Shift+") + ")" : label,
        onclick: function () { self.onPick(label, i); },
      }, [L.el("kbd", {text: keyName(i) || "·"}), L.el("span", {class: "name", text: label})]);
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
    if (index < 0 || index >= this.labels.length) return false;
    this.onPick(this.labels[index], index);
    return true;
  };

  /* ---- talking to the API -------------------------------------------------------------------- */

  function describeStatus(status) {
    if (status >= 500) return "The server had a problem (error " + status + "). Wait a moment, then try again.";
    if (status === 413) return "The answer is too large for the server to accept.";
    return "The server refused the request (error " + status + ").";
  }

  /** fetch() with the session cookie and CSRF header; resolves to {status, data} or {status, error}. */
  L.api = function (method, path, body, headers) {
    var h = {"Accept": "application/json", "X-CSRF-Token": csrf};
    if (body !== undefined) h["Content-Type"] = "application/json";
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(path, {
      method: method, credentials: "same-origin", headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (res) {
      var isJson = (res.headers.get("content-type") || "").indexOf("json") >= 0;
      var parsed = res.status !== 204 && isJson ? res.json().catch(function () { return null; }) : Promise.resolve(null);
      return parsed.then(function (data) {
        if (res.ok) return {status: res.status, data: data};
        var error = data && data.error ? data.error : {code: "http_" + res.status, message: describeStatus(res.status)};
        if (!error.message) error.message = describeStatus(res.status);
        return {status: res.status, error: error};
      });
    }, function () {
      return {status: 0, error: {code: "network", message: "Could not reach the server. Check your connection, then try again."}};
    });
  };

  /* ---- page state ---------------------------------------------------------------------------- */

  var C = {state: "loading", current: null, busy: false, done: 0, timer: null, leaseEnd: 0, leaseTotal: 0,
           expiredShown: false, warned: false, pendingSubmit: false};
  var STATES = ["loading", "empty", "blocked", "error"];

  function setState(name) {
    C.state = name;
    STATES.forEach(function (s) { $("state-" + s).hidden = s !== name; });
    // While the next task loads, the finished one stays on screen (dimmed), so nothing flickers.
    var keepWork = name === "working" || (name === "loading" && !$("work").hidden);
    $("work").hidden = !keepWork;
    $("state-loading").hidden = name !== "loading" || keepWork;
    $("work").classList.toggle("is-loading", name === "loading");
    $("actionbar").hidden = !(name === "working" || (name === "loading" && keepWork));
    document.body.dataset.state = name;
    if (name !== "working") { $("lease").hidden = true; }
    setBusy(name === "loading");
  }

  function setBusy(busy) {
    $("submit-btn").disabled = busy;
    $("skip-btn").disabled = busy;
  }

  /** A line in the action bar: kind is "", "error", "warn" or "ok". */
  function message(text, kind) {
    var m = $("message");
    m.textContent = text || "";
    m.className = "message" + (kind ? " " + kind : "");
    m.setAttribute("role", kind === "error" ? "alert" : "status");
  }
  L.message = message;

  function showBanner(text, actionText, action, secondaryText, secondary) {
    var banner = $("banner");
    $("banner-text").textContent = text;
    var a = $("banner-action"), b = $("banner-secondary");
    a.textContent = actionText;
    a.onclick = action;
    a.disabled = false;
    b.hidden = !secondaryText;
    b.textContent = secondaryText || "";
    b.onclick = secondary || null;
    banner.hidden = false;
    a.focus({preventScroll: true});
  }

  function hideBanner() { $("banner").hidden = true; }

  function showError(text) {
    $("state-error-text").textContent = text;
    setState("error");
    $("state-error-retry").focus({preventScroll: true});
  }

  function signedOut() {
    C.current = null;
    showError("Your session has ended. Sign in again to go on; nothing unsaved could be kept.");
    $("state-error-retry").textContent = "Sign in";
    $("state-error-retry").onclick = function () {
      location.href = "/login?next=" + encodeURIComponent(location.pathname);
    };
  }

  /* ---- the lease countdown ----------------------------------------------------------------- */

  function formatSeconds(seconds) {
    var s = Math.ceil(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }

  function startLease(lease) {
    var seconds = typeof lease.expires_in === "number" ? lease.expires_in : config.lease_seconds;
    C.leaseEnd = performance.now() + seconds * 1000;
    C.leaseTotal = Math.max(1, config.lease_seconds || seconds);
    C.expiredShown = false;
    C.warned = false;
    $("lease").hidden = false;
    tick();
    if (!C.timer) C.timer = setInterval(tick, 250);
  }

  function leftSeconds() { return Math.max(0, (C.leaseEnd - performance.now()) / 1000); }

  function tick() {
    var lease = $("lease");
    if (!C.current || C.state !== "working") return;
    var left = leftSeconds();
    var warnAt = Math.min(60, C.leaseTotal * 0.2);
    var warn = left > 0 && left <= warnAt;
    $("lease-time").textContent = left > 0 ? formatSeconds(left) : "expired";
    lease.classList.toggle("warn", warn);
    lease.classList.toggle("expired", left <= 0);
    $("lease-extend").hidden = !warn;
    if (warn && !C.warned) {
      C.warned = true;
      message("Less than " + formatSeconds(warnAt) + " left on this task's lease: submit soon, or press Extend.", "warn");
    }
    if (left <= 0 && !C.expiredShown) {
      C.expiredShown = true;
      leaseExpired(false);
    }
  }

  function leaseExpired(fromSubmit) {
    C.pendingSubmit = fromSubmit;
    C.expiredShown = true;
    $("lease-time").textContent = "expired";
    $("lease").classList.add("expired");
    message("");
    showBanner(fromSubmit
      ? "The lease on this task ran out before your answer was saved. Your work is still here: try again to renew the lease and save it."
      : "The lease on this task has run out. Your work is still here: try again to renew the lease and carry on.",
      "Try again", retryLease, "Skip to the next task", loadNext);
  }

  function retryLease() {
    if (C.busy || !C.current) return;
    var current = C.current;
    C.busy = true;
    $("banner-action").disabled = true;
    L.api("POST", "/api/assignments/" + current.assignmentId + "/renew").then(function (r) {
      C.busy = false;
      if (current !== C.current) return;
      if (r.status === 200) {
        hideBanner();
        startLease(r.data);
        if (C.pendingSubmit) { C.pendingSubmit = false; submit(); }
        else message("Lease renewed: the task is yours again.", "ok");
        return;
      }
      if (r.status === 401) return signedOut();
      if (r.status === 409 || r.status === 404) {
        showBanner("This task can no longer be saved: " + r.error.message + ". Your work on it is still shown; " +
          "go on when you are ready.", "Next task", loadNext);
        return;
      }
      if (r.error.code === "worker_blocked") return blocked(r.error.message);
      showBanner(r.error.message, "Try again", retryLease, "Skip to the next task", loadNext);
    });
  }

  function extendLease() {
    if (C.busy || !C.current) return;
    var current = C.current;
    L.api("POST", "/api/assignments/" + current.assignmentId + "/renew").then(function (r) {
      if (current !== C.current) return;
      if (r.status === 200) { startLease(r.data); message("Lease extended.", "ok"); }
      else if (r.status === 401) signedOut();
      else message(r.error.message, "error");
    });
  }

  /* ---- the queue loop ------------------------------------------------------------------------ */

  function newKey(assignmentId) {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "ui-" + assignmentId + "-" + Array.prototype.map.call(bytes, function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  function blocked(text) {
    C.current = null;
    $("state-blocked-text").textContent = text;
    setState("blocked");
  }

  function loadNext() {
    hideBanner();
    C.current = null;
    C.pendingSubmit = false;
    setState("loading");
    return L.api("POST", "/api/projects/" + config.project_id + "/next").then(function (r) {
      if (r.status === 200) return show(r.data);
      if (r.status === 204) {
        if (impl.clear) impl.clear();
        setState("empty");
        $("check-again").focus({preventScroll: true});
        return;
      }
      if (r.status === 401) return signedOut();
      if (r.error.code === "worker_blocked") return blocked(r.error.message);
      $("state-error-retry").textContent = "Try again";
      $("state-error-retry").onclick = loadNext;
      showError(r.error.message);
    });
  }

  function show(lease) {
    C.current = {assignmentId: lease.assignment_id, task: lease.task, key: newKey(lease.assignment_id),
                 shownAt: performance.now()};
    mediaUrls = lease.task.media || {};
    message("");
    var prefilled = false;
    try {
      prefilled = !!impl.load(lease.task, {assignmentId: lease.assignment_id,
                                           seed: config.user_id + ":" + lease.task.id});
    } catch (err) {
      // A task this page cannot show is skipped by the worker, not a dead end.
      console.error(err);
      message("This task could not be shown (" + err.message + "). Skip it with S.", "error");
    }
    $("prefill-note").hidden = !prefilled;
    setState("working");
    startLease(lease);
    if (document.activeElement && document.activeElement !== document.body &&
        !document.activeElement.closest("#work")) document.activeElement.blur();
    $("label-main").scrollTop = 0;
    if (impl.focus) impl.focus();
  }

  function durationMs(current) {
    return Math.min(Math.round(performance.now() - current.shownAt), 7 * 86400 * 1000);
  }

  function submit() {
    if (C.state !== "working" || C.busy || !C.current) return;
    var built;
    try { built = impl.answer(); } catch (err) { built = {error: err.message}; }
    if (built.error) { message(built.error, "error"); return; }
    var current = C.current;
    C.busy = true;
    setBusy(true);
    message("Saving…");
    L.api("POST", "/api/assignments/" + current.assignmentId + "/submit",
          {answer: built.answer, duration_ms: durationMs(current)},
          {"Idempotency-Key": current.key}).then(function (r) {
      C.busy = false;
      setBusy(false);
      if (current !== C.current) return;
      if (r.status === 201) {
        C.done += 1;
        $("done-count").textContent = String(C.done);
        loadNext().then(function () { if (C.state === "working") message("Saved. Next task.", "ok"); });
        return;
      }
      actionFailed(r, "submit");
    });
  }

  function skip() {
    if (C.state !== "working" || C.busy || !C.current) return;
    var current = C.current;
    C.busy = true;
    setBusy(true);
    message("Skipping…");
    L.api("POST", "/api/assignments/" + current.assignmentId + "/skip").then(function (r) {
      C.busy = false;
      setBusy(false);
      if (current !== C.current) return;
      // 409: the lease had already expired or the task was submitted; either way, move on.
      if (r.status === 200 || r.status === 409) {
        loadNext().then(function () { if (C.state === "working") message("Skipped.", ""); });
        return;
      }
      actionFailed(r, "skip");
    });
  }

  function actionFailed(r, action) {
    var error = r.error;
    if (r.status === 401) return signedOut();
    if (error.code === "lease_expired") return leaseExpired(action === "submit");
    if (error.code === "worker_blocked") return blocked(error.message);
    if (r.status === 409 || r.status === 404) {
      showBanner(error.message + ".", "Next task", loadNext);
      return;
    }
    if (r.status === 400) {
      message("The answer was not accepted: " + error.message + (error.field ? " (" + error.field + ")" : ""), "error");
      return;
    }
    message(error.message + " Press " + (action === "submit" ? "Enter" : "S") + " to try again.", "error");
  }

  /* ---- keyboard ---------------------------------------------------------------------------- */

  function isTyping(target) {
    if (!target || !target.closest) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset", "range", "color"].indexOf(target.type) < 0;
  }

  function toggleInstructions() {
    var details = $("instructions");
    if (!details) return;
    details.open = !details.open;
  }

  function openHelp() {
    var dialog = $("help");
    if (!dialog.open) dialog.showModal();
  }

  function onKeyDown(e) {
    if (e.defaultPrevented || e.isComposing) return;
    var dialog = $("help");
    if (dialog.open) {
      if (e.key === "?") { e.preventDefault(); dialog.close(); }
      return; // Esc closes the dialog natively; Tab moves within it
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!$("banner").hidden) { $("banner-action").click(); return; }
      submit();
      return;
    }
    if (isTyping(e.target)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    // Buttons of the header, banners and state panels keep their native Enter and Space.
    if ((e.key === "Enter" || e.key === " ") && e.target.closest && e.target.closest("[data-native-keys]")) return;
    if (e.key === "?") { e.preventDefault(); openHelp(); return; }
    if (C.state !== "working") return;
    if (e.key === "Enter") { e.preventDefault(); if (!e.repeat) submit(); return; }
    if (!$("banner").hidden && e.key === "Escape") return;
    if (e.key === "s" || e.key === "S") { e.preventDefault(); skip(); return; }
    if (impl.onKey && impl.onKey(e)) { e.preventDefault(); return; }
    if (e.key === "i" || e.key === "I") { e.preventDefault(); toggleInstructions(); }
  }

  /* ---- start ------------------------------------------------------------------------------- */

  /** Called by the task type's script: {init, load, answer, onKey?, clear?, focus?}. */
  L.register = function (module) { impl = module; };

  function rememberInstructions() {
    var details = $("instructions");
    if (!details) return;
    var key = "labeling.instructions." + config.project_id;
    try {
      if (localStorage.getItem(key) === "closed") details.open = false;
      details.addEventListener("toggle", function () { localStorage.setItem(key, details.open ? "open" : "closed"); });
    } catch (err) { /* storage disabled: always open */ }
  }

  function boot() {
    config = JSON.parse($("label-config").textContent);
    csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
    if (!impl) { showError("This page could not start: its script for " + config.task_type + " is missing."); return; }
    impl.init({config: config, message: message});
    rememberInstructions();
    $("submit-btn").addEventListener("click", submit);
    $("skip-btn").addEventListener("click", skip);
    $("check-again").addEventListener("click", loadNext);
    $("help-open").addEventListener("click", openHelp);
    $("lease-extend").addEventListener("click", extendLease);
    $("state-error-retry").onclick = loadNext;
    document.addEventListener("keydown", onKeyDown);
    loadNext();
  }

  // Deferred scripts run before DOMContentLoaded, so the task type's module has registered by then.
  document.addEventListener("DOMContentLoaded", boot);
})();
