/* The account page: a new API token for the signed-in user (POST /api/users/me/token), shown once with Copy. */
(function () {
  "use strict";
  var button = document.getElementById("new-token");
  if (!button) return;
  var box = document.getElementById("secret"), value = document.getElementById("secret-value");
  var line = Console.statusLine(document.getElementById("token-status"));
  button.addEventListener("click", function () {
    if (!window.confirm("Make a new API token? Your current token stops working now: scripts that use it need the new one.")) return;
    line.unsay();
    button.disabled = true;
    Console.api("POST", "/api/users/me/token").then(function (r) {
      button.disabled = false;
      if (r.error) { line.say(r.error.message, false); button.focus(); return; }
      value.textContent = r.data.token;
      box.hidden = false;
      box.focus();  /* the token is what comes next: a screen reader reads it from here */
      line.say("New token made: the old one no longer works.", true);
    });
  });
  function close() {
    value.textContent = "";  /* not left on the page for the next person at this screen */
    box.hidden = true;
    button.focus();
  }
  document.getElementById("secret-close").addEventListener("click", close);
  Console.escapeCloses(box, close);
})();
