/* The import page: files dropped or chosen go to the import API (all or nothing); CSV is read here, its columns
   mapped to data fields, and sent as JSON Lines (a bad row is named by its line in the CSV file); images go to the
   same API as one multipart import (progress bar), each image a task: the server checks every image before it
   writes any and takes them away again if the import is refused, so a refused drop leaves nothing behind. */
(function () {
  "use strict";
  var root = document.getElementById("import");
  if (!root) return;
  var projectId = root.getAttribute("data-project-id");
  var fields = root.getAttribute("data-fields").split(",").filter(Boolean);
  var acceptsImages = root.getAttribute("data-image") === "true";
  var goldExample = root.getAttribute("data-gold-example") || "";
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("file-input");
  var result = document.getElementById("import-result");
  var progress = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var busy = false;
  var tasksUrl = "/api/projects/" + projectId + "/tasks";

  function show(kind, html) {
    var p = document.createElement("p");
    p.className = kind === "ok" ? "notice import-ok" : "error import-error";
    p.setAttribute("role", kind === "ok" ? "status" : "alert");
    p.textContent = html;
    result.textContent = "";
    result.appendChild(p);
  }
  /* The project form sends a new project here: say that it was made (once; a reload says nothing). */
  try {
    if (sessionStorage.getItem("project-created") === projectId) {
      sessionStorage.removeItem("project-created");
      show("ok", "Project created. Add its tasks here.");
    }
  } catch (e) { /* storage disabled: nothing to say */ }
  function created(n, what) {
    show("ok", "Imported " + n.toLocaleString() + " task" + (n === 1 ? "" : "s") + " from " + what + ".");
    if (!pending) return;
    var seen = imported();
    seen[pending] = {what: what, n: n};
    try { sessionStorage.setItem("imported-" + projectId, JSON.stringify(seen)); } catch (e) { /* not remembered */ }
  }
  /* The same file dropped again (the first drop thought lost, or a second tab) added every task a second time
     without a word: the files imported from this page (this tab, by name and size) are asked about first */
  var pending = null;
  function imported() {
    try { return JSON.parse(sessionStorage.getItem("imported-" + projectId) || "{}") || {}; } catch (e) { return {}; }
  }
  function again(files) {
    pending = files.map(function (f) { return f.name + ":" + f.size; }).sort().join("|");
    var before = imported()[pending];
    if (!before) return true;
    var ok = window.confirm(before.what + " was imported from this page already (" + before.n.toLocaleString() + " task" +
                            (before.n === 1 ? "" : "s") + "). Import it again? Its tasks would be added a second time " +
                            "(any whose external_id is already in the project would be refused).");
    if (!ok) show("ok", "Not imported again: " + before.what + " is in the project once.");
    return ok;
  }
  function setProgress(done, total, label) {
    progress.hidden = false;
    bar.max = Math.max(total, 1);
    bar.value = done;
    document.getElementById("upload-label").textContent = label;
  }

  /* ---- choosing files -------------------------------------------------------------------- */
  zone.addEventListener("click", function () { if (!busy) input.click(); });
  zone.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); if (!busy) input.click(); }
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    if (!busy) take(Array.prototype.slice.call(e.dataTransfer.files));
  });
  input.addEventListener("change", function () {
    take(Array.prototype.slice.call(input.files));
    input.value = "";
  });

  function kind(file) {
    var name = file.name.toLowerCase();
    if (/\.(csv|tsv|tab)$/.test(name)) return "csv";  /* a table: TSV is CSV with tabs (parseCsv) */
    if (/\.(jsonl|ndjson)$/.test(name)) return "jsonl";
    if (/\.json$/.test(name)) return "json";
    if (/^image\//.test(file.type) || /\.(png|jpe?g|gif|webp|bmp|tiff?)$/.test(name)) return "image";
    return null;
  }

  function take(files) {
    if (!files.length) return;
    result.textContent = "";
    closeMapping();  /* a file mapped before and not imported: Import would send it, not what was dropped now */
    var images = files.filter(function (f) { return kind(f) === "image"; });
    var others = files.filter(function (f) { return kind(f) !== "image"; });
    var unknown = others.filter(function (f) { return kind(f) === null; });
    if (unknown.length) {
      show("error", unknown[0].name + ": not a JSON, JSON Lines, CSV or TSV" + (acceptsImages ? " file, nor an image" : " file") +
           " (the kind is told by the name's ending: .json, .jsonl, .csv, .tsv" + (acceptsImages ? ", .png, .jpg…" : "") + ").");
      return;
    }
    if (images.length && !acceptsImages) {
      show("error", images[0].name + ": this project's tasks are text; images go to image projects.");
      return;
    }
    if (images.length && others.length) {
      show("error", "Drop task files and images separately.");
      return;
    }
    if (others.length > 1) { show("error", "Drop one task file at a time."); return; }
    if (!again(images.length ? images : others)) return;
    if (images.length) { uploadImages(images); return; }
    var file = others[0];
    if (kind(file) === "csv") {
      file.arrayBuffer().then(function (bytes) {
        var text = utf8(file.name, bytes);
        if (text !== null) mapCsv(file.name, text);
      });
      return;
    }
    if (kind(file) === "jsonl") { sendTasks(file, "application/x-ndjson", file.name, null); return; }
    file.text().then(function (text) { sendTasks(file, "application/json", file.name, {elements: elementLines(text)}); });
  }

  /* ---- sending tasks ------------------------------------------------------------------- */
  function describe(error, name, lineMap) {
    var message = error.message || "the import failed";
    if (error.line && lineMap && lineMap.csv) {  /* a JSON Lines line we made from a CSV row: the CSV file's line */
      var line = lineMap.csv[error.line - 1];
      return name + ", line " + line + ": " + message.replace(/^line [0-9]+: /, "") + " — nothing was stored.";
    }
    if (error.line) return name + ", line " + error.line + ": " + message.replace(/^line [0-9]+: /, "") + " — nothing was stored.";
    if (error.index !== undefined) {
      var at = lineMap && lineMap.elements && lineMap.elements[error.index];
      return name + (at ? ", line " + at : "") + ", task " + (error.index + 1) + ": " +
        message.replace(/^tasks\[[0-9]+\][.:]? ?/, "") + " — nothing was stored.";
    }
    return name + ": " + message + " — nothing was stored.";
  }
  function sendTasks(body, contentType, name, lineMap) {
    busy = true;
    var size = body.size || body.length || 0;
    setProgress(0, size, "Uploading " + name + "…");
    return Console.upload("POST", tasksUrl, body, contentType, function (loaded, total) {
      setProgress(loaded, total, loaded < total ? "Uploading " + name + "…" : "Checking the tasks…");
    }).then(function (r) {
      busy = false;
      progress.hidden = true;
      if (r.error) show("error", describe(r.error, name, lineMap));
      else created(r.data.created, name);
      return r;
    });
  }

  /** The line each element of a JSON array starts on (so an error about tasks[i] can name its line). */
  function elementLines(text) {
    var lines = [], depth = 0, line = 1, inString = false, expecting = false, i, c;
    for (i = 0; i < text.length; i++) {
      c = text[i];
      if (c === "\n") line++;
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (expecting && !/\s/.test(c)) { lines.push(line); expecting = false; }
      if (c === '"') inString = true;
      else if (c === "[" || c === "{") { depth++; if (depth === 1 && c === "[") expecting = true; }
      else if (c === "]" || c === "}") depth--;
      else if (c === "," && depth === 1) expecting = true;
    }
    return lines;
  }

  /* ---- CSV --------------------------------------------------------------------------- */
  /** A table's text, or null once said why not: a file that is not UTF-8 (a spreadsheet's "CSV" in Windows-1252,
      Excel's default) was read with U+FFFD in place of each accented letter and imported so ("caf\ufffd"), while
      a JSON file of the same bytes is refused by the API; the CSV is read here, so it is refused here, its line
      named. */
  function utf8(name, bytes) {
    try { return new TextDecoder("utf-8", {fatal: true}).decode(bytes); }
    catch (e) {
      var lossy = new TextDecoder("utf-8").decode(bytes), at = lossy.indexOf("\ufffd");
      var line = at < 0 ? 1 : lossy.slice(0, at).split(/\r\n|\r|\n/).length;
      show("error", name + ", line " + line + ": not UTF-8 text (save the table as UTF-8: in Excel, \u201cCSV UTF-8\u201d)" +
           " — nothing was stored.");
      return null;
    }
  }

  /** RFC 4180 CSV (or TSV: the same with tabs): {rows: [{cells, line}], error, sep}, each row with the file line it
      starts on; a line ends at \r\n, \n or a lone \r (old Mac exports), inside a quoted value too, so errors name
      the right line. The separator is a tab for a file named .tsv or .tab, or whose header has tabs and no commas
      (as `labeling aggregate` reads tables). A value is quoted when a quote opens it, after spaces too (`a, "b,c"`
      is written by hand for two values); after its closing quote only spaces may come before the separator, else
      it is an error naming the line (a quote inside a quoted value is written twice), as is a quote left open
      (else the rest of the file would be one value, silently). Blank lines are no rows, except between rows of a
      one-column file, where a blank line is how a spreadsheet writes an empty value; a row of `""` is a value. */
  function parseCsv(name, text) {
    var rows = [], row = [], cell = "", quoted = false, closed = false, line = 1, rowLine = 1, quoteLine = 0;
    var rowQuoted = false, i = 0, c, error = null;
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    var header = text.split(/\r\n|\r|\n/, 1)[0];  /* a bare CR ends a line too (old Mac files), as below */
    var sep = /\.(tsv|tab)$/i.test(name) || (header.indexOf("\t") >= 0 && header.indexOf(",") < 0) ? "\t" : ",";
    function space(ch) { return (ch === " " || ch === "\t") && ch !== sep; }
    for (; i < text.length && !error; i++) {
      c = text[i];
      var crlf = c === "\r" && text[i + 1] === "\n";
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') { cell += '"'; i++; } else { quoted = false; closed = true; }
        } else {
          if (c === "\n" || c === "\r") line++;
          cell += crlf ? "\r\n" : c;
          if (crlf) i++;
        }
      } else if (c === '"' && !closed && /^[ \t]*$/.test(cell)) {
        quoted = true;  /* only at a value's start (spaces before it dropped): a quote inside one (a 5" screen) is a character of it */
        rowQuoted = true;
        quoteLine = line;
        cell = "";
      } else if (c === sep) {
        row.push(cell); cell = ""; closed = false;
      } else if (c === "\n" || c === "\r") {
        if (crlf) i++;
        row.push(cell); cell = ""; closed = false;
        rows.push({cells: row, line: rowLine, blank: !rowQuoted && row.length === 1 && row[0].trim() === ""});
        row = []; rowQuoted = false; line++; rowLine = line;
      } else if (closed && !space(c)) {
        error = "line " + line + ": a quoted value is followed by " + (c === '"' ? "a quote" : "“" + c + "”") +
          " (a \" inside a quoted value is written twice: \"\")";
      } else if (!closed) {
        cell += c;
      }
    }
    if (error) return {rows: [], error: error};
    if (quoted) return {rows: [], error: "line " + quoteLine + ": a quoted value is not closed (a \" is missing)"};
    if (cell !== "" || row.length || rowQuoted) {
      row.push(cell);
      rows.push({cells: row, line: rowLine, blank: !rowQuoted && row.length === 1 && row[0].trim() === ""});
    }
    while (rows.length && rows[0].blank) rows.shift();
    while (rows.length && rows[rows.length - 1].blank) rows.pop();
    var oneColumn = rows.length && rows[0].cells.length === 1;
    return {rows: rows.filter(function (r) { return oneColumn || !r.blank; }), error: null,
            sep: sep === "\t" ? "tab" : "comma"};
  }

  var csv = null;
  var mapping = document.getElementById("csv-mapping");
  function mapCsv(name, text) {
    var parsed = parseCsv(name, text), rows = parsed.rows;
    if (parsed.error) { show("error", name + ", " + parsed.error + " — nothing was stored."); return; }
    if (rows.length < 2) { show("error", name + ": a CSV file needs a header row and at least one row of tasks."); return; }
    /* a row longer than the header has a value with the separator in it, unquoted: its cells would shift */
    var width = rows[0].cells.length;
    var long = rows.filter(function (r) { return r.cells.length > width; })[0];
    if (long) {
      show("error", name + ", line " + long.line + ": " + long.cells.length + " values, but the header names " + width +
           " column" + (width === 1 ? "" : "s") + " (a value with a " + parsed.sep + " in it needs quotes around it)" +
           " — nothing was stored.");
      return;
    }
    csv = {name: name, header: rows[0].cells, rows: rows.slice(1)};
    document.getElementById("csv-name").textContent = name;
    document.getElementById("csv-count").textContent = csv.rows.length.toLocaleString() + " row" + (csv.rows.length === 1 ? "" : "s");
    var tbody = mapping.querySelector("tbody");
    tbody.textContent = "";
    /* Guess each column's role; the fields the task type needs that no column is named after go, in order, to the
       data columns whose names are not such fields. */
    var names = csv.header.map(function (h) { return h.trim(); });
    var missing = fields.filter(function (f) { return names.indexOf(f) < 0; });
    var guesses = names.map(function (clean) {
      if (/^(external_id|id)$/i.test(clean)) return {role: "external_id", field: clean};
      if (/^priority$/i.test(clean)) return {role: "priority", field: clean};
      if (/^gold$/i.test(clean)) return {role: "gold", field: clean};
      if (fields.indexOf(clean) < 0 && missing.length) return {role: "data", field: missing.shift()};
      return {role: "data", field: clean};
    });
    csv.header.forEach(function (column, i) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-column", i);
      var guess = guesses[i].role, target = guesses[i].field;
      var first = csv.rows[0].cells[i] === undefined ? "" : csv.rows[0].cells[i];
      tr.innerHTML = '<th scope="row" data-label="Column"></th><td data-label="First value" class="sample"></td>' +
        '<td data-label="Becomes"><select class="column-role" aria-label="What this column becomes">' +
        '<option value="data">a data field</option><option value="external_id">the external id</option>' +
        '<option value="priority">the priority</option><option value="gold">the gold answer (JSON)</option>' +
        '<option value="skip">nothing (left out)</option></select></td>' +
        '<td data-label="Field"><input type="text" class="column-field" aria-label="Data field name"></td>' +
        '<td data-label="JSON"><input type="checkbox" class="column-json" aria-label="Cells are JSON"></td>';
      tr.querySelector("th").textContent = column;
      tr.querySelector(".sample").textContent = first.length > 60 ? first.slice(0, 60) + "…" : first;
      tr.querySelector(".column-role").value = guess;
      tr.querySelector(".column-field").value = target;
      tr.querySelector(".column-field").disabled = guess !== "data";
      tr.querySelector(".column-json").checked = /^\s*[\[{]/.test(first);
      tbody.appendChild(tr);
    });
    mapping.hidden = false;
    tbody.querySelector("select").focus();
  }
  mapping.addEventListener("change", function (e) {
    if (!e.target.classList.contains("column-role")) return;
    var tr = e.target.closest("tr");
    tr.querySelector(".column-field").disabled = e.target.value !== "data";
  });
  /* The table goes with the focus in it (Import or Cancel pressed): the keyboard goes back to the drop zone, where
     the next file is chosen, not to the top of the page. */
  function closeMapping() {
    var focused = document.activeElement;
    var had = mapping.contains(focused) || !focused || focused === document.body;
    mapping.hidden = true;
    csv = null;
    if (had) zone.focus();
  }
  document.getElementById("csv-cancel").addEventListener("click", closeMapping);
  document.getElementById("csv-import").addEventListener("click", function () {
    if (!csv || busy) return;
    var columns = Array.prototype.map.call(mapping.querySelectorAll("tbody tr"), function (tr) {
      return {index: Number(tr.getAttribute("data-column")), role: tr.querySelector(".column-role").value,
              field: tr.querySelector(".column-field").value.trim(), json: tr.querySelector(".column-json").checked};
    });
    /* two columns into one field would keep only the last one's value; a data column without a field none */
    var seen = {}, clash = null;
    columns.forEach(function (col) {
      if (clash || col.role !== "data") return;
      if (!col.field) clash = "column " + csv.header[col.index] + " becomes a data field without a name: name it, or make it “nothing (left out)”";
      else if (seen[col.field] !== undefined) clash = "columns " + csv.header[seen[col.field]] + " and " + csv.header[col.index] + " both become the data field " + col.field + ": rename one";
      else seen[col.field] = col.index;
    });
    if (clash) { show("error", csv.name + ": " + clash + " — nothing was stored."); return; }
    var lines = [], lineMap = [];
    for (var r = 0; r < csv.rows.length; r++) {
      var row = csv.rows[r], task = {data: {}}, bad = null;
      columns.forEach(function (col) {
        if (bad || col.role === "skip") return;
        var raw = row.cells[col.index] === undefined ? "" : row.cells[col.index];
        var value = raw;
        if (col.json || col.role === "gold") {
          if (raw.trim() === "") return;
          try { value = JSON.parse(raw); } catch (e) {
            bad = "column " + csv.header[col.index] + ": not valid JSON" + (col.role === "gold" && goldExample ?
              " (a gold answer is the task's answer as JSON, such as " + goldExample + ")" : "");
            return;
          }
        }
        if (col.role === "data") { if (col.field) task.data[col.field] = value; }
        else if (col.role === "priority") { if (raw.trim() !== "") task.priority = /^-?[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : raw; }
        else if (col.role === "external_id") { if (raw !== "") task.external_id = raw; }
        else task.gold = value;
      });
      if (bad) { show("error", csv.name + ", line " + row.line + ": " + bad + " — nothing was stored."); return; }
      lines.push(JSON.stringify(task));
      lineMap.push(row.line);
    }
    var name = csv.name;
    Console.busy(mapping, true);  /* the mapping is what is being sent: it waits, read-only, for the answer */
    sendTasks(new Blob([lines.join("\n") + "\n"], {type: "application/x-ndjson"}), "application/x-ndjson", name, {csv: lineMap})
      .then(function (r) {
        Console.busy(mapping, false);
        if (!r.error) closeMapping();
      });
  });

  /* ---- images ------------------------------------------------------------------------ */
  var PART_HEADERS = 1024;  /* a file's multipart headers, above its name (generous) */
  var BODY_MARGIN = 64 * 1024;

  /** The drop cut into the fewest imports one request each may carry: at most data-max-files files and
      data-max-body-bytes bytes (read when dropping). Almost every drop is one part; a larger one goes in parts. */
  function parts(files) {
    var maxFiles = Number(root.getAttribute("data-max-files"));
    var maxBytes = Number(root.getAttribute("data-max-body-bytes")) - BODY_MARGIN;
    var out = [], current = [], size = 0;
    files.forEach(function (f) {
      var cost = f.size + PART_HEADERS + 3 * f.name.length;
      if (current.length && (size + cost > maxBytes || current.length >= maxFiles)) { out.push(current); current = []; size = 0; }
      current.push(f); size += cost;
    });
    if (current.length) out.push(current);
    return out;
  }

  function imagesText(n) { return n.toLocaleString() + " image" + (n === 1 ? "" : "s"); }

  /** The server's error about an upload, naming its file. */
  function imageError(error) {
    var text = error.message || "the import failed";
    if (error.file && text.indexOf(error.file) < 0) text = error.file + ": " + text;
    return text;
  }

  function uploadImages(files) {
    var maxImage = Number(root.getAttribute("data-max-image-bytes"));
    var big = files.filter(function (f) { return f.size > maxImage; })[0];
    if (big) {  /* the server would refuse it too: nothing is sent */
      show("error", big.name + ": larger than " + maxImage.toLocaleString() + " bytes — nothing was stored.");
      return;
    }
    var all = parts(files), total = 0, sent = 0, stored = 0, done = 0;
    files.forEach(function (f) { total += f.size; });
    busy = true;
    var label = "Uploading " + imagesText(files.length) + "…";
    setProgress(0, total, label);
    var chain = Promise.resolve(null);
    all.forEach(function (part) {
      chain = chain.then(function (failed) {
        if (failed) return failed;
        var form = new FormData(), partSize = 0;
        part.forEach(function (f) { form.append("file", f, f.name); partSize += f.size; });
        return Console.upload("POST", tasksUrl, form, null, function (loaded, sending) {
          setProgress(sent + Math.min(partSize, partSize * loaded / sending), total,
                      loaded < sending ? label : "Making the tasks…");
        }).then(function (r) {
          if (r.error) return r;
          sent += partSize;
          stored += r.data.created;
          done += part.length;
          return null;
        });
      });
    });
    chain.then(function (failed) {
      busy = false;
      progress.hidden = true;
      if (!failed) { created(stored, imagesText(files.length)); return; }
      var text = imageError(failed.error);
      if (failed.status === 0) {
        show("error", text + " — the import may not have finished: look at the project's tasks before dropping again.");
      } else if (!done) {
        show("error", text + " — nothing was stored.");
      } else {  /* a drop larger than one request: the parts before this one were imported, whole */
        show("error", text + " — that image's part and the rest were not stored; " + stored.toLocaleString() +
             " task" + (stored === 1 ? "" : "s") + " from the first " + done.toLocaleString() + " of " +
             imagesText(files.length) + " were imported.");
      }
    });
  }
})();
