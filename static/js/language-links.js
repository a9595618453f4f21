/* The language switch keeps the page's state: every a[hreflang] gets the current query
 * (filters, map state) with its own lang. One listener for every page: the map and the
 * filters announce a changed address with the "kiezkarte:state" event; Back and Forward
 * change it too (popstate).
 */
(function () {
  "use strict";
  if (!window.URLSearchParams || !window.URL) return;

  function update() {
    var search = window.location.search;
    Array.prototype.forEach.call(document.querySelectorAll("a[hreflang]"), function (a) {
      var url = new URL(a.href, window.location.href);
      var lang = url.searchParams.get("lang");
      var params = new URLSearchParams(search);
      params.delete("lang");
      if (lang) params.set("lang", lang);
      var q = params.toString().replace(/%2C/gi, ",").replace(/%2F/gi, "/").replace(/%3A/gi, ":");
      a.href = url.pathname + (q ? "?" + q : "");
    });
  }

  document.addEventListener("kiezkarte:state", update);
  window.addEventListener("popstate", update);
  update();
})();
