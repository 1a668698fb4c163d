/* The console's shared script: the JSON API with the session's CSRF header, field errors beside their inputs,
   small keyboard helpers. Page scripts use window.Console. No inline scripts (strict CSP), no libraries. */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /** fetch() a JSON API route with the session cookie and CSRF header: resolves to {status, data, error, etag}
      (etag: the response's ETag header, a project's version, or null); `extra`: more request headers (If-Match). */
  function api(method, url, body, contentType, extra) {
    var headers = {"Accept": "application/json", "X-CSRF-Token": csrf()};
    Object.keys(extra || {}).forEach(function (k) { if (extra[k] !== null && extra[k] !== undefined) headers[k] = extra[k]; });
    var init = {method: method, headers: headers, credentials: "same-origin"};
    if (body !== undefined && body !== null) {
      if (typeof body === "string" || body instanceof Blob || body instanceof FormData) {
        if (contentType) headers["Content-Type"] = contentType;
        init.body = body;
      } else {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
    }
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        var out = {status: response.status, data: null, error: null, etag: response.headers.get("ETag")};
        if (response.ok) out.data = parsed;
        else out.error = (parsed && parsed.error) || {code: "http", message: "the server answered " + response.status, field: null};
        return out;
      });
    }, function () {
      return {status: 0, data: null, etag: null,
              error: {code: "network", message: "the server could not be reached; check your connection", field: null}};
    });
  }

  /** The same as api() with upload progress (XMLHttpRequest): onProgress(loaded, total). */
  function upload(method, url, body, contentType, onProgress) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      if (contentType) xhr.setRequestHeader("Content-Type", contentType);
      if (onProgress) xhr.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      xhr.onload = function () {
        var parsed = null;
        try { parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { parsed = null; }
        var ok = xhr.status >= 200 && xhr.status < 300;
        resolve({status: xhr.status, data: ok ? parsed : null,
                 error: ok ? null : ((parsed && parsed.error) || {code: "http", message: "the server answered " + xhr.status, field: null})});
      };
      xhr.onerror = function () {
        resolve({status: 0, data: null, error: {code: "network", message: "the server could not be reached", field: null}});
      };
      xhr.send(body);
    });
  }

  /** Remove the error messages a form shows, and their ties to the inputs they named. */
  function clearErrors(root) {
    root.querySelectorAll(".field-error[data-generated]").forEach(function (el) {
      root.querySelectorAll('[aria-describedby~="' + el.id + '"]').forEach(function (control) {
        var rest = control.getAttribute("aria-describedby").split(/\s+/).filter(function (id) { return id !== el.id; });
        if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
        else control.removeAttribute("aria-describedby");
      });
      el.remove();
    });
    root.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    root.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }
  var errorCount = 0;

  /** The input an error on a whole field is about: the first one shown that holds a value typed or chosen (a
      fieldset's "Answers 0", or its "at least 4 at most 2"), before the radio buttons that only pick which of
      those inputs apply (marking and focusing "Fixed" said the choice was wrong, and Space there undid it). */
  function fieldControl(wrap) {
    var controls = Array.prototype.slice.call(wrap.querySelectorAll("input, select, textarea"));
    var shown = controls.filter(function (el) { return el.type !== "hidden" && el.getClientRects().length; });
    var valued = shown.filter(function (el) { return el.type !== "radio" && el.type !== "checkbox"; });
    return valued[0] || shown.filter(function (el) { return el.checked; })[0] || shown[0] || controls[0] || null;
  }

  /** Show an API error beside the input its `field` names (data-field on the .field wrapper, or an input's
      name), else in the form's general status line; focuses the field. A body with several wrong fields has
      each (`errors`) beside its own input at once, the focus on the first of them on the page (the API lists them
      in its own order). Returns the element it used first. */
  function showError(root, error, fallback) {
    var list = error && error.errors && error.errors.length ? error.errors : [error];
    var first = null, unplaced = [], targets = [];
    list.forEach(function (one) {
      var shown = showOne(root, one, null, targets);
      if (shown) first = first || shown;
      else unplaced.push(one);
    });
    targets.sort(function (a, b) { return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1; });
    if (targets.length) targets[0].focus();
    if (unplaced.length && fallback) {  /* the errors no field of the form shows, together in the status line */
      fallback.textContent = unplaced.map(function (one) { return (one && one.message) || "something went wrong"; }).join("; ");
      fallback.hidden = false;
      fallback.classList.add("error");
      first = first || fallback;
    }
    return first;
  }

  function showOne(root, error, fallback, targets) {
    var name = (error && error.field) || "";
    var wrap = null;
    /* the field, then each shorter path: labels[2].hotkey, labels[2], labels */
    while (name && !wrap) {
      wrap = root.querySelector('[data-field="' + CSS.escape(name) + '"]');
      if (!wrap) {
        var input = root.querySelector('[name="' + CSS.escape(name) + '"]');
        wrap = input ? (input.closest("[data-field]") || input.parentElement) : null;
      }
      var shorter = name.replace(/(\.[^.\[]*|\[[0-9]+\])$/, "");
      name = shorter === name ? "" : shorter;
    }
    var message = (error && error.message) || "something went wrong";
    /* beside its input, the field's name is said already, and so is a list's item by the name the message quotes
       ("workers[1]: no worker 'bob'" is "no worker 'bob'" beside Workers) */
    var item = error && error.field && wrap && message.indexOf(error.field) === 0 ?
      message.slice(error.field.length).match(/^(\[[0-9]+\])?: ([\s\S]*)$/) : null;
    if (item) message = item[2];
    if (!wrap) {
      if (fallback) { fallback.textContent = message; fallback.hidden = false; fallback.classList.add("error"); }
      return fallback;
    }
    var control = null;
    if (wrap.matches("input, select, textarea")) {  /* the field is one input (a label's hotkey): mark it */
      control = wrap;
      wrap = wrap.parentElement;
    }
    wrap.classList.add("has-error");
    var p = document.createElement("p");
    p.className = "field-error";
    p.setAttribute("data-generated", "");
    p.setAttribute("role", "alert");
    p.id = "field-error-" + (++errorCount);
    p.textContent = message;
    wrap.appendChild(p);
    control = control || fieldControl(wrap);
    if (control) control.setAttribute("aria-invalid", "true");
    /* a field with no input yet (no labels): the keyboard goes to where the fix starts, "+ Add label" */
    var target = control || wrap.querySelector("button");
    if (target) {
      /* said with the input each time it takes the focus, not only once as the alert */
      var described = target.getAttribute("aria-describedby");
      target.setAttribute("aria-describedby", (described ? described + " " : "") + p.id);
      targets.push(target);  /* showError focuses the first on the page */
    }
    return p;
  }

  /** A form while it is being saved: busy(form, true) makes its text boxes read-only (the focus stays where it is:
      a disabled box would drop it) and its other controls disabled, so that nothing typed meanwhile is lost or
      left out of what was sent; busy(form, false) gives back exactly what it took, and the keyboard's focus if
      it fell to the page's body (a disabled Save button loses it). */
  var TEXTLIKE = /^(text|search|email|url|tel|password|number|date|datetime-local|time|month|week)$/;
  function busy(form, on) {
    if (on) {
      form.setAttribute("aria-busy", "true");
      form.busyFocus = document.activeElement;
      form.querySelectorAll("input, textarea, select, button").forEach(function (el) {
        if (el.type === "hidden") return;
        var text = el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && TEXTLIKE.test(el.type));
        if (text && !el.readOnly) { el.readOnly = true; el.setAttribute("data-busy", "readonly"); }
        else if (!text && !el.disabled) { el.disabled = true; el.setAttribute("data-busy", "disabled"); }
      });
      return;
    }
    form.removeAttribute("aria-busy");
    form.querySelectorAll("[data-busy]").forEach(function (el) {
      if (el.getAttribute("data-busy") === "readonly") el.readOnly = false; else el.disabled = false;
      el.removeAttribute("data-busy");
    });
    var was = form.busyFocus;
    form.busyFocus = null;
    if (was && was.isConnected && (!document.activeElement || document.activeElement === document.body)) was.focus();
  }

  /** "/" focuses the page's first field (unless typing in one). */
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var first = document.querySelector("#console-main input:not([type=hidden]), #console-main select, #console-main textarea");
    if (first) { e.preventDefault(); first.focus(); }
  });

  /** Times as "3 minutes ago" (the exact time stays in the title). */
  function ago(iso) {
    var then = Date.parse(iso);
    if (isNaN(then)) return iso;
    var s = Math.max(0, (Date.now() - then) / 1000);
    if (s < 60) return "just now";
    var units = [[86400 * 365, "year"], [86400 * 30, "month"], [86400, "day"], [3600, "hour"], [60, "minute"]];
    for (var i = 0; i < units.length; i++) {
      var n = Math.floor(s / units[i][0]);
      if (n >= 1) return n + " " + units[i][1] + (n === 1 ? "" : "s") + " ago";
    }
    return "just now";
  }
  function times(root) {
    root.querySelectorAll("time.ago").forEach(function (el) {
      el.title = new Date(el.getAttribute("datetime")).toLocaleString();
      el.textContent = ago(el.getAttribute("datetime"));
    });
  }
  times(document);

  /** Figures that move while the page is open (a project's progress as its workers answer) stayed as loaded: a
      requester watching the overview saw nothing happen until a reload. Every [data-live] element's [data-stat]
      figures and progress bars are read again from the page's own address every LIVE_MS while the tab is shown
      (and when it is shown again); only their text changes, so the focus and the rest of the page stay. */
  var LIVE_MS = 15000;
  var liveRoots = document.querySelectorAll("[data-live][id]");
  function liveKey(el) {
    var row = el.closest("[data-project-id]");
    return (row ? row.getAttribute("data-project-id") : "") + "/" + (el.tagName === "PROGRESS" ? "bar" : el.getAttribute("data-stat"));
  }
  function liveParts(root) {
    var out = {};
    root.querySelectorAll("[data-stat], progress").forEach(function (el) { out[liveKey(el)] = el; });
    return out;
  }
  var liveBusy = false, liveTimer = null;
  function refreshLive() {
    if (document.hidden || liveBusy || !liveTimer) return;
    liveBusy = true;
    /* A reply that never comes is given up after a while (it held liveBusy, and the figures stopped for good); a
       session that ended (the sign-in page instead of this one) stops the refreshing */
    var control = window.AbortController ? new AbortController() : null;
    var giveUp = control ? window.setTimeout(function () { control.abort(); }, LIVE_MS) : null;
    fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"},
                                 signal: control ? control.signal : undefined}).then(function (r) {
      if (r.redirected && new URL(r.url).pathname !== window.location.pathname) {
        window.clearInterval(liveTimer);
        liveTimer = null;
        return null;
      }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      window.clearTimeout(giveUp);
      liveBusy = false;
      if (!html) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      liveRoots.forEach(function (root) {
        var fresh = doc.getElementById(root.id);
        if (!fresh) return;
        var now = liveParts(fresh), shown = liveParts(root);
        Object.keys(shown).forEach(function (key) {
          var el = shown[key], to = now[key];
          if (!to) return;
          if (el.tagName === "PROGRESS") {
            ["max", "value", "aria-label"].forEach(function (a) { el.setAttribute(a, to.getAttribute(a)); });
            el.textContent = to.textContent;
          } else if (el.innerHTML !== to.innerHTML) {
            el.innerHTML = to.innerHTML;  /* the server's own escaped markup (figures, a time) */
            times(el);
          }
        });
        root.querySelectorAll("[data-live-until]").forEach(function (el) {  /* "No tasks yet", once there are */
          if (!doc.getElementById(el.id)) el.remove();
        });
      });
    }, function () { window.clearTimeout(giveUp); liveBusy = false; });
  }
  if (liveRoots.length) {
    liveTimer = window.setInterval(refreshLive, LIVE_MS);
    document.addEventListener("visibilitychange", refreshLive);
  }
  /** A table wider than its box scrolls sideways in it (the quality page's confusion matrix on a phone): a line
      above it says so, and it takes the keyboard's focus (the arrow keys scroll it) under a name, instead of being
      cut at the box's edge without a sign. Measured again when the window changes size. */
  function markScrolling() {
    document.querySelectorAll("#console-main .table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(wrap).overflowX);
      var hint = wrap.previousElementSibling;
      if (!hint || !hint.classList.contains("scroll-hint")) {
        if (!scrolls) return;
        hint = document.createElement("p");
        hint.className = "hint scroll-hint";
        hint.id = "scroll-hint-" + document.querySelectorAll(".scroll-hint").length;
        hint.textContent = "Wider than the screen: scroll the table sideways (or focus it and use the arrow keys) →";
        wrap.parentNode.insertBefore(hint, wrap);
      }
      hint.hidden = !scrolls;
      if (scrolls) {
        var section = wrap.closest("section"), heading = section && section.querySelector("h2, h3");
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", (heading ? heading.textContent.trim() : "Table") + ", scrolls sideways");
        wrap.setAttribute("aria-describedby", hint.id);
      } else {
        ["tabindex", "role", "aria-label", "aria-describedby"].forEach(function (a) { wrap.removeAttribute(a); });
      }
    });
  }
  markScrolling();
  window.addEventListener("resize", markScrolling);

  /** Copy buttons (button.copy, data-copy="ID" of the element whose text they copy: the export's commands, a token
      shown once). The button says what happened for a moment, then is "Copy" again (the text may change meanwhile).
      Without the clipboard API (a page served over plain http from another machine has none) or its permission:
      the text is selected and the selection copied, or left selected for the user's own Ctrl+C. */
  function said(btn, text) {
    btn.textContent = text;
    clearTimeout(btn.sayTimer);
    btn.sayTimer = setTimeout(function () { btn.textContent = "Copy"; }, 2500);
  }
  function selectAndCopy(btn, code) {
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    said(btn, done ? "Copied" : "Selected: press Ctrl+C");
  }
  document.querySelectorAll("button.copy").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var code = document.getElementById(btn.getAttribute("data-copy"));
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(code.textContent).then(function () { said(btn, "Copied"); },
                                                             function () { selectAndCopy(btn, code); });
      } else {
        selectAndCopy(btn, code);
      }
    });
  });

  /* label colours from data-color (no inline styles under the CSP) */
  document.querySelectorAll("[data-color]").forEach(function (el) {
    var c = el.getAttribute("data-color");
    if (/^#[0-9a-fA-F]{3,8}$/.test(c)) el.style.setProperty("--chip", c);
  });

  /** A page's status line: say(text, ok) shows a result or an error; unsay() clears it, so that a new action does
      not start beside an old message ("Created carl" next to the next form's errors). send(form, method, url, body,
      done) submits a form's JSON to the API: errors beside the field the API names (or in the form's own status
      line, else the page's); done(data) on success. */
  function statusLine(el) {
    function unsay() {
      el.hidden = true;
      el.textContent = "";
    }
    function send(form, method, url, body, done) {
      clearErrors(form);
      unsay();
      var line = form.querySelector(".form-status");
      if (line) line.hidden = true;
      busy(form, true);
      api(method, url, body).then(function (r) {
        busy(form, false);
        if (r.error) { showError(form, r.error, line || el); return; }
        done(r.data);
      });
    }
    return {
      say: function (text, ok) {
        el.hidden = false;
        el.className = "form-status " + (ok ? "ok" : "error");
        el.textContent = text;
        // The line heads the page: a change made far down a list would otherwise answer out of sight.
        var box = el.getBoundingClientRect();
        if (box.top < 0 || box.bottom > window.innerHeight) el.scrollIntoView({block: "nearest"});
      },
      unsay: unsay,
      send: send,
      /* said on the page an action reloaded (or led to): the line takes the keyboard's focus, which the reload left
         at the top of the page, so the next Tab goes on from what was done and a screen reader reads it */
      announce: function (text, ok) {
        this.say(text, ok);
        el.tabIndex = -1;
        el.focus({preventScroll: true});
      }
    };
  }

  /** Escape in a box that pops up (a token shown once, a reset's form) closes it as its own button does: close()
      hides it and gives the focus back (to what opened it, or to the line that says what was done). */
  function escapeCloses(box, close) {
    box.addEventListener("keydown", function (e) {
      if (e.key !== "Escape" || e.defaultPrevented || e.isComposing) return;
      e.preventDefault();
      close();
    });
  }

  /** A message for the next page (a deleted project's, said on the projects page it lands on): flash(text) keeps
      it for the next page with a #page-status line, which shows it once (a reload says nothing). */
  function flash(text) {
    try { sessionStorage.setItem("console-flash", text); } catch (e) { /* storage disabled: said nowhere */ }
  }
  var pageStatus = document.getElementById("page-status");
  if (pageStatus) {
    try {
      var flashed = sessionStorage.getItem("console-flash");
      sessionStorage.removeItem("console-flash");
      if (flashed) statusLine(pageStatus).announce(flashed, true);
    } catch (e) { /* storage disabled */ }
  }

  window.Console = {api: api, upload: upload, clearErrors: clearErrors, showError: showError, csrf: csrf, ago: ago,
                    statusLine: statusLine, busy: busy, flash: flash, escapeCloses: escapeCloses};
})();
