/* The project form (new and settings): builds the JSON API's bodies, shows each error beside its input, and keeps
   the instructions' preview live (rendered by the server with the worker page's renderer). */
(function () {
  "use strict";
  var form = document.getElementById("project-form");
  if (!form) return;
  var isNew = form.getAttribute("data-mode") === "new";
  var projectId = form.getAttribute("data-project-id");
  var status = document.getElementById("form-status");
  var rows = document.getElementById("label-rows");
  var taskType = document.getElementById("f-task-type");
  /* The project's version (ETag) this page shows, sent in If-Match with each change: an edit made elsewhere since
     (another requester, another tab, a script) is a 412, met below, not silently undone by this page's save */
  var version = form.getAttribute("data-version") || null;

  function $(id) { return document.getElementById(id); }
  function num(id) {
    var v = $(id).value.trim();
    return v === "" ? null : Number(v);
  }
  function say(text, ok) {
    status.textContent = text;
    status.hidden = !text;
    status.classList.toggle("ok", !!ok);
    status.classList.toggle("error", !ok);
  }

  /* ---- labels --------------------------------------------------------------------------------- */
  /* A new row's colour, hotkey and remove button were "Colour", "Hotkey" and "Remove this label" in every row: they
     take the label's name as it is typed (or its place, while it has none) */
  function nameRow(row, i) {
    var name = row.querySelector(".label-name").value.trim() || "label " + (i + 1);
    row.querySelector(".label-color").setAttribute("aria-label", "Colour of " + name);
    row.querySelector(".label-hotkey").setAttribute("aria-label", "Hotkey of " + name);
    row.querySelector(".label-remove").setAttribute("aria-label", "Remove " + name);
  }
  function renumber() {
    Array.prototype.forEach.call(rows.querySelectorAll(".label-row"), function (row, i) {
      nameRow(row, i);
      row.setAttribute("data-field", "labels[" + i + "]");
      row.querySelector(".label-name").setAttribute("data-field", "labels[" + i + "].name");
      row.querySelector(".label-color").setAttribute("data-field", "labels[" + i + "].color");
      row.querySelector(".label-hotkey").setAttribute("data-field", "labels[" + i + "].hotkey");
    });
  }
  function addLabel(name) {
    var node = $("label-row-template").content.firstElementChild.cloneNode(true);
    rows.appendChild(node);
    renumber();
    var input = node.querySelector(".label-name");
    if (name) input.value = name;
    input.focus();
  }
  $("add-label").addEventListener("click", function () { addLabel(""); });
  rows.addEventListener("click", function (e) {
    var btn = e.target.closest(".label-remove");
    if (!btn) return;
    var row = btn.closest(".label-row");
    var next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    renumber();
    if (next) next.querySelector(".label-name").focus(); else $("add-label").focus();
  });
  rows.addEventListener("input", function (e) {
    if (e.target.classList.contains("label-color")) e.target.setAttribute("data-given", "true");
    if (e.target.classList.contains("label-name")) {
      var row = e.target.closest(".label-row");
      nameRow(row, Array.prototype.indexOf.call(rows.children, row));
    }
  });
  rows.addEventListener("keydown", function (e) {
    /* Enter in a label's name adds the next label */
    if (e.key === "Enter" && e.target.classList.contains("label-name")) {
      e.preventDefault();
      addLabel("");
    }
  });
  /* Pasting several lines into a label's name adds one label a line (a project may have 1,000 labels; one click
     each was the only way). Names already in the form are not added twice; blank lines are skipped. */
  rows.addEventListener("paste", function (e) {
    var input = e.target;
    if (!input.classList.contains("label-name") || input.readOnly) return;
    var text = (e.clipboardData || window.clipboardData).getData("text") || "";
    var lines = text.split(/\r\n|\r|\n/).map(function (l) { return l.trim(); }).filter(Boolean);
    if (lines.length < 2) return;
    e.preventDefault();
    /* A name already typed in the field stays (a paste replaced it: a label of a project in use was renamed, so
       removed, without a word); the lines then become new labels after the list's last one. */
    var own = input.value.trim();
    var have = {};
    rows.querySelectorAll(".label-name").forEach(function (el) { if (el.value.trim()) have[el.value.trim()] = true; });
    var fresh = lines.filter(function (name) {
      if (have[name]) return false;
      have[name] = true;
      return true;
    });
    if (!fresh.length) { say("Every pasted label is already in the list.", false); return; }
    if (!own) {
      input.value = fresh[0];
      var row = input.closest(".label-row");
      nameRow(row, Array.prototype.indexOf.call(rows.children, row));
    }
    fresh.slice(own ? 0 : 1).forEach(function (name) {
      var node = $("label-row-template").content.firstElementChild.cloneNode(true);
      node.querySelector(".label-name").value = name;
      rows.appendChild(node);
    });
    renumber();
    var skipped = lines.length - fresh.length;
    say("Added " + fresh.length + " labels from the pasted lines" +
        (skipped ? " (" + skipped + " already in the list or given twice, left out)" : "") + ".", true);
    rows.lastElementChild.querySelector(".label-name").focus();
  });
  function labels() {
    var out = [];
    rows.querySelectorAll(".label-row").forEach(function (row) {
      var name = row.querySelector(".label-name").value.trim();
      var color = row.querySelector(".label-color");
      var hotkey = row.querySelector(".label-hotkey").value.trim();
      if (!name && !hotkey && row.getAttribute("data-existing") !== "true") return;
      var given = color.getAttribute("data-given") === "true";
      if (!given && !hotkey) { out.push(name); return; }
      var label = {name: name};
      if (given) label.color = color.value;
      if (hotkey) label.hotkey = hotkey;
      out.push(label);
    });
    return out;
  }

  /* ---- task type, redundancy, edit window, pool --------------------------------------------- */
  function showTaskType() {
    var option = taskType.options[taskType.selectedIndex];
    $("task-type-description").textContent = option.getAttribute("data-description");
    var needs = option.getAttribute("data-needs-labels") === "true";
    $("labels-field").classList.toggle("optional", !needs);
    $("reserved-keys").textContent = "Keys the labeling page already uses: " +
      option.getAttribute("data-reserved").split("").join(" ") + "." + (needs ? "" : " This task type needs no labels.");
  }
  renumber();
  taskType.addEventListener("change", showTaskType);
  showTaskType();
  function radio(name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : null;
  }
  form.querySelectorAll('input[name="redundancy_kind"]').forEach(function (r) {
    r.addEventListener("change", function () {
      $("redundancy-fixed").hidden = radio("redundancy_kind") !== "fixed";
      $("redundancy-adaptive").hidden = radio("redundancy_kind") !== "adaptive";
    });
  });
  $("f-edit").addEventListener("change", function () { $("edit-minutes-wrap").hidden = $("f-edit").value !== "minutes"; });
  form.querySelectorAll('input[name="all_workers"]').forEach(function (r) {
    r.addEventListener("change", function () { $("pool-listed").hidden = radio("all_workers") === "true"; });
  });

  /* ---- live preview ------------------------------------------------------------------------- */
  var previewTimer = null, previewSeq = 0;
  $("f-instructions").addEventListener("input", preview);
  function preview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () {
      var seq = ++previewSeq;
      fetch("/console/preview", {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": Console.csrf(), "Accept": "text/html"},
        body: JSON.stringify({instructions: $("f-instructions").value,
                              top_heading: Number($("instructions-preview").dataset.topHeading)})
      }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
        if (html === null || seq !== previewSeq) return;
        if (html.trim()) { $("instructions-preview").innerHTML = html; return; }  /* escaped by the server */
        var none = document.createElement("p");  /* an empty preview said nothing: was it loading, or broken? */
        none.className = "muted";
        none.id = "no-instructions";
        none.textContent = "No instructions: workers see only the task and its labels.";
        $("instructions-preview").replaceChildren(none);
      }, function () {});
    }, 150);
  }

  /* ---- the bodies ------------------------------------------------------------------------- */
  function body() {
    var out = {
      name: $("f-name").value.trim(), labels: labels(), instructions: $("f-instructions").value,
      lease_seconds: num("f-lease"), gold_first_n: num("f-gold-first"), gold_fraction: num("f-gold-fraction"),
      gold_min: num("f-gold-min"), gold_threshold: num("f-gold-threshold"), status: $("f-status").value
    };
    if (radio("redundancy_kind") === "adaptive") {
      out.redundancy = {min: num("f-rmin"), max: num("f-rmax"), target_confidence: num("f-target")};
    } else {
      out.redundancy = num("f-redundancy");
    }
    out.edit_window = $("f-edit").value === "minutes" ? num("f-edit-minutes") : $("f-edit").value;
    var options = $("f-options").value.trim();
    try { out.options = options ? JSON.parse(options) : {}; }
    catch (e) { return {error: {field: "options", message: "options: not valid JSON (" + e.message + ")"}}; }
    if (isNew) out.task_type = taskType.value;
    Object.keys(out).forEach(function (k) { if (out[k] === null) delete out[k]; });
    return {body: out};
  }
  function poolBody() {
    var all = radio("all_workers") === "true";
    if (all) return {all_workers: true};
    var workers = $("f-workers").value.split(/[\s,]+/).filter(Boolean)  /* commas or spaces, as on Teams */
      .map(function (s) { return /^[0-9]+$/.test(s) ? Number(s) : s; });
    var teams = Array.prototype.map.call(form.querySelectorAll('input[name="teams"]:checked'),
                                         function (c) { return Number(c.value); });
    return {all_workers: false, workers: workers, teams: teams};
  }

  var saving = false, created = false;
  var savedPool = isNew ? null : JSON.stringify(poolBody());  /* the pool as stored: unchanged, it is not sent */
  /* The settings as stored, each as JSON: a save sends only those changed here, so a page open for a while does
     not put back what was changed meanwhile elsewhere (another tab, a script: a redundancy, a pause, an archive
     it never showed) */
  function snapshot(b) {
    var out = {};
    Object.keys(b).forEach(function (k) { out[k] = JSON.stringify(b[k]); });
    return out;
  }
  var savedSettings = isNew ? null : snapshot(body().body || {});
  function changedOnly(b) {
    var out = {};
    Object.keys(b).forEach(function (k) { if (savedSettings[k] !== JSON.stringify(b[k])) out[k] = b[k]; });
    return out;
  }
  /* ---- a change made elsewhere since this page was loaded (412 to If-Match) ------------------------------ */
  /* Each setting that another requester, tab or script changed meanwhile is put in the form when it was not changed
     here (and is not sent); a setting changed in both places keeps what was typed here, and the save stops to say
     so: saving again puts it in place, over the project as it now is. Nothing typed is lost. */
  var NAMES = {name: "Name", labels: "Labels", instructions: "Instructions", redundancy: "Answers per task",
               lease_seconds: "Lease", edit_window: "Workers may change answers", gold_first_n: "Gold shown first",
               gold_fraction: "Gold share mixed in", gold_min: "Gold answers before a worker can be stopped",
               gold_threshold: "Gold accuracy threshold", status: "Status", options: "Task type options",
               pool: "Who may work on it"};
  var retries = 0;
  function poolKey(p) {  /* a pool, as the form sends it or the API reads it, in one order */
    if (p.all_workers) return "all";
    var workers = (p.workers || []).map(function (w) { return typeof w === "object" ? w.username : String(w); }).sort();
    var teams = (p.teams || []).map(function (t) { return typeof t === "object" ? t.id : t; }).sort(function (a, b) { return a - b; });
    return JSON.stringify([workers, teams]);
  }
  var loadedPool = isNew ? null : poolKey(poolBody());  /* the pool as stored when last read */
  function fromServer(project) {  /* the settings of GET /api/projects/{id}, in the form's own shapes */
    var out = {};
    Object.keys(savedSettings).forEach(function (k) { if (k in project) out[k] = project[k]; });
    out.options = project.options || {};
    return out;
  }
  function shown(k, v, pool) {
    if (k === "labels") return v.length ? v.map(function (l) { return typeof l === "object" ? l.name : l; }).join(", ") : "none";
    if (k === "redundancy") return typeof v === "object" ? "adaptive, " + v.min + " to " + v.max + " until confidence " + v.target_confidence : String(v);
    if (k === "edit_window") return v === "until_final" ? "until the task is final" : v === "off" ? "never" : v + " minutes";
    if (k === "instructions") return v.trim() ? "\u201c" + (v.length > 80 ? v.slice(0, 80) + "\u2026" : v) + "\u201d" : "none";
    if (k === "options") return JSON.stringify(v);
    if (k === "pool") {
      if (pool.all_workers) return "every worker";
      var names = pool.workers.map(function (w) { return w.username; }).concat(pool.teams.map(function (t) { return "team " + t.name; }));
      return names.length ? names.join(", ") : "nobody";
    }
    return String(v);
  }
  function labelName(l) { return typeof l === "object" ? l.name : l; }
  /* The labels changed in both places, merged as both meant: the list as it now is, with the labels added here after
     it, those removed here left out and those whose colour or hotkey was changed here as changed here (two
     requesters each adding a label kept only the last one's) */
  function mergeLabels(base, mine, theirs) {
    function byName(list) { var m = {}; list.forEach(function (l) { m[labelName(l)] = JSON.stringify(l); }); return m; }
    var b = byName(base), m = byName(mine), out = [];
    theirs.forEach(function (l) {
      var n = labelName(l);
      if (n in b && !(n in m)) return;
      var restyled = n in b && n in m && m[n] !== b[n];
      out.push(restyled ? JSON.parse(m[n]) : l);
    });
    var have = byName(out);
    mine.forEach(function (l) { if (!(labelName(l) in b) && !(labelName(l) in have)) out.push(l); });
    return out;
  }
  function shownMine() {  /* the pool as this form has it, in the words of shown() */
    var p = poolBody();
    if (p.all_workers) return "every worker";
    var names = p.workers.map(String).concat(Array.prototype.map.call(
      form.querySelectorAll('input[name="teams"]:checked'), function (c) { return "team " + c.parentNode.textContent.trim().replace(/\s*\(\d+\)$/, ""); }));
    return names.length ? names.join(", ") : "nobody";
  }
  function setLabels(list, styles, stored) {  /* stored: the names the project has (the others are new here) */
    var colours = {};
    (styles || []).forEach(function (s) { colours[s.name] = s.color; });
    rows.replaceChildren();
    list.forEach(function (item) {
      var name = labelName(item), existing = !stored || stored.indexOf(name) >= 0;
      var node = $("label-row-template").content.firstElementChild.cloneNode(true);
      node.setAttribute("data-existing", existing ? "true" : "false");
      node.querySelector(".label-name").value = name;
      node.querySelector(".label-name").readOnly = existing;
      var colour = node.querySelector(".label-color");
      colour.value = (typeof item === "object" && item.color) || colours[name] || "#888888";
      colour.setAttribute("data-given", typeof item === "object" && item.color ? "true" : "false");
      node.querySelector(".label-hotkey").value = (typeof item === "object" && item.hotkey) || "";
      rows.appendChild(node);
    });
    renumber();
  }
  function fill(k, v, project) {  /* put a setting as now stored into its inputs */
    var inputs = {name: "f-name", lease_seconds: "f-lease", gold_first_n: "f-gold-first", gold_fraction: "f-gold-fraction",
                  gold_min: "f-gold-min", gold_threshold: "f-gold-threshold", status: "f-status"};
    if (inputs[k]) $(inputs[k]).value = v;
    else if (k === "instructions") { $("f-instructions").value = v; preview(); }
    else if (k === "options") $("f-options").value = JSON.stringify(v || {});
    else if (k === "labels") setLabels(v, project.label_styles);
    else if (k === "edit_window") {
      $("f-edit").value = typeof v === "number" ? "minutes" : v;
      if (typeof v === "number") $("f-edit-minutes").value = v;
      $("edit-minutes-wrap").hidden = typeof v !== "number";
    } else if (k === "redundancy") {
      var adaptive = typeof v === "object";
      form.querySelector('input[name="redundancy_kind"][value="' + (adaptive ? "adaptive" : "fixed") + '"]').checked = true;
      if (adaptive) { $("f-rmin").value = v.min; $("f-rmax").value = v.max; $("f-target").value = v.target_confidence; }
      else $("f-redundancy").value = v;
      $("redundancy-fixed").hidden = adaptive;
      $("redundancy-adaptive").hidden = !adaptive;
    }
  }
  function fillPool(pool) {
    form.querySelector('input[name="all_workers"][value="' + (pool.all_workers ? "true" : "false") + '"]').checked = true;
    $("pool-listed").hidden = pool.all_workers;
    $("f-workers").value = pool.workers.map(function (w) { return w.username; }).join(", ");
    var listed = {};
    pool.teams.forEach(function (t) { listed[t.id] = true; });
    form.querySelectorAll('input[name="teams"]').forEach(function (box) { box.checked = !!listed[Number(box.value)]; });
  }
  /* Read the project again after a 412, bring the form up to it (keeping what was typed here), and save again at
     once when nothing changed in both places; otherwise say what changed, beside a way to reload */
  function changedMeanwhile(before, meanwhile) {
    Console.busy(form, true);
    var base = "/api/projects/" + projectId;
    return Promise.all([Console.api("GET", base), Console.api("GET", base + "/pool")]).then(function (read) {
      Console.busy(form, false);
      var project = read[0], pool = read[1];
      if (project.error || pool.error || retries >= 3) {
        sayChanged(before + "This project was changed since you opened this page, and it could not be read again: " +
                   "reload the page to see it (what you typed here will be lost).");
        return;
      }
      retries += 1;
      var now = fromServer(project.data), built = body().body || {}, clashes = [], kept = meanwhile.slice();
      Object.keys(NAMES).filter(function (k) { return k in now; }).forEach(function (k) {  /* in the form's order */
        var stored = JSON.stringify(now[k]);
        if (stored === savedSettings[k]) return;
        var mine = savedSettings[k] !== JSON.stringify(built[k]);
        if (k === "labels" && mine && JSON.stringify(built[k]) !== stored) {
          var merged = mergeLabels(JSON.parse(savedSettings[k]), built[k], now[k]);
          setLabels(merged, project.data.label_styles, now[k].map(labelName));
          kept.push(NAMES[k] + " (now " + shown(k, now[k]) + "; saved with the changes made here: " + shown(k, merged) + ")");
        } else if (mine && JSON.stringify(built[k]) !== stored) {
          clashes.push(NAMES[k] + " is now " + shown(k, now[k]) + " (yours: " + shown(k, built[k]) + ")");
        } else {
          if (!mine) fill(k, now[k], project.data);
          kept.push(NAMES[k] + " (now " + shown(k, now[k]) + ")");
        }
        savedSettings[k] = stored;
      });
      var nowPool = poolKey(pool.data);
      if (nowPool !== loadedPool) {
        var minePool = JSON.stringify(poolBody()) !== savedPool;
        if (minePool && poolKey(poolBody()) !== nowPool) {
          clashes.push(NAMES.pool + " is now " + shown("pool", null, pool.data) + " (yours: " + shownMine() + ")");
        } else {
          if (!minePool) { fillPool(pool.data); savedPool = JSON.stringify(poolBody()); }
          kept.push(NAMES.pool + " (now " + shown("pool", null, pool.data) + ")");
        }
        loadedPool = nowPool;
      }
      version = project.etag || pool.etag;
      if (!clashes.length) { save(kept); return; }
      showSaved({status: now.status, name: now.name});  /* the header says the project as it now is */
      sayChanged(before + "Not saved: this project was changed since you opened this page. " + clashes.join("; ") + "." +
                 (kept.length ? " Also changed there, and now shown here: " + kept.join("; ") + "." : "") +
                 " What you typed is still in the form: save again to put yours in place, or ");
    });
  }
  function sayChanged(text) {
    say(text, false);
    if (/ or $/.test(text)) {
      var link = document.createElement("a");
      link.href = window.location.pathname;
      link.id = "reload-settings";
      link.textContent = "reload the page to start again from the project as it now is";
      status.append(link, " (what you typed here will be lost).");
    }
    status.setAttribute("tabindex", "-1");
    status.focus();
  }
  function sendPool() {
    var pool = poolBody();
    if (!created && JSON.stringify(pool) === savedPool) return Promise.resolve({data: null, error: null});
    return Console.api("PUT", "/api/projects/" + projectId + "/pool", pool, null, {"If-Match": version}).then(function (p) {
      if (!p.error) { savedPool = JSON.stringify(pool); loadedPool = poolKey(pool); version = p.etag || version; }
      return p;
    });
  }
  /* The project header (its name, its status badge) and the tab's title said the old values after a save: a
     project just paused still read "active" until a reload. */
  function showSaved(project) {
    var badge = document.querySelector(".project-header .status");
    if (badge && project.status) {
      badge.textContent = project.status;
      badge.className = "status status-" + project.status;
    }
    var heading = document.querySelector("#project-heading a");
    if (heading && project.name && heading.textContent !== project.name) {
      document.title = document.title.replace(" · " + heading.textContent + " · ", " · " + project.name + " · ");
      heading.textContent = project.name;
    }
  }
  function save(meanwhile) {
    if (saving) return;
    if (!meanwhile) retries = 0;
    Console.clearErrors(form);
    say("");
    var built = body();
    if (built.error) { Console.showError(form, built.error, status); return; }
    saving = true;
    Console.busy(form, true);
    /* An archived project changes nothing but its status: a pool change goes before archiving it, and after
       un-archiving it (the PATCH first) */
    var poolFirst = !isNew && built.body.status === "archived";
    var before = poolFirst ? sendPool() : Promise.resolve({data: null, error: null});
    var poolSaved = false;  /* an archived project's pool went first, and its settings may yet be refused */
    var sent = isNew ? built.body : changedOnly(built.body);
    var first = before.then(function (p) {
      if (p.error) return p;
      poolSaved = !!p.data;
      return isNew ? Console.api("POST", "/api/projects", sent)
                   : Console.api("PATCH", "/api/projects/" + projectId, sent, null, {"If-Match": version});
    });
    var patched = false;  /* the settings are saved and the pool, sent after them, may yet be refused */
    var settled = false;  /* the error was dealt with (and a save may have begun again) */
    first.then(function (r) {
      if (r.error) throw r;
      version = r.etag || version;
      if (!isNew) Object.keys(sent).forEach(function (k) { savedSettings[k] = JSON.stringify(sent[k]); });
      if (!isNew && !poolFirst) { patched = true; showSaved(r.data || built.body); }
      if (isNew) {  /* from now on this form edits the project it made */
        projectId = r.data.id;
        isNew = false;
        savedSettings = snapshot(sent);
        created = true;
        form.setAttribute("data-mode", "edit");
        form.setAttribute("data-project-id", projectId);
        taskType.removeAttribute("data-busy");  /* stays disabled once the form is done saving */
        $("save").textContent = "Save changes";
      }
      return (poolFirst ? Promise.resolve({data: null, error: null}) : sendPool()).then(function (p) {
        if (p.error) throw p;
        if (created) {
          try { sessionStorage.setItem("project-created", String(projectId)); } catch (e) { /* said nowhere */ }
          window.location.assign("/console/projects/" + projectId + "/import");
          return;  /* still busy while the next page loads: nothing typed now would be kept */
        }
        else {
          unsaved = false;
          showSaved(r.data || built.body);
          say("Saved." + (meanwhile && meanwhile.length ? " Changed elsewhere since you opened this page, and kept: " +
                          meanwhile.join("; ") + "." : ""), true);
        }
      });
    }).catch(function (r) {
      settled = true;
      saving = false;
      Console.busy(form, false);  /* first: a disabled input could not take the focus the error gives it */
      if (r && r.status === 412 && !created) {
        var before = poolSaved ? "Who may work on it was saved; the other settings were not. "
                   : patched ? "The other settings were saved; who may work on it was not. " : "";
        return changedMeanwhile(before, meanwhile || []);
      }
      if (created) say("The project was created; fix what is marked and save again.", false);
      else if (poolSaved) say("Who may work on it was saved; the other settings were not: fix what is marked and save again.", false);
      else if (patched) say("The other settings were saved; who may work on it was not: fix what is marked and save again.", false);
      Console.showError(form, r && r.error ? r.error : {message: String(r)}, status);
    }).then(function () {
      if (settled || created) return;  /* an error was handled above; a new project is on its way to Import */
      saving = false;
      Console.busy(form, false);
    });
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); save(); });
  /* Leaving with changes not saved asks first (a reload or a tab clicked took a new project's instructions away) */
  var unsaved = false;
  form.addEventListener("input", function () { unsaved = true; });
  form.addEventListener("change", function () { unsaved = true; });
  window.addEventListener("beforeunload", function (e) {
    if (!unsaved || created) return;
    e.preventDefault();
    e.returnValue = "";
  });
  form.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save(); }
  });

  /* ---- deleting (settings only): the typed name is the API's confirmation ---------------------------------- */
  var deleting = $("delete-form");
  if (deleting) {
    deleting.addEventListener("submit", function (e) {
      e.preventDefault();
      Console.clearErrors(deleting);
      Console.busy(deleting, true);
      Console.api("DELETE", "/api/projects/" + projectId + "?confirm=" + encodeURIComponent($("f-confirm").value))
        .then(function (r) {
          if (r.error) {
            Console.busy(deleting, false);
            if (r.error.field === "confirm") {  /* said in the page's words, not the API's query parameter's */
              r.error.message = $("f-confirm").value ? "that is not the project's name: type it exactly as shown"
                                                     : "type the project's name to delete it";
            }
            Console.showError(deleting, r.error, status);
            return;
          }
          var d = r.data.deleted;
          Console.flash("Deleted the project " + d.name + ": " + d.tasks.toLocaleString() + " task" + (d.tasks === 1 ? "" : "s") +
                        " and " + d.annotations.toLocaleString() + " answer" + (d.annotations === 1 ? "" : "s") + ".");
          unsaved = false;  /* the settings' unsaved changes went with the project: no question on leaving */
          window.location.assign("/console/projects");
        });
    });
  }
})();
