/* The results page: each row's consensus drawn by ConsoleViews from the rows the page carries (JSON), the filter
   that failed marked beside its field, and J/K (or arrows) to move between tasks, Enter to open one. */
(function () {
  "use strict";
  var L = window.Labeling, V = window.ConsoleViews;
  var payload = JSON.parse(document.getElementById("results-data").textContent);
  var config = payload.config;
  L.setLabelStyles(config.label_styles);

  document.querySelectorAll("[data-row]").forEach(function (slot) {
    var row = payload.rows[Number(slot.dataset.row)];
    slot.replaceChildren(V.answer(config, row.data, row.answer, {thumb: true, withData: true, clip: true}));
  });

  // On a phone the filters start folded (unless some are set), so the first tasks are on the first screen.
  var box = document.getElementById("filters-box");
  if (box && !box.hasAttribute("data-active") && window.matchMedia("(max-width: 760px)").matches) box.open = false;

  var error = payload.error;
  if (error && error.field) {
    var form = document.getElementById("filters");
    window.Console.showError(form, error, document.getElementById("filter-error"));
  }

  // Recompute consensus: the project-wide consensus (POST .../consensus); what it did is said, then the page
  // shows the new results.
  var recompute = document.getElementById("recompute-btn");
  var said = document.getElementById("recompute-status");
  // What the recompute did stays said on the page it reloads (the reload came before it could be read).
  var keptKey = "recomputed-" + config.project_id, kept = window.sessionStorage.getItem(keptKey);
  if (kept && said) {
    window.sessionStorage.removeItem(keptKey);
    said.hidden = false;
    said.textContent = kept;
    said.classList.add("ok");
    if (recompute) recompute.focus();  /* the reload put the keyboard at the top; it goes on where it was */
  }
  if (recompute) recompute.addEventListener("click", function () {
    recompute.disabled = true;
    said.hidden = false;
    said.classList.remove("error", "ok");
    said.textContent = "Recomputing…";
    window.Console.api("POST", "/api/projects/" + config.project_id + "/consensus", {}).then(function (res) {
      recompute.disabled = false;
      if (res.error) {
        said.textContent = res.error.message;
        said.classList.add("error");
        return;
      }
      var d = res.data;
      var done = "Recomputed " + d.tasks + " task" + (d.tasks === 1 ? "" : "s") + " (" + d.method + ", " +
        d.seconds + " s)." + (d.reopened ? " " + d.reopened + " completed task" + (d.reopened === 1 ? " wants" : "s want") +
        " one more answer." : "");
      said.textContent = done + " Showing the new results…";
      said.classList.add("ok");
      window.sessionStorage.setItem(keptKey, done);
      window.setTimeout(function () { window.location.reload(); }, 1200);
    });
  });

  var links = Array.prototype.slice.call(document.querySelectorAll("#results-table a.task-link"));
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || !links.length) return;
    var t = e.target;
    if (t && /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return;
    var step = {j: 1, k: -1, ArrowDown: 0, ArrowUp: 0}[e.key];
    if (step === undefined || (step === 0 && links.indexOf(t) < 0)) return;
    if (step === 0) step = e.key === "ArrowDown" ? 1 : -1;
    e.preventDefault();
    var at = links.indexOf(document.activeElement);
    links[Math.max(0, Math.min(links.length - 1, at < 0 ? 0 : at + step))].focus();
  });
})();
