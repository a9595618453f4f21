/* Project filters without page reloads.
 *
 * The filter form (<form data-filter-form>) is a plain GET form: without JavaScript it
 * reloads the page with the filter in the URL. With JavaScript every change
 *   1. writes the filter into the address bar (history.pushState, so Back returns to the
 *      filter before; same keys and comma-joined values as the server's canonical URL, the
 *      language and the map state kept),
 *   2. redraws the map's project markers (window.kiezkarte.instance.setProjectQuery),
 *   3. fetches this same page for the new URL and swaps in its parts marked
 *      data-filter-region (the project list, links, statistics): the server renders
 *      and escapes them; no data becomes HTML here.
 * "Only projects in the current map view" puts the map's bounds into the filter (bbox)
 * and follows the map while it is checked (moving the map replaces the history entry).
 * Back and Forward (popstate) set the form from the address and redraw markers and list.
 * A filter the server refuses shows the reason from its error page ([data-error-message]).
 * Test hook: <html data-filter-state="loading|ready|error">.
 */
(function () {
  "use strict";

  var FILTER_KEYS = ["fund", "handlungsfeld", "status", "precision", "year_from", "year_to", "climate", "area", "bbox", "q"];
  var root = document.documentElement;
  var form = document.querySelector("form[data-filter-form]");
  if (!form || !window.fetch || !window.history || !window.URLSearchParams || !window.DOMParser) return;

  var regions = (form.getAttribute("data-regions") || "").split(/\s+/).filter(Boolean);
  var status = form.querySelector("[data-filter-status]");
  var bboxInput = form.querySelector("[data-bbox-filter]");
  var sequence = 0;
  var timer = null;

  function kiezMap() {
    return window.kiezkarte && window.kiezkarte.instance ? window.kiezkarte.instance : null;
  }

  function encode(value) {  // commas, slashes and colons readable, as the server writes them
    return encodeURIComponent(value).replace(/%2C/gi, ",").replace(/%2F/gi, "/").replace(/%3A/gi, ":");
  }

  function round(value) {
    return String(Number(value.toFixed(5)));
  }

  function mapBbox() {
    var km = kiezMap();
    if (!km) return "";
    var b = km.map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(round).join(",");
  }

  // The filter as [key, value] pairs, in the server's order, from the form's state.
  function filterPairs() {
    var values = {};
    if (bboxInput && bboxInput.checked && kiezMap()) bboxInput.value = mapBbox();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || FILTER_KEYS.indexOf(el.name) < 0 || el.disabled) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      var v = String(el.value || "").trim();
      if (!v) return;
      (values[el.name] = values[el.name] || []).push(v);
    });
    return FILTER_KEYS.filter(function (k) { return values[k]; }).map(function (k) { return [k, values[k].join(",")]; });
  }

  function queryOf(pairs) {
    return pairs.map(function (p) { return encodeURIComponent(p[0]) + "=" + encode(p[1]); }).join("&");
  }

  // The page's other arguments (lang, indicator, …) as they are in the address bar now.
  function otherPairs() {
    var pairs = [];
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (FILTER_KEYS.indexOf(key) < 0) pairs.push([key, value]);
    });
    return pairs;
  }

  function apply(how) {
    var filterQuery = queryOf(filterPairs());
    var query = [filterQuery, queryOf(otherPairs())].filter(Boolean).join("&");
    var url = window.location.pathname + (query ? "?" + query : "");
    if (url !== window.location.pathname + window.location.search) {
      window.history[how === "replace" ? "replaceState" : "pushState"](null, "", url + window.location.hash);
    }
    document.dispatchEvent(new CustomEvent("kiezkarte:state"));
    refresh(url, filterQuery);
  }

  // Redraw the markers and swap in the server's list for the filter of ``url``.
  function refresh(url, filterQuery) {
    var km = kiezMap();
    if (km && km.setProjectQuery) km.setProjectQuery(filterQuery);
    var mine = ++sequence;
    root.dataset.filterState = "loading";
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (r) {
      return r.text().then(function (html) { return { ok: r.ok, status: r.status, html: html }; });
    }).then(function (answer) {
      if (mine !== sequence) return;  // a newer filter is on its way
      var doc = new DOMParser().parseFromString(answer.html, "text/html");
      if (!answer.ok) {  // a filter the server refuses (years swapped, say): its error page says why
        var error = new Error(url + ": HTTP " + answer.status);
        var said = doc.querySelector("[data-error-message]");
        error.reason = said ? said.textContent.trim() : "";
        throw error;
      }
      regions.forEach(function (id) {
        var current = document.getElementById(id), fresh = doc.getElementById(id);
        if (current && fresh) current.replaceWith(document.importNode(fresh, true));
      });
      var count = document.querySelector("[data-filter-count]");
      if (status) status.textContent = count ? count.textContent : "";
      root.dataset.filterState = "ready";
    }).catch(function (err) {
      if (mine !== sequence) return;
      if (status) status.textContent = err.reason || form.getAttribute("data-msg-failed") || "";
      root.dataset.filterState = "error";
      if (window.console) console.warn(err);
    });
  }

  function schedule(delay, how) {
    clearTimeout(timer);
    timer = setTimeout(function () { apply(how); }, delay);
  }

  // Back/Forward: the form shows the filter of the address, markers and list follow.
  function restore() {
    var params = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || FILTER_KEYS.indexOf(el.name) < 0) return;
      var value = params.get(el.name) || "";
      if (el === bboxInput) {
        el.checked = !!value;
        el.value = value;
      } else if (el.type === "checkbox" || el.type === "radio") {
        el.checked = value.split(",").indexOf(el.value) >= 0;
      } else {
        el.value = value;
      }
    });
    var filterQuery = queryOf(FILTER_KEYS.filter(function (k) { return params.get(k); })
      .map(function (k) { return [k, params.get(k)]; }));
    refresh(window.location.pathname + window.location.search, filterQuery);
  }
  window.addEventListener("popstate", function () {
    clearTimeout(timer);
    restore();
  });

  form.addEventListener("change", function (e) {
    schedule(e.target && e.target.type === "number" ? 400 : 0);
  });
  form.addEventListener("input", function (e) {
    if (e.target && (e.target.type === "search" || e.target.type === "number")) schedule(500);
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    schedule(0);
  });
  var reset = form.querySelector("[data-filter-reset]");
  if (reset) {
    reset.addEventListener("click", function (e) {
      e.preventDefault();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (FILTER_KEYS.indexOf(el.name) < 0) return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = false;
        else if (el.tagName === "SELECT") el.selectedIndex = 0;
        else el.value = "";
      });
      schedule(0);
    });
  }

  // "Only projects in the current map view": follow the map while checked, but not while a
  // popup is open (its opening pans the map, and redrawing would close it again).
  function watchMap(km) {
    var popupOpen = false, pending = false;
    km.map.on("popupopen", function () { popupOpen = true; });
    km.map.on("popupclose", function () {
      popupOpen = false;
      if (pending) { pending = false; schedule(0, "replace"); }
    });
    km.map.on("moveend", function () {
      if (!bboxInput || !bboxInput.checked || km.quiet) return;
      if (popupOpen) { pending = true; return; }
      schedule(300, "replace");
    });
  }

  if (bboxInput) {
    var waited = 0;
    (function waitForMap() {  // the map script runs first, but draws its layers asynchronously
      var km = kiezMap();
      if (km) { watchMap(km); return; }
      if ((waited += 1) < 100) setTimeout(waitForMap, 100);
    })();
  }
})();
