/* The teams pages (list and one team): every change through the JSON API (Console.api), errors beside their field,
   then the page again with a line saying what was done. */
(function () {
  "use strict";
  var KEY = "teams-status";
  var status = document.getElementById(KEY);
  var said = Console.statusLine(status);
  var say = said.say, unsay = said.unsay;

  /** Say `text` on the page that comes next: this one again, or `url`. */
  function again(text, url) {
    sessionStorage.setItem(KEY, text);
    if (url) location.assign(url); else location.reload();
  }

  var kept = sessionStorage.getItem(KEY);
  if (kept) {
    sessionStorage.removeItem(KEY);
    said.announce(kept, true);
  }

  /** Usernames typed in a field, separated by commas or spaces (a username has neither). */
  function names(text) {
    return text.split(/[\s,]+/).filter(Boolean);
  }

  var send = said.send;

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  /* ---- the list: a new team ---- */
  var create = document.getElementById("new-team");
  if (create) {
    create.addEventListener("submit", function (e) {
      e.preventDefault();
      var members = names(create.members.value);
      send(create, "POST", "/api/teams", {name: create.name.value.trim(), members: members}, function (team) {
        again("Created the team " + team.name + " with " + plural(team.members, "member") + ".");
      });
    });
  }

  /* ---- one team: add, remove, delete ---- */
  var page = document.getElementById("team");
  if (!page) return;
  var teamId = page.getAttribute("data-team-id");
  var teamName = page.getAttribute("data-team-name");
  var base = "/api/teams/" + encodeURIComponent(teamId);

  var add = document.getElementById("add-members");
  add.addEventListener("submit", function (e) {
    e.preventDefault();
    var workers = names(add.workers.value);
    if (!workers.length) {
      Console.clearErrors(add);
      Console.showError(add, {field: "workers", message: "type the username of a worker to add"}, status);
      return;
    }
    send(add, "POST", base + "/members", {workers: workers}, function (data) {
      var distinct = workers.filter(function (w, i) { return workers.indexOf(w) === i; });
      var text = data.added === distinct.length ? "Added " + distinct.join(", ") + " to " + teamName + "."
        : data.added === 0 ? (distinct.length === 1 ? distinct[0] + " is" : "They are all") + " already in " + teamName + "."
        : "Added " + data.added + " of " + distinct.join(", ") + " to " + teamName + "; the others were already in it.";
      again(text);
    });
  });

  var members = document.getElementById("members");
  if (members) {
    members.addEventListener("click", function (e) {
      var button = e.target.closest("button.remove-member");
      if (!button) return;
      var who = button.closest("li").getAttribute("data-member");
      unsay();
      button.disabled = true;
      Console.api("DELETE", base + "/members/" + encodeURIComponent(button.getAttribute("data-worker-id")))
        .then(function (r) {
          button.disabled = false;
          if (r.error) { say(who + ": " + r.error.message, false); return; }
          again("Removed " + who + " from " + teamName + ".");
        });
    });
  }

  var remove = document.getElementById("delete-team");
  remove.addEventListener("click", function () {
    var pools = Number(page.getAttribute("data-pools")) || 0;
    var question = "Delete the team " + teamName + "?" + (pools === 1
      ? " 1 project lists it in its pool and will no longer do so." : pools
      ? " " + pools + " projects list it in their pools and will no longer do so." : "")
      + " Its members keep their accounts and answers.";
    if (!window.confirm(question)) return;
    unsay();
    remove.disabled = true;
    Console.api("DELETE", base).then(function (r) {
      remove.disabled = false;
      if (r.error) { say(r.error.message, false); return; }
      again("Deleted the team " + teamName + ".", "/console/teams");
    });
  });
})();
