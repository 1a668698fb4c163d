/* Demonstration: read the prompt, write the ideal response (Ctrl+Enter submits from the text box). */
(function () {
  "use strict";
  var L = window.Labeling;
  var prompt = null, context = null, box = null, count = null;

  function updateCount() {
    var n = Array.from(box.value).length;
    count.textContent = n.toLocaleString() + (n === 1 ? " character" : " characters");
  }

  L.register({
    init: function () {
      prompt = document.getElementById("prompt-text");
      context = document.getElementById("context");
      box = document.getElementById("response");
      count = document.getElementById("char-count");
      box.addEventListener("input", updateCount);
    },
    load: function (task) {
      var data = task.data, p = task.predictions;
      prompt.textContent = L.shown(data.prompt);
      // Extra string fields (a system message, context, ...) are shown under the prompt as they are.
      var extras = Object.keys(data).filter(function (k) {
        return k !== "prompt" && (typeof data[k] === "string" || typeof data[k] === "number");
      });
      context.replaceChildren();
      extras.forEach(function (k) {
        context.append(L.el("dt", {text: k.replace(/_/g, " ")}), L.el("dd", {dir: "auto", text: L.shown(data[k])}));
      });
      context.hidden = extras.length === 0;
      var prefilled = !!(p && typeof p.text === "string");
      box.value = prefilled ? p.text : "";
      updateCount();
      return prefilled;
    },
    answer: function () {
      if (!box.value.trim()) return {error: "Write a response first."};
      return {answer: {text: box.value}};
    },
    onKey: function (e) {
      if (e.key === "w" || e.key === "W") { box.focus(); return true; }
      return false;
    },
    focus: function () {
      // Writing is the task, so the text box takes the keyboard at once (not on touch screens: no keyboard pop-up).
      if (!window.matchMedia("(pointer: fine)").matches) return;
      box.focus({preventScroll: true});
      box.setSelectionRange(box.value.length, box.value.length);
    },
    clear: function () { prompt.textContent = ""; box.value = ""; },
  });
})();
