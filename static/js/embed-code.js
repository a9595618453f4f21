/* The embed-code generator of a map page (<details data-embed-code>).
 *
 * Its choices (layers, indicator, the page's current project filter and map section,
 * height, language) make the URL of an embed (/embed/…); the snippet is an <iframe> of it
 * with a title, written exactly as the server writes it (app/web/embed.py: iframe_snippet),
 * every value escaped. The preview is an iframe of the same URL, loaded only while the
 * generator is open. "Copy the code" uses the clipboard, or selects the code to copy by hand.
 */
(function () {
  "use strict";

  var box = document.querySelector("[data-embed-code]");
  if (!box || !window.URLSearchParams) return;
  var FILTER_KEYS = ["fund", "handlungsfeld", "status", "precision", "year_from", "year_to", "climate", "area", "bbox", "q"];
  var form = box.querySelector("[data-embed-form]");
  var snippet = box.querySelector("[data-embed-snippet]");
  var preview = box.querySelector("[data-embed-preview]");
  var openLink = box.querySelector("[data-embed-open]");
  var copy = box.querySelector("[data-embed-copy]");
  var status = box.querySelector("[data-embed-status]");
  var base = box.getAttribute("data-embed-url");
  var titles = JSON.parse(box.getAttribute("data-titles"));
  var defaultLang = box.getAttribute("data-default-lang");
  var defaultIndicator = box.getAttribute("data-default-indicator");
  var defaultLayers = box.getAttribute("data-default-layers").split(",");
  var timer = null;

  // As markupsafe.escape writes them, so the snippet is the same as the server's.
  function escapeHtml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&#34;").replace(/'/g, "&#39;");
  }

  function readable(query) {
    return query.replace(/%2C/gi, ",").replace(/%2F/gi, "/").replace(/%3A/gi, ":");
  }

  function choice(name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : null;
  }

  function embedUrl() {
    var page = new URLSearchParams(window.location.search), params = new URLSearchParams();
    if (form.elements["embed-filter"].checked) {
      FILTER_KEYS.forEach(function (key) { if (page.get(key)) params.set(key, page.get(key)); });
    }
    var indicator = form.elements["embed-indicator"].value;
    if (indicator !== defaultIndicator) params.set("indicator", indicator);
    var layers = Array.prototype.filter.call(form.querySelectorAll('input[name="embed-layer"]'), function (input) {
      return input.checked;
    }).map(function (input) { return input.value; });
    var offered = Array.prototype.map.call(form.querySelectorAll('input[name="embed-layer"]'), function (input) {
      return input.value;
    });
    var defaults = offered.filter(function (id) { return defaultLayers.indexOf(id) >= 0; });
    if (layers.join(",") !== defaults.join(",")) params.set("layers", layers.length ? layers.join(",") : "none");
    if (form.elements["embed-view"].checked && page.get("map")) params.set("map", page.get("map"));
    var lang = choice("embed-lang") || defaultLang;
    if (lang !== defaultLang) params.set("lang", lang);
    var query = readable(params.toString());
    return base + (query ? "?" + query : "");
  }

  function update() {
    var url = embedUrl(), height = form.elements["embed-height"].value;
    var title = "Kiezkarte: " + (titles[choice("embed-lang") || defaultLang] || "");
    snippet.value = '<iframe src="' + escapeHtml(url) + '" title="' + escapeHtml(title) + '" width="100%" height="' +
      escapeHtml(height) + '" loading="lazy" style="border:0;max-width:100%" allow="fullscreen" ' +
      'referrerpolicy="no-referrer" sandbox="allow-scripts allow-same-origin allow-popups ' +
      'allow-popups-to-escape-sandbox"></iframe>';
    openLink.href = url;
    preview.height = height;
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (box.open && preview.getAttribute("src") !== url) preview.setAttribute("src", url);
    }, 300);
    document.documentElement.dataset.embedCode = url;
  }

  // Opening the generator starts from what the page's map shows now.
  function fromPage() {
    var page = new URLSearchParams(window.location.search);
    var select = document.getElementById("indicator-select");
    if (select) form.elements["embed-indicator"].value = select.value;
    var shown = page.get("layers") === null ? defaultLayers : page.get("layers").split(",");
    Array.prototype.forEach.call(form.querySelectorAll('input[name="embed-layer"]'), function (input) {
      input.checked = shown.indexOf(input.value) >= 0;
    });
    form.elements["embed-filter"].checked = FILTER_KEYS.some(function (key) { return page.get(key); });
  }

  box.addEventListener("toggle", function () {
    if (!box.open) return;
    fromPage();
    update();
  });
  form.addEventListener("change", update);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.addEventListener("kiezkarte:state", function () { if (box.open) update(); });
  snippet.addEventListener("focus", function () { snippet.select(); });
  copy.addEventListener("click", function () {
    var done = function () { status.textContent = copy.getAttribute("data-msg-copied"); };
    var failed = function () {
      snippet.focus();
      snippet.select();
      status.textContent = copy.getAttribute("data-msg-failed");
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(snippet.value).then(done, failed);
    else failed();
  });
})();
