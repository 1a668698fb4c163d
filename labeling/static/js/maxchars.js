/* A text input's limit counted as the API counts it: in characters (code points). The HTML maxlength counts UTF-16
   units, so an emoji counted twice and a name the API takes was cut short in the browser. An input with
   data-maxchars="N" takes at most N characters: typing or pasting past it keeps what fits, as maxlength would. */
(function () {
  "use strict";
  function chars(text) { return Array.from(text); }
  function limit(el) {
    var max = Number(el.getAttribute("data-maxchars"));
    var now = chars(el.value);
    if (!(max >= 0) || now.length <= max) { el.maxcharsLast = el.value; return; }
    var before = chars(el.maxcharsLast === undefined ? "" : el.maxcharsLast);
    var p = 0;  /* what the edit kept at the start and at the end; what it put between them */
    while (p < before.length && p < now.length && before[p] === now[p]) p++;
    var s = 0;
    while (s < before.length - p && s < now.length - p && before[before.length - 1 - s] === now[now.length - 1 - s]) s++;
    var inserted = now.slice(p, now.length - s).slice(0, Math.max(0, max - p - s));
    var kept = now.slice(0, p).concat(inserted, now.slice(now.length - s)).slice(0, max);
    el.value = kept.join("");
    var caret = Math.min(kept.length, p + inserted.length);
    var at = kept.slice(0, caret).join("").length;  /* the caret in UTF-16 units */
    try { el.setSelectionRange(at, at); } catch (e) { /* not a text input */ }
    el.maxcharsLast = el.value;
  }
  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("[data-maxchars]")) e.target.maxcharsLast = e.target.value;
  });
  document.addEventListener("input", function (e) {
    if (e.isComposing || !e.target.matches || !e.target.matches("[data-maxchars]")) return;
    limit(e.target);
  });
  document.addEventListener("compositionend", function (e) {
    if (e.target.matches && e.target.matches("[data-maxchars]")) limit(e.target);
  });
})();
