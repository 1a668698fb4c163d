/* Image and text classification, single label or multi-label: number keys pick labels; an image zooms and pans
 * (widgets.js ZoomView, as on the bounding-box page). */
(function () {
  "use strict";
  var L = window.Labeling;
  var labels = [], multi = false, selected = new Set(), picker = null, image = null, view = null, textBox = null, ctx = null;
  var imageState = "loading"; // of an image task: "loading", "shown" or "failed"
  var history;

  function chosen() { return labels.filter(function (l) { return selected.has(l); }); }

  function pick(label) {
    if (multi) {
      if (selected.has(label)) selected.delete(label); else selected.add(label);
    } else {
      selected = new Set([label]);
    }
    picker.setSelected(selected);
    history.commit();
    ctx.message(multi ? (selected.size ? "Selected: " + chosen().join(", ") : "No label selected.")
                      : "Selected: " + label + ". Press Enter to submit.", "");
  }

  L.register({
    init: function (context) {
      ctx = context;
      labels = context.config.labels;
      multi = /multilabel$/.test(context.config.task_type);
      image = document.getElementById("subject-image");
      textBox = document.getElementById("subject-text");
      picker = new L.LabelPicker(document.getElementById("labels"), labels, pick);
      history = new L.History(chosen, function (state) {
        selected = new Set(state);
        picker.setSelected(selected);
      });
      if (image) {
        view = new L.ZoomView(document.getElementById("image-frame"), document.getElementById("image-stage"),
                              {toolbar: document.getElementById("zoom-bar"), dragPans: true, arrowsPan: true});
        image.addEventListener("load", function () { imageState = "shown"; view.show(image.naturalWidth, image.naturalHeight); });
        image.addEventListener("error", function () {
          if (!image.getAttribute("src")) return;
          imageState = "failed";
          view.failed();
          ctx.message(L.IMAGE_FAILED, "error");
        });
      }
    },
    load: function (task) {
      selected = new Set();
      var prefilled = false, p = task.predictions;
      if (image) {
        image.removeAttribute("src"); // never show the previous task's image while the next one loads
        imageState = "loading";
        view.show(0, 0);
        image.src = L.mediaUrl(task.data.image);
        if (image.complete && image.naturalWidth) { imageState = "shown"; view.show(image.naturalWidth, image.naturalHeight); }
      } else {
        textBox.textContent = L.shown(task.data.text);
      }
      if (p && multi && Array.isArray(p.labels)) {
        p.labels.forEach(function (l) { if (labels.indexOf(l) >= 0) selected.add(l); });
        prefilled = true;
      } else if (p && !multi && labels.indexOf(p.label) >= 0) {
        selected.add(p.label);
        prefilled = true;
      }
      picker.setSelected(selected);
      history.reset();
      return prefilled;
    },
    answer: function () {
      // An image not on screen yet (a slow network) is not labeled: Enter saved a label, or a multi-label's empty
      // answer, for an image the worker had never seen.
      if (image && imageState !== "shown") return {error: imageState === "failed" ? L.IMAGE_FAILED : L.IMAGE_LOADING};
      if (multi) return {answer: {labels: chosen()}};
      if (!selected.size) return {error: "Pick a label first: click it or press its number key."};
      return {answer: {label: Array.from(selected)[0]}};
    },
    // The labels' keys first: 0 fits the image only where no tenth label takes it.
    onKey: function (e) { return picker.handleKey(e) || (view !== null && view.handleKey(e)); },
    undo: function (redo) { return history.step(redo); },
    meta: function () {
      if (!image || !image.naturalWidth) return {};
      return {image: {natural_width: image.naturalWidth, natural_height: image.naturalHeight}};
    },
    clear: function () {
      if (image) image.removeAttribute("src");
      if (textBox) textBox.textContent = "";
    },
  });
})();
