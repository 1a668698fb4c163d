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

  /* ---- talking to the API -------------------------------------------------------------------- */

  function describeStatus(status) {
    if (status >= 500) return "The server had a problem (error " + status + ").";
    if (status === 413) return "The answer is too large for the server to accept.";
    return "The server refused the request (error " + status + ").";
  }

  /** The API's words (lower case, no full stop: written for scripts) as a sentence of the page. */
  function sentence(text) {
    text = String(text).trim();
    return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?)]$/.test(text) ? "" : ".");
  }

  // A request the server never answers (a proxy or a server that hangs) left "Saving…" on screen for good, Submit
  // disabled: after this long it is given up, said, and may be tried again (a submit keeps its Idempotency-Key).
  L.timeoutMs = 30000;

  /** fetch() with the session cookie and CSRF header; resolves to {status, data} or {status, error}. */
  L.api = function (method, path, body, headers) {
    var h = {"Accept": "application/json", "X-CSRF-Token": csrf};
    if (body !== undefined) h["Content-Type"] = "application/json";
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    var abort = new AbortController(), timer = setTimeout(function () { abort.abort(); }, L.timeoutMs);
    return fetch(path, {
      method: method, credentials: "same-origin", headers: h, signal: abort.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (res) {
      clearTimeout(timer);
      var isJson = (res.headers.get("content-type") || "").indexOf("json") >= 0;
      var parsed = res.status !== 204 && isJson ? res.json().catch(function () { return null; }) : Promise.resolve(null);
      return parsed.then(function (data) {
        // A submit retried with its Idempotency-Key after its first try reached the server answers with that first
        // answer (replayed), not with the one sent now.
        if (res.ok) return {status: res.status, data: data, replayed: res.headers.get("Idempotent-Replayed") === "true"};
        var error = data && data.error ? data.error : {code: "http_" + res.status, message: ""};
        // A server error's own words ("internal server error; the server log has details") are the operator's.
        if (!error.message || res.status >= 500) error.message = describeStatus(res.status);
        return {status: res.status, error: error};
      });
    }, function () {
      clearTimeout(timer);
      if (abort.signal.aborted) {
        return {status: 0, error: {code: "timeout", message: "The server did not answer in " +
                                   Math.round(L.timeoutMs / 1000) + " seconds."}};
      }
      return {status: 0, error: {code: "network", message: "Could not reach the server: check your connection."}};
    });
  };

  /* ---- page state ---------------------------------------------------------------------------- */

  // current: what the page shows and Submit saves, either the queue lease (C.lease) or, while the worker
  // changes an earlier answer, that answer (C.editing says which of the list of earlier answers).
  // restore: {task, draft} the work on the task this page held before a reload, shown when that task comes back.
  var C = {state: "loading", current: null, lease: null, editing: null, draft: null, restore: null, busy: false,
           timer: null, leaseEnd: 0, leaseTotal: 0, expiredShown: false, warned: false, pendingSubmit: false,
           counts: null, refreshAt: 0};
  var STATES = ["loading", "empty", "blocked", "stopped", "error"];

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
    // While an answer is on its way the task stays as it was sent: a label picked then would show an answer that
    // is not the one saved.
    $("work").classList.toggle("is-busy", busy);
    $("submit-btn").disabled = busy || !!(C.current && C.current.readOnly);
    $("skip-btn").disabled = busy;
    $("report-btn").disabled = busy;
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
    // A worker typing keeps the text box: keys meant for the text would otherwise become shortcuts (S skips, and
    // Enter confirms it). Ctrl+Enter presses the banner's action from there.
    if (!isTyping(document.activeElement)) a.focus({preventScroll: true});
  }

  function hideBanner() { $("banner").hidden = true; }

  function showError(text) {
    $("state-error-text").textContent = text;
    setState("error");
    $("state-error-retry").focus({preventScroll: true});
  }

  /** The session has ended (signed out in another tab, or the account's sessions ended). A lease on screen is still
   *  this worker's on the server: its work stays shown, and is kept for the page after signing in again, which gets
   *  the task back with it (as after a reload). */
  function signedOut(error) {
    if (error && error.code === "account_deactivated") return stoppedForGood("account_deactivated");
    var lease = C.lease;
    if (C.state === "working" && lease && !lease.done) {
      lease.signedOut = true;  // no session to hand it back with, nor to renew it: its clock means nothing now
      $("lease").hidden = true;
      message("");
      showBanner("You are signed out (in another tab or window, or your session ended). Your work on this task is " +
        "kept: sign in again to save it.", "Sign in", toSignIn);
      return;
    }
    C.current = null;
    showError("Your session has ended. Sign in again to go on; nothing unsaved could be kept.");
    $("state-error-retry").textContent = "Sign in";
    $("state-error-retry").onclick = toSignIn;
  }

  function toSignIn() { location.href = "/login?next=" + encodeURIComponent(location.pathname); }

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
    if (!C.lease || C.lease.done || C.lease.signedOut || C.state !== "working" || C.editing) return;
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

  /** The lease is used or gone: other workers took the task while it had run out, or it was answered, skipped or
   *  handed back elsewhere (the same task open in another tab or window of this worker). Nothing here can be saved
   *  or handed back, and its clock means nothing now. */
  function leaseGone(error) {
    if (error.code === "project_archived") return stoppedForGood("project_archived");
    if (C.lease) C.lease.done = true;
    if (error.code !== "not_found") return saidGone(error);
    // Archiving a project takes its leases back, so the lease is just "not found": the project says whether that
    // is why (then nothing can be saved, and the worker is told so), else the possible reasons are said.
    var lease = C.lease;
    L.api("GET", "/api/projects/" + config.project_id).then(function (r) {
      if (lease !== C.lease) return;
      if (r.status === 200 && r.data.status === "archived") stoppedForGood("project_archived");
      else saidGone(error);
    });
  }

  function saidGone(error) {
    $("lease").hidden = true;
    message("");
    // Answered in another tab or window of this worker, most likely: its answers are this page's count too (it said
    // "You 0" beside an answer saved). Fetched again, not guessed: it may have been skipped there.
    counted(0);
    // A lease not found says nothing of why ("no assignment 194 of yours"): the worker is told what may have happened.
    var why = error.code === "not_found" ? "it is no longer yours (another tab or window of yours may have answered, " +
      "skipped or left it, or the requester removed it or closed the project to you)"
      // a lease that ran out is renewed only in an active project: the pause is why, not another tab
      : error.code === "project_paused" ? "its requester paused the project, and a lease that ran out is not " +
        "renewed until the project is active again"
      : error.message + (error.code === "lease_expired" ? "" : " (another tab or window of yours may have answered, " +
        "skipped or left it)");
    showBanner("This task can no longer be saved here: " + why + ". Your work on it is still shown; go on when you " +
      "are ready.", "Next task", function () { loadNext(); });
  }

  function retryLease() {
    if (C.busy || !C.lease) return;
    var current = C.lease;
    C.busy = true;
    $("banner-action").disabled = true;
    L.api("POST", "/api/assignments/" + current.assignmentId + "/renew").then(function (r) {
      C.busy = false;
      if (current !== C.lease) return;
      if (r.status === 200) {
        hideBanner();
        startLease(r.data);
        rememberLease(current);
        if (C.pendingSubmit) { C.pendingSubmit = false; submit(); }
        else message("Lease renewed: the task is yours again.", "ok");
        return;
      }
      if (r.status === 401) return signedOut(r.error);
      if (r.status === 409 || r.status === 404) return leaseGone(r.error);
      if (r.error.code === "worker_blocked") return blocked(r.error.message);
      showBanner(sentence(r.error.message), "Try again", retryLease, "Skip to the next task", loadNext);
    });
  }

  function extendLease() {
    if (C.busy || !C.lease) return;
    var current = C.lease;
    L.api("POST", "/api/assignments/" + current.assignmentId + "/renew").then(function (r) {
      if (current !== C.lease) return;
      if (r.status === 200) { startLease(r.data); rememberLease(current); message("Lease extended.", "ok"); }
      else if (r.status === 401) signedOut(r.error);
      else message(sentence(r.error.message), "error");
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
    C.current = C.lease = null;
    forgetLease();
    $("state-blocked-text").textContent = text;
    setState("blocked");
  }

  var STOPPED = {
    project_paused: ["This project is paused", "It hands out no tasks until its requester makes it active again."],
    project_archived: ["This project is archived", "It is finished: it hands out no more tasks."],
    not_found: ["This project is no longer open to you",
                "Its requester may have deleted it, or changed who may work on it. Your other projects are on your home page."],
  };

  /** The project is paused, archived, or no longer this worker's to see (its requester's choice, not an error): say
   *  so, and for a pause offer to look again. */
  function stopped(code) {
    var paused = code === "project_paused";
    $("state-stopped-title").textContent = STOPPED[code][0];
    $("state-stopped-text").textContent = STOPPED[code][1];
    $("stopped-check").hidden = !paused;
    setState("stopped");
    $(paused ? "stopped-check" : "stopped-home").focus({preventScroll: true});
  }

  /** What ended the work while it was on screen, in the API's words turned into the worker's: not a general "can
   *  no longer be saved" or "signed out", which the worker could neither understand nor act on. */
  var ENDED = {
    project_archived: ["This project was archived",
                       "Its requester archived it: it takes no more answers, so the work on screen could not be " +
                       "saved, and no more tasks come from it. Your other projects are on your home page."],
    account_deactivated: ["Your account was deactivated",
                          "An admin deactivated your account: work not yet submitted could not be saved, and no " +
                          "tasks come to you. Ask an admin to reactivate it, then sign in again."],
  };

  function stoppedForGood(code) {
    if (C.lease) C.lease.done = true;  // nothing to hand back: the server took the lease back already
    C.current = C.lease = null;
    forgetLease();
    hideBanner();
    $("lease").hidden = true;
    message("");
    $("state-stopped-title").textContent = ENDED[code][0];
    $("state-stopped-text").textContent = ENDED[code][1];
    $("stopped-check").hidden = true;
    setState("stopped");
    $("stopped-home").focus({preventScroll: true});
  }

  /** The query asking the queue for the task this page held first, with its lease's resume value; "" for none. */
  function preferQuery(held) {
    if (!held || typeof held.task !== "number" || typeof held.resume !== "string") return "";
    return "?prefer_task=" + held.task + "&resume=" + encodeURIComponent(held.resume);
  }

  /** Ask for the next task; `held` is the task this page held before a reload ({task, resume}: leased again if it
   *  may be; its lease's resume value shows the queue it was this worker's); afterAction: the page asks right after
   *  a submit or skip (the task that comes is not submitted unchanged at once: see freshMs). */
  function loadNext(held, afterAction) {
    hideBanner();
    C.current = C.lease = null;
    C.pendingSubmit = false;
    setState("loading");
    var query = preferQuery(held);
    return L.api("POST", "/api/projects/" + config.project_id + "/next" + query).then(function (r) {
      if (r.status === 200) {
        show(r.data);
        // Its answer as shown: a Submit that sends it unchanged at once was meant for the task before (see freshMs).
        if (afterAction && C.lease) C.lease.untouched = answerText();
        return;
      }
      forgetLease();
      if (r.status === 204) {
        if (impl.clear) impl.clear();
        setState("empty");
        $("check-again").focus({preventScroll: true});
        return;
      }
      if (r.status === 401) return signedOut(r.error);
      if (r.error.code === "worker_blocked") return blocked(r.error.message);
      if (STOPPED[r.error.code]) return stopped(r.error.code);  // a project not found: deleted, or not open to me
      $("state-error-retry").textContent = "Try again";
      $("state-error-retry").onclick = function () { loadNext(); };
      showError(sentence(r.error.message));
    });
  }

  /** Something to show and save: what time on task counts from, and the time the page was hidden meanwhile. */
  function shown(fields) {
    return Object.assign({shownAt: performance.now(), hiddenMs: 0,
                          hiddenSince: document.visibilityState === "hidden" ? performance.now() : null}, fields);
  }

  function show(lease) {
    C.lease = C.current = shown({assignmentId: lease.assignment_id, task: lease.task, key: newKey(lease.assignment_id),
                                 resume: lease.resume});
    L.setMediaUrls(lease.task.media);
    // The task this page held before a reload comes back with the work done on it (as an earlier answer's page
    // keeps the current task's work: given to the module as its predictions).
    var draft = C.restore && C.restore.task === lease.task.id ? C.restore.draft : null;
    C.restore = null;
    message("");
    var task = draft ? Object.assign({}, lease.task, {predictions: draft}) : lease.task;
    present(task, {assignmentId: lease.assignment_id}, !!draft);
    startLease(lease);
    rememberLease(C.lease);
    if (draft) message("Your work on this task is back, as you left it.", "ok");
  }

  /** Hand a task to the task type's module and give the keyboard to the task. */
  function present(task, info, fromDraft) {
    var prefilled = false;
    try {
      prefilled = !!impl.load(task, Object.assign({seed: config.user_id + ":" + task.id}, info));
    } catch (err) {
      // A task this page cannot show is skipped by the worker, not a dead end.
      console.error(err);
      message("This task could not be shown (" + err.message + "). Skip it with S.", "error");
    }
    $("prefill-note").hidden = !prefilled || fromDraft || !!C.editing;
    setState("working");
    focusTask();
    $("label-main").scrollTop = 0;
  }

  /** After a task is shown the keys belong to it: nothing keeps the focus (a rationale box would swallow the
   * next letters), unless writing is the task (text-first types put it in their text box). */
  function focusTask() {
    var active = document.activeElement;
    if (active && active !== document.body && active.blur) active.blur();
    $("work").focus({preventScroll: true});
    if (impl.focus) impl.focus();
  }

  function round(ms) { return Math.max(0, Math.min(Math.round(ms), 7 * 86400 * 1000)); }

  /** What the worker was shown, stored with the answer: time on task (hidden time left out), the window, and
   * what the task type adds (the responses' order and letters, the image's natural size). */
  function collectMeta(current) {
    var now = performance.now();
    var hidden = current.hiddenMs + (current.hiddenSince !== null ? now - current.hiddenSince : 0);
    var meta = {
      time_on_task_ms: round(now - current.shownAt - hidden), hidden_ms: round(hidden),
      viewport: {width: Math.max(1, Math.round(window.innerWidth)), height: Math.max(1, Math.round(window.innerHeight)),
                 device_pixel_ratio: Math.round((window.devicePixelRatio || 1) * 100) / 100},
    };
    if (impl.meta) Object.assign(meta, impl.meta() || {});
    return meta;
  }

  function onVisibility() {
    var current = C.current;
    if (!current) return;
    if (document.visibilityState === "hidden" && current.hiddenSince === null) current.hiddenSince = performance.now();
    else if (document.visibilityState === "visible" && current.hiddenSince !== null) {
      current.hiddenMs += performance.now() - current.hiddenSince;
      current.hiddenSince = null;
    }
  }

  function buildAnswer() {
    try { return impl.answer(); } catch (err) { return {error: err.message}; }
  }

  /** The work on the task as far as it goes, kept while the worker looks at earlier answers or reloads: the task
   *  type's draft where work not finished is no answer yet (a ranking of some responses), else its answer. */
  function buildDraft() {
    if (!impl.draft) return buildAnswer().answer || null;
    try { return impl.draft(); } catch (err) { return null; }
  }

  // A task shown this recently after the previous one was submitted or skipped, and not touched since, is not submitted:
  // the second click of a double click on Submit (or tap, or Enter pressed twice) would otherwise send it unread, as
  // given (a model's pre-filled answer, no labels, no boxes), when it comes back faster than the worker's hand (a
  // double click's clicks are up to half a second apart). Browser tests that press keys faster than any hand set it
  // to 0 before the page's scripts run.
  if (typeof L.freshMs !== "number") L.freshMs = 500;

  /** The answer as the page would send it now, as text to compare ("null" while it cannot be sent). */
  function answerText() { return JSON.stringify(buildAnswer().answer || null); }

  function submit() {
    if (C.state !== "working" || C.busy || !C.current) return;
    if (C.editing) { saveChange(); return; }
    var built = buildAnswer();
    if (built.error) { message(built.error, "error"); return; }
    var current = C.current;
    var sent = JSON.stringify(built.answer);
    if (current.untouched !== undefined && sent === current.untouched &&
        performance.now() - current.shownAt < L.freshMs) {
      message("A new task is here: look at it first, then submit.", "warn");
      return;
    }
    C.busy = true;
    setBusy(true);
    message("Saving…");
    current.sending = true;  /* leaving the page now hands nothing back: the answer may already be stored */
    // The answers sent before under this Idempotency-Key that the server may have stored: their reply never came (or
    // came from a proxy in its place).
    var unsure = current.unsure || [];
    L.api("POST", "/api/assignments/" + current.assignmentId + "/submit",
          {answer: built.answer, duration_ms: round(performance.now() - current.shownAt), meta: collectMeta(current)},
          {"Idempotency-Key": current.key}).then(function (r) {
      C.busy = false;
      setBusy(false);
      settled(current, r);
      if (r.status === 0 || r.status >= 500) current.unsure = unsure.concat([sent]);
      if (current !== C.current) return;
      if (r.status === 201) {
        forgetLease();
        counted(1);
        // An earlier try reached the server though its answer never came back (the connection dropped), and the
        // worker changed the work before trying again: the server kept the answer of that try, and the one on screen
        // is made the stored one (while the project lets answers change), or the worker is told it was not.
        var stale = r.replayed && unsure.some(function (t) { return t !== sent; });
        var fixed = stale ? changeReplayed(r.data.annotation_id, built.answer, current) : Promise.resolve("");
        fixed.then(function (note) {
          loadNext(undefined, true).then(function () {
            if (note && C.state === "working") message(note, "warn");
            else if (note) showBanner(note, "OK", hideBanner);  // the action bar's line is not shown without a task
            else if (C.state === "working") message("Saved. Next task.", "ok");
          });
        });
        return;
      }
      actionFailed(r, "submit");
    });
  }

  /** Make a replayed submit's stored answer the one sent last; resolves to "" when done, else words for the worker. */
  function changeReplayed(annotationId, answer, current) {
    C.busy = true;
    setBusy(true);
    return L.api("PUT", "/api/annotations/" + annotationId, {answer: answer, meta: collectMeta(current)}).then(function (r) {
      C.busy = false;
      setBusy(false);
      if (r.status === 200) return "";
      return "Your answer was saved as it was when the connection dropped; the change you made after could not be " +
        "saved (" + r.error.message + ").";
    });
  }

  function skip(reason, note) {
    if (C.state !== "working" || C.busy || !C.lease || C.editing) return;
    var current = C.current;
    C.busy = true;
    setBusy(true);
    message("Skipping…");
    current.sending = true;
    L.api("POST", "/api/assignments/" + current.assignmentId + "/skip", {reason: reason, note: note || null}).then(function (r) {
      C.busy = false;
      setBusy(false);
      settled(current, r);
      if (current !== C.current) return;
      // 409: the lease had already expired or the task was submitted; either way, move on.
      if (r.status === 200 || r.status === 409) {
        forgetLease();
        loadNext(undefined, true).then(function () { if (C.state === "working") message("Skipped.", ""); });
        return;
      }
      actionFailed(r, "skip");
    });
  }

  /** After a submit or skip: a lease that was used, or is gone, is done (nothing to hand back on leaving); one the
   *  server did not take (a bad answer, no connection) is still the worker's. */
  function settled(lease, r) {
    lease.sending = false;
    if (r.status === 200 || r.status === 201 || r.status === 404 || (r.status === 409 && r.error.code !== "lease_expired")) {
      lease.done = true;
    }
  }

  function actionFailed(r, action) {
    var error = r.error;
    if (r.status === 401) return signedOut(r.error);
    if (error.code === "lease_expired") return leaseExpired(action === "submit");
    if (error.code === "worker_blocked") return blocked(error.message);
    if (r.status === 409 || r.status === 404) return leaseGone(error);
    if (r.status === 400) {
      labelsChanged(function () {
        message("The answer was not accepted: " + error.message + (error.field ? " (" + error.field + ")" : ""), "error");
      });
      return;
    }
    message(sentence(error.message) + " Press " + (action === "submit" ? "Enter" : "S") + " to try again.", "error");
  }

  /** A label's name: a label is a name or {name, color, hotkey}. */
  function labelName(label) { return typeof label === "string" ? label : label.name; }

  /** An answer refused may be the page's doing, not the worker's: the requester changed the project's labels after
   *  the page was made, so it offers labels the project no longer has and lacks its new ones (every answer with a
   *  removed label is refused, and the new labels cannot be chosen). Then the worker is told so, with a reload (the
   *  task and the work on it come back); otherwise `refused` says the server's words. */
  function labelsChanged(refused) {
    L.api("GET", "/api/projects/" + config.project_id).then(function (r) {
      var mine = config.labels.map(labelName).join("\n");
      if (r.status !== 200 || !r.data.labels || r.data.labels.map(labelName).join("\n") === mine) { refused(); return; }
      message("");
      showBanner("The requester has changed this project's labels since this page was opened, so it shows labels " +
        "the project no longer has. Reload the page to get the new ones: your task and your work on it come back.",
        "Reload the page", function () { location.reload(); });
    });
  }

  /* ---- leaving the page and coming back ------------------------------------------------------- */
  // Leaving hands the lease back at once (a keepalive request outlives the page), so the task does not wait
  // out its lease for other workers. This tab remembers the task it held: a reload releases that lease (if the
  // first release has not arrived yet) and asks for the same task back before anything else.

  function leaseKey() { return "labeling.lease." + config.project_id + "." + config.user_id; }

  /** draft: the answer as far as the worker got (leaving the page keeps it, and a reload shows it again). */
  function rememberLease(lease, released, draft) {
    try {
      sessionStorage.setItem(leaseKey(), JSON.stringify({assignment: lease.assignmentId, task: lease.task.id,
        resume: lease.resume, until: Date.now() + leftSeconds() * 1000, released: !!released, draft: draft || null}));
    } catch (err) { /* storage disabled: a reload gets the queue's next task */ }
  }

  function forgetLease() {
    try { sessionStorage.removeItem(leaseKey()); } catch (err) { /* nothing kept */ }
  }

  function rememberedLease() {
    try { return JSON.parse(sessionStorage.getItem(leaseKey()) || "null"); } catch (err) { return null; }
  }

  /** The answer as far as the worker got, if they did anything: not an empty one, nor the predictions as given. */
  function worked(lease, answer) {
    if (!answer) return null;
    var some = Object.keys(answer).some(function (k) {
      var v = answer[k];
      if (v === null || v === "") return false;
      return typeof v !== "object" || (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
    });
    return some && JSON.stringify(answer) !== JSON.stringify(lease.task.predictions || null) ? answer : null;
  }

  /** Hand back the lease this page holds, once: never one it submitted or skipped (or is submitting or skipping),
   *  released already, that has run out (the queue takes that back itself), or held when the session ended (the page
   *  after signing in hands it back), so leaving never answers 4xx. The work done on it is remembered with it. */
  function releaseOnLeave() {
    var lease = C.lease;
    if (!lease || lease.done || lease.sending) return;
    var draft = worked(lease, C.editing ? C.draft : buildDraft());
    if (leftSeconds() <= 0 || lease.signedOut) { rememberLease(lease, false, draft); return; }
    lease.done = true;
    rememberLease(lease, true, draft);
    fetch("/api/assignments/" + lease.assignmentId + "/release", {
      method: "POST", keepalive: true, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": csrf},
    }).catch(function () { /* the page is gone; the lease expires on its own */ });
  }

  /** The page (loaded again, or back from the page cache) asks for the task it held first. A lease the page
   *  handed back on leaving is not released again; one it could not (the page died) is, while it is live. One
   *  that ran out is renewed first: the queue never offers a task again to the worker whose lease on it ran out
   *  (a reload after a break said "No more tasks" while the task still waited for this worker's answer). */
  function start() {
    var held = rememberedLease();
    if (!held || typeof held.assignment !== "number") return loadNext();
    C.restore = held.draft ? {task: held.task, draft: held.draft} : null;
    setState("loading");
    if (!held.released && typeof held.until === "number" && held.until <= Date.now()) {
      var renew = L.api("POST", "/api/assignments/" + held.assignment + "/renew");
      return renew.then(function () { loadNext(held); });
    }
    if (!held.released) {
      return L.api("POST", "/api/assignments/" + held.assignment + "/release").then(function () { loadNext(held); });
    }
    return comeBack(held, 8);
  }

  /** Ask for the held task again once the release sent on leaving has arrived: until then the queue hands back
   *  the same lease, which that release would take away under this page. After a few tries (the release was
   *  lost) the page hands it back itself. */
  function comeBack(held, tries) {
    var query = preferQuery(held);
    if (!query) return loadNext();
    return L.api("POST", "/api/projects/" + config.project_id + "/next" + query).then(function (r) {
      if (r.status !== 200 || r.data.assignment_id !== held.assignment) return loadNext(held);
      if (tries > 0) {
        return new Promise(function (resolve) { setTimeout(resolve, 250); }).then(function () {
          return comeBack(held, tries - 1);
        });
      }
      return L.api("POST", "/api/assignments/" + held.assignment + "/release").then(function () {
        return loadNext(held);
      });
    });
  }

  /* ---- progress ------------------------------------------------------------------------------ */

  function showCounts() {
    var p = C.counts;
    if (!p) return;
    var pct = p.project.percent_complete;
    $("project-progress").textContent = (pct >= 10 || pct === 0 ? Math.round(pct) : pct.toFixed(1)) + "%";
    $("project-progress-bar").value = pct;
    $("progress").title = "Project: " + p.project.complete.toLocaleString() + " of " +
      (p.project.tasks - p.project.gold_tasks).toLocaleString() + " tasks complete. You: " +
      p.worker.total.toLocaleString() + " answers here, " + p.worker.done_today.toLocaleString() + " today.";
    $("done-count").textContent = p.worker.total.toLocaleString();
    $("today-count").textContent = p.worker.done_today.toLocaleString();
  }

  /** One more answer of this worker (shown at once), and the project's figures fetched again now and then. */
  function counted(n) {
    C.answered = (C.answered || 0) + n;
    if (C.counts) { C.counts.worker.total += n; C.counts.worker.done_today += n; showCounts(); }
    if (performance.now() < C.refreshAt) return;
    C.refreshAt = performance.now() + 5000;
    var asked = C.answered, mine = C.counts && C.counts.worker;
    var before = mine ? {total: mine.total, done_today: mine.done_today} : null;
    L.api("GET", "/api/projects/" + config.project_id + "/progress").then(function (r) {
      if (r.status !== 200) return;
      // Answers saved while the figures were on their way may be in them or not (a slow reply came after the next
      // submits, and its figures set the count back for good): those are added to the figures as asked for, and the
      // larger count stands. With none, the server's figures stand as they are (a day's turn, a deletion).
      var since = C.answered - asked;
      if (since && before) {
        ["total", "done_today"].forEach(function (k) {
          r.data.worker[k] = Math.max(r.data.worker[k], before[k] + since);
        });
      }
      C.counts = r.data;
      showCounts();
    });
  }

  /* ---- skip with a reason, report a problem ---------------------------------------------------- */

  /** Open a dialog, remembering what had the focus: the element the dialog gives it back to. */
  function showDialog(dialog) {
    dialog.opener = document.activeElement;
    dialog.showModal();
  }

  /** A dialog opened from the action bar gives the keys back to the task when it closes, not to its button: those
   *  keep their own Enter, which would open the dialog again instead of submitting. (Checked against the opener: the
   *  close event comes after the focus may have moved on.) */
  function dialogClosed(dialog) {
    var opener = dialog.opener;
    dialog.opener = null;
    if (C.state === "working" && opener && document.activeElement === opener && $("actionbar").contains(opener)) {
      focusTask();
    }
  }

  /** A dialog's text box said to be missing (shown, tied to the box for screen readers, the box focused), or not. */
  function boxError(box, error, shown) {
    error.hidden = !shown;
    if (!shown) { box.removeAttribute("aria-invalid"); box.removeAttribute("aria-describedby"); return; }
    box.setAttribute("aria-invalid", "true");
    box.setAttribute("aria-describedby", error.id);
    box.focus();
  }

  function openSkip() {
    if (C.state !== "working" || C.busy || !C.lease || C.editing) return;
    var dialog = $("skip-dialog");
    // A skip of this task that did not go through (no connection) keeps its note for the next try.
    if (dialog.triedFor !== C.lease) $("skip-note").value = "";
    boxError($("skip-note"), $("skip-error"), false);
    showDialog(dialog);
    var checked = dialog.querySelector("input[name=reason]:checked") || dialog.querySelector("input[name=reason]");
    checked.checked = true;
    checked.focus();
  }

  function confirmSkip(e) {
    if (e) e.preventDefault();
    var dialog = $("skip-dialog");
    var reason = (dialog.querySelector("input[name=reason]:checked") || {}).value;
    var note = $("skip-note").value.trim();
    boxError($("skip-note"), $("skip-error"), reason === "other" && !note);
    if (reason === "other" && !note) return;
    dialog.triedFor = C.lease;
    dialog.close();
    skip(reason, note);
  }

  function onSkipKey(e) {
    var inNote = e.target === $("skip-note");
    var digit = /^[1-4]$/.test(e.key) && !inNote ? Number(e.key) : 0;
    if (digit) {
      e.preventDefault();
      var radio = $("skip-dialog").querySelectorAll("input[name=reason]")[digit - 1];
      radio.checked = true;
      radio.focus();
      if (radio.value === "other") $("skip-note").focus();
    } else if (e.key === "Enter" && !e.isComposing) {
      confirmSkip(e);
    }
  }

  function openReport() {
    var target = C.current;
    if (C.state !== "working" || !target) return;
    // A report on this task that was not sent (no connection) comes back to be sent again, not typed again.
    if ($("report-dialog").unsentFor !== target) $("report-text").value = "";
    boxError($("report-text"), $("report-error"), false);
    showDialog($("report-dialog"));
    $("report-text").focus();
  }

  function sendReport(e) {
    e.preventDefault();
    var target = C.current, text = $("report-text").value.trim();
    if (!text) { boxError($("report-text"), $("report-error"), true); return; }
    var dialog = $("report-dialog");
    dialog.unsentFor = target;
    dialog.close();
    L.api("POST", "/api/assignments/" + target.assignmentId + "/report", {text: text}).then(function (r) {
      if (r.status === 201) dialog.unsentFor = null;
      // An image that could not be loaded cannot be answered (Submit refuses it): skipping is the way on.
      var broken = document.querySelector('.zoom-viewport[data-image="failed"]');
      if (r.status === 201) message("Thank you: the requester will see your report. " + (broken
        ? "The image could not be loaded: skip the task (S) to go on." : "You may still answer or skip the task."), "ok");
      else if (r.status === 401) signedOut(r.error);
      else message("The report was not sent: " + r.error.message + " Your words are kept: press Report a problem to " +
                   "send them again.", "error");
      focusTask();
    });
  }

  /* ---- earlier answers: look back and change them -------------------------------------------- */

  function formatTime(iso) {
    var when = new Date(iso);
    var today = new Date().toDateString() === when.toDateString();
    return (today ? "" : when.toLocaleDateString() + " ") + when.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }

  /** Z: the answer before the one shown (first the newest); X: the next newer one, then back to the task. */
  function older() {
    if (C.busy || (C.state !== "working" && C.state !== "empty")) return;
    if (C.editing) { if (!unsavedChange()) openAnswer(C.editing.index + 1); return; }
    if (C.lease) C.draft = buildDraft();
    C.busy = true;
    L.api("GET", "/api/projects/" + config.project_id + "/my-answers?limit=200").then(function (r) {
      C.busy = false;
      if (r.status === 401) return signedOut(r.error);
      if (r.status !== 200) { message(sentence(r.error.message), "error"); return; }
      if (!r.data.data.length) { message("You have no earlier answers in this project yet.", "warn"); return; }
      C.editing = {list: r.data.data, index: -1};
      openAnswer(0);
    });
  }

  function newer() {
    if (!C.editing || C.busy || unsavedChange()) return;
    if (C.editing.index === 0) backToTask(); else openAnswer(C.editing.index - 1);
  }

  /** JSON with every object's keys in order: an answer as the page builds it and as the server stored it compare. */
  function canonical(value) {
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (k) { return JSON.stringify(k) + ":" + canonical(value[k]); })
        .join(",") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
  }

  /** An earlier answer the project no longer lets change stays as stored: a label key or a click that changed it on
   *  screen (as if it counted: only Submit, greyed out, said otherwise) is undone, and the worker told why. */
  function keepReadOnly() {
    var editing = C.editing, current = C.current;
    if (!editing || !current || !current.readOnly || C.busy) return;
    var item = editing.list[editing.index], now = buildDraft();
    if (now === null || canonical(now) === canonical(item.answer)) return;
    present({id: item.task.id, data: item.task.data, predictions: item.answer}, {assignmentId: item.assignment_id,
                                                                                   editing: true}, true);
    setBusy(false);
    message("This answer can no longer change: what you pick here is not saved.", "warn");
  }

  /** An earlier answer changed on screen and not saved is not dropped without a word (Z, X or Back took the worker
   *  away and the change was gone): the first of them says so, and Enter saves it; the next one leaves it unsaved.
   *  True when it said so. */
  function unsavedChange() {
    var editing = C.editing;
    if (!editing || !C.current || C.current.readOnly || editing.warned === editing.index) return false;
    var now = buildDraft();  // null while nothing can be built yet (an image still loading): nothing changed
    if (now === null || canonical(now) === canonical(editing.list[editing.index].answer)) return false;
    editing.warned = editing.index;
    message("You changed this answer but did not save it: press Enter to save the change, or the same key again " +
            "to leave the answer as it was.", "warn");
    focusTask();  // from the Older, Newer or Back button too: Enter saves, as the words say, not presses it again
    return true;
  }

  function openAnswer(index) {
    var list = C.editing.list;
    if (index >= list.length) { message("That is your first answer in this project.", "warn"); return; }
    C.editing.index = index;
    C.editing.warned = -1;
    var item = list[index];
    C.current = shown({annotationId: item.annotation_id, assignmentId: item.assignment_id, task: item.task,
                       readOnly: !item.editable});
    document.body.classList.add("is-editing");
    $("editbar").hidden = false;
    $("editbar-text").textContent = "Your answer from " + formatTime(item.created_at) + " (" + (index + 1) + " of " +
      list.length + (list.length === 200 ? "+" : "") + ")" + (item.edited_at ? ", changed " + formatTime(item.edited_at) : "") +
      (item.editable ? ". Change it, then save." : ". The project no longer lets it change.");
    $("edit-older").disabled = index + 1 >= list.length;
    $("submit-label").textContent = "Save change";
    message("");
    present({id: item.task.id, data: item.task.data, predictions: item.answer}, {assignmentId: item.assignment_id,
                                                                                   editing: true}, true);
    setBusy(false);
  }

  function saveChange() {
    var current = C.current;
    if (current.readOnly) { message("This answer can no longer change.", "warn"); return; }
    var built = buildAnswer();
    if (built.error) { message(built.error, "error"); return; }
    C.busy = true;
    setBusy(true);
    message("Saving the change…");
    L.api("PUT", "/api/annotations/" + current.annotationId, {answer: built.answer, meta: collectMeta(current)}).then(function (r) {
      C.busy = false;
      setBusy(false);
      if (current !== C.current) return;
      if (r.status === 200) {
        C.editing.list[C.editing.index].answer = built.answer;
        backToTask("Your answer was changed.");
        return;
      }
      if (r.status === 401) return signedOut(r.error);
      if (r.error.code === "worker_blocked") return blocked(r.error.message);
      var refused = function () { message("The change was not saved: " + r.error.message, "error"); };
      if (r.status === 400) labelsChanged(refused); else refused();
    });
  }

  function backToTask(note) {
    if (!C.editing) return;
    C.editing = null;
    document.body.classList.remove("is-editing");
    $("editbar").hidden = true;
    $("submit-label").textContent = "Submit";
    var lease = C.lease;
    if (!lease) { loadNext().then(function () { if (note) message(note, "ok"); }); return; }
    C.current = lease;
    var task = C.draft ? Object.assign({}, lease.task, {predictions: C.draft}) : lease.task;
    present(task, {assignmentId: lease.assignmentId}, !!C.draft);
    C.draft = null;
    setBusy(false);
    message(note || "", note ? "ok" : "");
    tick();
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
    if (!dialog.open) showDialog(dialog);
  }

  function onKeyDown(e) {
    if (e.defaultPrevented || e.isComposing) return;
    var dialog = document.querySelector("dialog[open]");
    if (dialog) {
      if (dialog.id === "help" && e.key === "?") { e.preventDefault(); dialog.close(); }
      return; // Esc closes a dialog natively; Tab moves within it; its own keys are its own
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      // A key held down repeats: it would submit each next task as it comes (a model's draft, unread), or press the
      // banner's action and then whatever comes after it.
      if (e.repeat) return;
      if (!$("banner").hidden) { $("banner-action").click(); return; }
      submit();
      return;
    }
    if (isTyping(e.target)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    var undo = L.undoKey(e);
    if (undo) {
      // Undo (Ctrl+Z) and redo (Ctrl+Shift+Z, Ctrl+Y) the worker's edits to the task: a box deleted by mistake comes
      // back. The browser's own undo has nothing to do outside a text field.
      if (C.state !== "working" || !impl.undo) return;
      e.preventDefault();
      if (!C.busy) L.undoStep(impl, undo, message);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    // Buttons of the header, banners, state panels and action bar keep their native Enter and Space (a worker who
    // moved the focus to Skip with Tab means Skip, not Submit).
    if ((e.key === "Enter" || e.key === " ") && e.target.closest && e.target.closest("[data-native-keys]")) return;
    // So do the task's own buttons (a label, a rating, a box's Delete) reached with Tab: a click gives the keys back to
    // the task (onWorkClick), so one that has the focus was chosen from the keyboard.
    if ((e.key === "Enter" || e.key === " ") && e.target.matches && e.target.matches("#work button")) return;
    if (e.key === "?") { e.preventDefault(); openHelp(); return; }
    if (e.key === "z" || e.key === "Z") { e.preventDefault(); if (e.shiftKey) newer(); else older(); return; }
    if ((e.key === "x" || e.key === "X") && C.editing) { e.preventDefault(); newer(); return; }
    if (C.state !== "working") return;
    if (e.key === "Enter") { e.preventDefault(); if (!e.repeat) submit(); return; }
    if (!$("banner").hidden && e.key === "Escape") return;
    if ((e.key === "s" || e.key === "S") && !C.editing) { e.preventDefault(); openSkip(); return; }
    if (C.busy) { e.preventDefault(); return; }
    if (impl.onKey && impl.onKey(e)) { e.preventDefault(); keepReadOnly(); return; }
    if (e.key === "i" || e.key === "I") { e.preventDefault(); toggleInstructions(); }
  }

  /** A button of the task clicked (or tapped) keeps no focus: the keys go back to the task, where Enter submits. */
  function onWorkClick(e) {
    if (C.state === "working") keepReadOnly();
    if (e.detail && C.state === "working" && e.target.closest && e.target.closest("button")) focusTask();
  }

  /* ---- start ------------------------------------------------------------------------------- */

  /** Called by the task type's script: {init, load, answer, draft?, onKey?, undo?, clear?, focus?, meta?}. */
  L.register = function (module) { impl = module; };

  function rememberInstructions() {
    var details = $("instructions");
    if (!details) return;
    // Its summary keeps its own Enter and Space when reached with Tab (data-native-keys); clicked with the mouse it
    // gives the keys back to the task, where Enter submits.
    details.querySelector("summary").addEventListener("click", function (e) {
      if (e.detail && C.state === "working") focusTask();
    });
    var key = "labeling.instructions." + config.project_id;
    try {
      var kept = localStorage.getItem(key);
      // On a phone, or a short window (a laptop at 200% zoom is 400 pixels tall, a phone held sideways less), the
      // instructions start folded, so the task and its controls fit the screen; "I" opens them.
      if (kept === "closed" || (kept === null && window.matchMedia("(max-width: 600px), (max-height: 500px)").matches)) {
        details.open = false;
      }
      details.addEventListener("toggle", function () { localStorage.setItem(key, details.open ? "open" : "closed"); });
    } catch (err) { /* storage disabled: always open */ }
  }

  function boot() {
    config = JSON.parse($("label-config").textContent);
    csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
    L.setLabelStyles(config.label_styles);
    C.counts = config.progress;
    showCounts();
    if (!impl) { showError("This page could not start: its script for " + config.task_type + " is missing."); return; }
    impl.init({config: config, message: message});
    rememberInstructions();
    $("submit-btn").addEventListener("click", submit);
    $("skip-btn").addEventListener("click", openSkip);
    $("report-btn").addEventListener("click", openReport);
    $("previous-btn").addEventListener("click", older);
    $("empty-previous").addEventListener("click", older);
    $("edit-older").addEventListener("click", older);
    $("edit-newer").addEventListener("click", newer);
    $("edit-back").addEventListener("click", function () { if (!unsavedChange()) backToTask(); });
    $("skip-form").addEventListener("submit", confirmSkip);
    $("skip-dialog").addEventListener("keydown", onSkipKey);
    $("skip-cancel").addEventListener("click", function () { $("skip-dialog").close(); });
    $("report-form").addEventListener("submit", sendReport);
    $("report-cancel").addEventListener("click", function () { $("report-dialog").close(); });
    ["skip-dialog", "report-dialog", "help"].forEach(function (id) {
      $(id).addEventListener("close", function (e) { dialogClosed(e.target); });
    });
    $("check-again").addEventListener("click", function () { loadNext(); });
    $("stopped-check").addEventListener("click", function () { loadNext(); });
    $("help-open").addEventListener("click", openHelp);
    $("lease-extend").addEventListener("click", extendLease);
    $("state-error-retry").onclick = function () { loadNext(); };
    document.addEventListener("keydown", onKeyDown);
    $("work").addEventListener("click", onWorkClick);
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("pagehide", releaseOnLeave);
    window.addEventListener("pageshow", function (e) { if (e.persisted) start(); }); // back from the page cache
    start();
  }

  // Deferred scripts run before DOMContentLoaded, so the task type's module has registered by then.
  document.addEventListener("DOMContentLoaded", boot);
})();
