/* The quality page: block and unblock a worker through the JSON API, then show the page again. */
(function () {
  "use strict";
  var table = document.getElementById("workers");
  var status = document.getElementById("workers-status");
  if (!table) return;
  var project = location.pathname.split("/")[3];

  table.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-action]");
    if (!button) return;
    var action = button.getAttribute("data-action");
    var row = button.closest("tr");
    var who = row.getAttribute("data-username");
    if (action === "block" && !window.confirm("Block " + who + " in this project? Their answers leave the consensus.")) return;
    button.disabled = true;
    Console.api("POST", "/api/projects/" + project + "/workers/" + button.getAttribute("data-worker-id") + "/" + action)
      .then(function (r) {
        if (r.error) {
          button.disabled = false;
          status.hidden = false;
          status.className = "form-status error";
          status.textContent = who + ": " + r.error.message;
          return;
        }
        sessionStorage.setItem("quality-status", who + (action === "block" ? " is blocked." : " may work again."));
        sessionStorage.setItem("quality-worker", button.getAttribute("data-worker-id"));
        location.reload();
      });
  });

  var done = sessionStorage.getItem("quality-status");
  if (done) {
    sessionStorage.removeItem("quality-status");
    status.hidden = false;
    status.className = "form-status ok";
    status.textContent = done;
    /* the keyboard goes on where it was: the worker's row now holds the other button (Unblock for Block) */
    var again = table.querySelector('button[data-worker-id="' + CSS.escape(sessionStorage.getItem("quality-worker") || "") + '"]');
    if (again) again.focus();
  }
  sessionStorage.removeItem("quality-worker");
})();
