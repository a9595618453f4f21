/* Find my Kiez: suggestions as you type (from /api/suggest) and "use my location"
 * (browser geolocation -> /api/lookup). Without JavaScript the form still works: it
 * submits to /suche, which redirects to the Kiez page, lists the Kiez pages of an address
 * found in several Planungsräume, or lists suggestions.
 * The input follows the ARIA combobox pattern (arrow keys, Enter, Escape).
 * Suggestions are written with textContent only.
 */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  var DELAY_MS = 120;

  function Finder(form) {
    this.form = form;
    this.input = form.querySelector("input[name=address]");
    this.list = form.querySelector("[role=listbox]");
    this.status = form.querySelector(".find-status");
    this.locate = form.querySelector("[data-locate]");
    this.items = [];
    this.active = -1;
    this.timer = null;
    this.request = null;
    this.setup();
  }

  Finder.prototype.msg = function (name, values) {
    var text = this.form.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (key) {
      text = text.replace("__" + key.toUpperCase() + "__", values[key]);
    });
    return text;
  };

  Finder.prototype.setup = function () {
    var self = this, input = this.input;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", this.list.id);
    input.addEventListener("input", function () { self.schedule(); });
    input.addEventListener("keydown", function (e) { self.onKey(e); });
    input.addEventListener("blur", function () { setTimeout(function () { self.close(); }, 150); });
    this.list.addEventListener("mousedown", function (e) { e.preventDefault(); });  // keep focus in the input
    this.list.addEventListener("click", function (e) {
      var li = e.target.closest("li[role=option]");
      if (li) self.choose(Number(li.getAttribute("data-index")));
    });
    if (this.locate && "geolocation" in navigator) {
      this.locate.hidden = false;
      this.locate.addEventListener("click", function () { self.locateMe(); });
    }
  };

  Finder.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.suggest(); }, DELAY_MS);
  };

  Finder.prototype.suggest = function () {
    var self = this, q = this.input.value.trim();
    if (this.request) this.request.abort();
    if (q.length < 2) { this.render([]); return; }
    this.request = new AbortController();
    var url = this.form.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(q);
    fetch(url, { signal: this.request.signal, headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) { if (self.input.value.trim() === q) self.render(data.suggestions || []); })
      .catch(function (err) { if (err.name !== "AbortError") self.render([]); });
  };

  Finder.prototype.render = function (items) {
    var list = this.list;
    this.items = items;
    this.active = -1;
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-index", String(i));
      li.textContent = item.label;
      list.appendChild(li);
    });
    list.hidden = items.length === 0;
    this.input.setAttribute("aria-expanded", items.length ? "true" : "false");
    this.input.removeAttribute("aria-activedescendant");
    if (this.input.value.trim().length >= 2) {
      this.setStatus(items.length ? this.msg("count", { count: items.length }) : this.msg("none"), true);
    }
  };

  Finder.prototype.close = function () {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  };

  Finder.prototype.highlight = function (index) {
    var options = this.list.querySelectorAll("[role=option]");
    if (!options.length) return;
    this.active = (index + options.length) % options.length;
    Array.prototype.forEach.call(options, function (li, i) {
      li.setAttribute("aria-selected", i === this.active ? "true" : "false");
    }, this);
    var current = options[this.active];
    this.input.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  };

  Finder.prototype.onKey = function (e) {
    var open = !this.list.hidden;
    if (e.key === "ArrowDown") {
      if (!open && this.items.length) { this.list.hidden = false; this.input.setAttribute("aria-expanded", "true"); }
      this.highlight(this.active + 1);
      e.preventDefault();
    } else if (e.key === "ArrowUp" && open) {
      this.highlight(this.active - 1);
      e.preventDefault();
    } else if (e.key === "Enter" && open && this.active >= 0) {
      e.preventDefault();
      this.choose(this.active);
    } else if (e.key === "Escape" && open) {
      e.preventDefault();
      this.close();
    }
  };

  Finder.prototype.choose = function (index) {
    var item = this.items[index];
    if (!item) return;
    if (item.plr_id) {  // an address: straight to its Kiez
      this.input.value = item.label;
      this.close();
      this.setStatus(this.msg("found", { name: item.label }));
      window.location.assign(this.kiezUrl(item.plr_id, item.label));
      return;
    }
    this.input.value = item.street + " ";  // a street: now the house number
    this.close();
    this.input.focus();
    this.schedule();
  };

  // The Kiez page; with the chosen address, which that page then names.
  Finder.prototype.kiezUrl = function (plrId, address) {
    var url = this.form.getAttribute("data-kiez-url").replace("__ID__", encodeURIComponent(plrId));
    if (address) url += (url.indexOf("?") < 0 ? "?" : "&") + "address=" + encodeURIComponent(address);
    return url;
  };

  Finder.prototype.setStatus = function (text, quiet) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.classList.toggle("hint", Boolean(quiet));
  };

  Finder.prototype.locateMe = function () {
    var self = this;
    this.setStatus(this.msg("locating"));
    navigator.geolocation.getCurrentPosition(function (pos) {
      var url = self.form.getAttribute("data-lookup-url") + "?lat=" + pos.coords.latitude.toFixed(6) +
        "&lon=" + pos.coords.longitude.toFixed(6);
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (data) {
          if (!data.found) { self.setStatus(self.msg("outside")); return; }
          self.setStatus(self.msg("found", { name: data.planungsraum.plr_name }));
          window.location.assign(self.kiezUrl(data.planungsraum.plr_id));
        })
        .catch(function () { self.setStatus(self.msg("failed")); });
    }, function (err) {
      self.setStatus(err && err.code === 1 ? self.msg("denied") : self.msg("unavailable"));
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 });
  };

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form.find"), function (form) {
      if (form.querySelector("input[name=address]") && form.querySelector("[role=listbox]")) new Finder(form);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
