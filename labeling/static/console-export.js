/* The export page: the chosen format shows its options; the download link, the CLI command and the curl line are
   rebuilt from the same choices on every change. A bad option is the API's 400 naming its field, shown beside the
   option: the link is followed only once the server has answered 200 to the same URL. */
(function () {
  "use strict";
  var form = document.getElementById("export-form");
  if (!form) return;
  var projectId = form.getAttribute("data-project-id");
  var link = document.getElementById("download");
  var status = document.getElementById("export-status");

  function format() {
    var checked = form.querySelector('input[name="format"]:checked');
    return checked ? checked : null;
  }
  function chosen() {
    var fmt = format();
    var takes = fmt ? fmt.getAttribute("data-takes").split(",").filter(Boolean) : [];
    var params = [["format", fmt ? fmt.value : ""]];
    form.querySelectorAll("[data-option]").forEach(function (wrap) {
      var name = wrap.getAttribute("data-option");
      var shown = takes.indexOf(name) >= 0;
      wrap.hidden = !shown;
      if (!shown) return;
      var control = wrap.querySelector("input, select");
      if (control.type === "checkbox") { if (control.checked) params.push([name, "true"]); }
      else if (control.value.trim() !== "") params.push([name, control.value.trim()]);
    });
    document.getElementById("no-options").hidden = takes.length > 0;
    return params;
  }
  function quote(s) { return /^[A-Za-z0-9_.,=:\/+-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'"; }
  function update() {
    var params = chosen();
    var query = params.map(function (p) {
      return encodeURIComponent(p[0]) + "=" + encodeURIComponent(p[1]).replace(/%2C/g, ",").replace(/%3D/g, "=").replace(/%3A/g, ":");
    }).join("&");
    var url = "/api/projects/" + projectId + "/export?" + query;
    link.href = url;
    var cli = "labeling export " + projectId + " --format " + quote(params[0][1]);
    params.slice(1).forEach(function (p) {
      var flag = "--" + p[0].replace(/_/g, "-");
      var isSwitch = form.querySelector('[data-option="' + p[0] + '"] input[type=checkbox]');
      cli += isSwitch ? " " + flag : " " + flag + " " + quote(p[1]);
    });
    document.getElementById("cli-command").textContent = cli;
    /* quoted as the CLI's values are: an option taken from the address may hold a ' (which a URL keeps as it is) */
    document.getElementById("curl-command").textContent =
      'curl -fOJ -H "Authorization: Bearer $TOKEN" ' + quote(window.location.origin + url);
    history.replaceState(null, "", "?" + query);  /* a reload (or the address, shared) keeps the choices */
  }

  /** The choices the page's address holds (this page's own, as update() wrote them): a reload lost them all. */
  function restore() {
    new URLSearchParams(window.location.search).forEach(function (value, name) {
      if (name === "format") {
        var radio = form.querySelector('input[name="format"][value="' + CSS.escape(value) + '"]');
        if (radio) radio.checked = true;
        return;
      }
      var wrap = form.querySelector('[data-option="' + CSS.escape(name) + '"]');
      var control = wrap && wrap.querySelector("input, select");
      if (!control) return;
      if (control.type === "checkbox") control.checked = value === "true";
      else control.value = value;
    });
  }
  /* errors go as soon as the input changes (on input, not on change: a change event comes on blur, and a message
     removed then would move the Download button away from under the pointer) */
  form.addEventListener("input", function () { Console.clearErrors(form); status.hidden = true;
    document.getElementById("export-started").hidden = true; update(); });
  form.addEventListener("change", update);
  form.addEventListener("submit", function (e) { e.preventDefault(); link.click(); });

  /* A bad option answers 400 before any byte of the file: check with a request that is cancelled as soon as the
     headers arrive, and follow the link only then (the download itself streams). */
  link.addEventListener("click", function (e) {
    e.preventDefault();
    var url = link.href;
    Console.clearErrors(form);
    status.hidden = true;
    /* the check takes a moment on a large project and the browser's download shows elsewhere: said here */
    var started = document.getElementById("export-started");
    started.textContent = "Preparing the download…";
    started.hidden = false;
    var controller = new AbortController();
    fetch(url, {credentials: "same-origin", signal: controller.signal}).then(function (r) {
      if (r.ok) {
        var name = /filename="?([^";]+)"?/.exec(r.headers.get("Content-Disposition") || "");
        controller.abort();
        window.location.assign(url);  /* an attachment: the browser downloads it and stays on this page */
        started.textContent = "Download started" + (name ? ": " + name[1] : "") + " (your browser saves it; see its downloads).";
        return;
      }
      started.hidden = true;
      return r.json().then(function (body) {
        Console.showError(form, body.error || {message: "the export failed (" + r.status + ")"}, status);
      }, function () { Console.showError(form, {message: "the export failed (" + r.status + ")"}, status); });
    }, function () {
      started.hidden = true;
      Console.showError(form, {message: "the server could not be reached"}, status);
    });
  });

  restore();
  update();
})();
