// hades_zoo catalogue: filters and sorting of the index, copy buttons. No dependencies.
(function () {
  "use strict";

  function numberOf(text) {
    if (text === undefined || text === "" || text === "null") return null;
    var value = Number(text);
    return Number.isFinite(value) ? value : null;
  }

  function initIndex(table) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var form = document.getElementById("filters");
    var count = document.getElementById("count");
    var controls = Array.prototype.slice.call(form.querySelectorAll("[data-filter]"));
    var headers = Array.prototype.slice.call(table.tHead.querySelectorAll("th[data-key]"));
    var sort = { key: "id", type: "text", dir: 1 };

    function cellValue(row, key, type) {
      var raw = row.dataset[key];
      return type === "num" ? numberOf(raw) : (raw || "");
    }

    function compare(a, b) {
      var x = cellValue(a, sort.key, sort.type), y = cellValue(b, sort.key, sort.type);
      if (x === null && y === null) return 0;
      if (x === null) return 1;  // missing values last, whichever the direction
      if (y === null) return -1;
      var c = sort.type === "num" ? x - y
        : String(x).localeCompare(String(y), undefined, { numeric: true });
      if (c === 0 && sort.key !== "id") {
        c = a.dataset.id.localeCompare(b.dataset.id, undefined, { numeric: true });
        return c;
      }
      return sort.dir * c;
    }

    function filters() {
      var f = {};
      controls.forEach(function (c) { f[c.dataset.filter] = c.value.trim(); });
      return f;
    }

    function keep(row, f) {
      if (f.text && row.dataset.id.toLowerCase().indexOf(f.text.toLowerCase()) < 0) return false;
      var exact = ["env", "variant", "size", "origin", "certificate"];
      for (var i = 0; i < exact.length; i++) {
        if (f[exact[i]] && row.dataset[exact[i]] !== f[exact[i]]) return false;
      }
      if (f.transfer) {
        var min = numberOf(f.transfer), score = numberOf(row.dataset.transfer);
        if (min !== null && (score === null || score < min)) return false;
      }
      return true;
    }

    function saveState(f) {
      var parts = [];
      Object.keys(f).forEach(function (k) {
        if (f[k]) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(f[k]));
      });
      if (!(sort.key === "id" && sort.dir === 1)) {
        parts.push("sort=" + (sort.dir < 0 ? "-" : "") + encodeURIComponent(sort.key));
      }
      var hash = parts.length ? "#" + parts.join("&") : "";
      if (window.location.hash !== hash) {
        history.replaceState(null, "", window.location.pathname + window.location.search + hash);
      }
    }

    function apply() {
      var f = filters(), shown = 0;
      rows.forEach(function (row) {
        var ok = keep(row, f);
        row.hidden = !ok;
        if (ok) shown++;
      });
      rows.slice().sort(compare).forEach(function (row) { tbody.appendChild(row); });
      headers.forEach(function (th) {
        if (th.dataset.key === sort.key) {
          th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
        } else {
          th.removeAttribute("aria-sort");
        }
      });
      count.textContent = shown + " of " + rows.length + " entries";
      saveState(f);
    }

    function loadState() {
      var hash = window.location.hash.replace(/^#/, "");
      if (!hash) return;
      hash.split("&").forEach(function (part) {
        var kv = part.split("="), k = decodeURIComponent(kv[0]), v = decodeURIComponent(kv[1] || "");
        if (k === "sort") {
          var key = v.replace(/^-/, "");
          var th = headers.filter(function (h) { return h.dataset.key === key; })[0];
          if (th) { sort = { key: key, type: th.dataset.type, dir: v.charAt(0) === "-" ? -1 : 1 }; }
          return;
        }
        controls.forEach(function (c) { if (c.dataset.filter === k) c.value = v; });
      });
    }

    headers.forEach(function (th) {
      th.querySelector("button").addEventListener("click", function () {
        if (sort.key === th.dataset.key) {
          sort.dir = -sort.dir;
        } else {
          sort = { key: th.dataset.key, type: th.dataset.type, dir: th.dataset.type === "num" ? -1 : 1 };
        }
        apply();
      });
    });
    controls.forEach(function (c) {
      c.addEventListener("input", apply);
      c.addEventListener("change", apply);
    });
    form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    loadState();
    apply();
  }

  function initCopy(button) {
    button.addEventListener("click", function () {
      var text = button.dataset.copy;
      function done() {
        button.textContent = "copied";
        button.classList.add("done");
        window.setTimeout(function () { button.textContent = "copy"; button.classList.remove("done"); }, 1500);
      }
      function fallback() {
        var area = document.createElement("textarea");
        area.value = text;
        area.setAttribute("readonly", "");
        area.style.position = "absolute";
        area.style.left = "-9999px";
        document.body.appendChild(area);
        area.select();
        try { document.execCommand("copy"); } catch (err) { /* select it at least */ }
        document.body.removeChild(area);
        done();
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  }

  var table = document.getElementById("entries");
  if (table) initIndex(table);
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), initCopy);
})();
