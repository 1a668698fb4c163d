/* The people page: every change through the JSON API (Console.api), errors beside their field, then the page again. */
(function () {
  "use strict";
  var status = document.getElementById("people-status");
  var said = Console.statusLine(status);
  var say = said.say, unsay = said.unsay;

  function again(text, secret) {
    sessionStorage.setItem("people-status", JSON.stringify({text: text, secret: secret || null}));
    location.reload();
  }

  function showSecret(title, value) {
    document.getElementById("secret-title").textContent = title;
    document.getElementById("secret-value").textContent = value;
    var box = document.getElementById("secret");
    box.hidden = false;
    // It is shown once, at the top of the page: bring it into sight (a button far down the users list made it).
    box.scrollIntoView({block: "nearest"});
    box.focus({preventScroll: true});
  }

  function closeSecret() {
    document.getElementById("secret-value").textContent = "";
    document.getElementById("secret").hidden = true;
    status.tabIndex = -1;  /* the focus was in the box just hidden: it goes to the line that says what was done */
    status.focus();
  }
  document.getElementById("secret-close").addEventListener("click", closeSecret);
  Console.escapeCloses(document.getElementById("secret"), closeSecret);
  document.querySelectorAll("details.reset").forEach(function (details) {
    Console.escapeCloses(details, function () {  /* back to its summary, the button that opened it */
      details.open = false;
      details.querySelector("summary").focus();
    });
  });

  var kept = sessionStorage.getItem("people-status");
  if (kept) {
    sessionStorage.removeItem("people-status");
    kept = JSON.parse(kept);
    said.announce(kept.text, true);
    if (kept.secret) showSecret(kept.secret.title, kept.secret.value);  /* then the secret has the focus */
  }

  var send = said.send;

  function names(text) {
    return text.split(/[\s,]+/).filter(Boolean);  /* usernames have no spaces: either separates them, as on Teams */
  }

  document.getElementById("new-user").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    var body = {username: form.username.value.trim(), role: form.role.value};
    if (form.password.value) body.password = form.password.value;
    send(form, "POST", "/api/users", body, function (user) {
      again("Created " + user.username + " (" + user.role + ").",
            {title: "API token of " + user.username, value: user.token});
    });
  });

  document.querySelectorAll("form.reset-password").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var who = form.closest("tr").getAttribute("data-username");
      var me = form.closest("tr").getAttribute("data-me") === "true";
      send(form, "POST", "/api/users/" + form.getAttribute("data-user-id") + "/password",
           {password: form.password.value}, function () {
        form.password.value = "";
        form.closest("details").open = false;
        /* one's own reset ends this session too: "their sessions ended" left the next click at the sign-in page */
        say(me ? "Your new password is set and your sessions ended, this one too: sign in again with it."
               : "New password set for " + who + "; their sessions ended.", true);
      });
    });
  });

  document.getElementById("users").addEventListener("click", function (e) {
    var button = e.target.closest("button[data-action]");
    if (!button) return;
    var action = button.getAttribute("data-action");
    var who = button.closest("tr").getAttribute("data-username");
    if (action === "deactivate" && !window.confirm("Deactivate " + who + "? Their token and sessions stop working.")) return;
    if (action === "token" && !window.confirm("Give " + who + " a new API token? The old one stops working.")) return;
    unsay();
    button.disabled = true;
    Console.api("POST", "/api/users/" + button.getAttribute("data-user-id") + "/" + action).then(function (r) {
      button.disabled = false;
      if (r.error) { say(who + ": " + r.error.message, false); return; }
      if (action === "token") { showSecret("New API token of " + who, r.data.token); say("New token for " + who + ".", true); return; }
      again(who + (action === "deactivate" ? " is deactivated." : " is active again."));
    });
  });

  document.getElementById("new-team").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    send(form, "POST", "/api/teams", {name: form.name.value.trim(), members: names(form.members.value)}, function (team) {
      again("Created the team " + team.name + ".");
    });
  });

  document.querySelectorAll("form.add-member").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var team = form.closest(".team").getAttribute("data-team-name");
      send(form, "POST", "/api/teams/" + form.getAttribute("data-team-id") + "/members",
           {workers: names(form.workers.value)}, function () {
        again("Added " + names(form.workers.value).join(", ") + " to " + team + ".");
      });
    });
  });

  document.getElementById("teams").addEventListener("click", function (e) {
    var button = e.target.closest("button.remove-member");
    if (!button) return;
    var team = button.closest(".team").getAttribute("data-team-name");
    var who = button.closest("li").getAttribute("data-member");
    unsay();
    button.disabled = true;
    Console.api("DELETE", "/api/teams/" + button.getAttribute("data-team-id") + "/members/" + button.getAttribute("data-worker-id"))
      .then(function (r) {
        button.disabled = false;
        if (r.error) { say(team + ": " + r.error.message, false); return; }
        again("Removed " + who + " from " + team + ".");
      });
  });
})();
