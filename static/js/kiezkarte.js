/* Kiezkarte map script: draws the layers of one map page (or embed) from the JSON API.
 *
 * app/maps.py creates the Leaflet map (through Folium) and calls kiezkarte.init(map, config).
 * Everything from the data reaches the page as text: popups and the legend are built
 * from DOM nodes with textContent, never innerHTML. Attributions arrive escaped from
 * the server. Hooks for tests: <html data-map-ready="1"> once the Planungsräume and the
 * QM areas are drawn (the project markers follow, they never hold the map up),
 * <html data-map-complete="1"> once everything of the first view is drawn and the
 * selected feature is open, <html data-projects="<filter query>"> once the project markers
 * of a filter are drawn, window.kiezkarte, and the path classes plr-shape, qm-area,
 * project-marker, place-marker, editor-marker.
 *
 * The whole map state is in the URL, next to the project filter (static/js/filters.js) and
 * the language: ?indicator=, ?layers= (the switchable layers shown, when not the defaults),
 * ?map=<zoom>/<lat>/<lon>, ?sel=plr:<id>|area:<slug>|project:<id>|place:<kind>:<number> (whose popup
 * is open).
 * Moving the map replaces the history entry; deliberate changes (indicator, a layer, a
 * selection) push one, so Back walks through them, and popstate restores them. Embeds
 * only ever replace: the history belongs to the page that embeds them.
 *
 * Maps of an area or a Kiez fetch the Planungsräume around it first and the rest of Berlin
 * when the map is moved beyond them. In "editor" mode (the planners' project form) a click
 * on the map, or typing in the latitude/longitude fields, places the project's point.
 */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  var COLOURS = { active: "#0b4f8a", ended: "#6b3fa0", bezirk: "#333333", focus: "#000000" };
  var APPROXIMATE = { source: true, "name-match": true };

  // ------------------------------------------------------------ small DOM helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var embedded = false;  // set by init: links leave the frame in a new tab

  function link(href, text) {
    var a = el("a", null, text);
    a.href = href;
    if (embedded) {
      a.target = "_blank";
      a.rel = "noopener";
    }
    return a;
  }

  function externalLink(url, text) {
    // Only http(s) URLs become links; anything else stays text.
    if (!/^https?:\/\//i.test(String(url || ""))) return el("span", null, text || url);
    var a = link(url, text || url);
    a.rel = "noopener noreferrer nofollow";
    return a;
  }

  function fill(template, values) {
    return String(template).replace(/__([A-Z]+)__/g, function (match, key) {
      var value = values[key.toLowerCase()];
      return value === undefined ? match : encodeURIComponent(value);
    });
  }

  // {key: value} -> "key=value&…" with the commas of list values kept readable (as the server writes them)
  function queryOf(args) {
    return Object.keys(args).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(args[k]).replace(/%2C/gi, ",");
    }).join("&");
  }

  // ------------------------------------------------------------ the state in the URL

  var STATE_KEYS = ["indicator", "layers", "map", "sel"];
  var fullMapPath = "";  // embeds: the full page of this map

  function readable(query) {  // commas, slashes and colons as the server writes them
    return query.replace(/%2C/gi, ",").replace(/%2F/gi, "/").replace(/%3A/gi, ":");
  }

  function readState() {
    var p = new URLSearchParams(window.location.search);
    return { indicator: p.get("indicator"), layers: p.get("layers"), map: p.get("map"), sel: p.get("sel") };
  }

  // Change some arguments of the address (null or "" removes one) and keep all others.
  // how: "push" (a deliberate change: Back returns to the state before) or "replace".
  function writeState(changes, how) {
    var params = new URLSearchParams(window.location.search);
    Object.keys(changes).forEach(function (key) {
      var value = changes[key];
      if (value === null || value === undefined || value === "") params.delete(key); else params.set(key, value);
    });
    var query = readable(params.toString());
    var url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    if (url !== window.location.pathname + window.location.search + window.location.hash) {
      if (how === "push" && !embedded) window.history.pushState(null, "", url);
      else window.history.replaceState(null, "", url);
    }
    syncLinks();
  }

  // Links and forms that carry the state: the embed's "open full map" link, the hidden fields
  // of the filter form; then tell others (the language switch, the embed-code generator).
  function syncLinks() {
    var search = window.location.search;
    if (fullMapPath) {
      Array.prototype.forEach.call(document.querySelectorAll("a[data-full-map]"), function (a) {
        a.href = fullMapPath + search;
      });
    }
    var params = new URLSearchParams(search);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-filter-form]"), function (form) {
      STATE_KEYS.forEach(function (key) {
        var value = params.get(key), input = form.querySelector('input[type=hidden][name="' + key + '"]');
        if (!input && value) {
          input = el("input");
          input.type = "hidden";
          input.name = key;
          form.appendChild(input);
        }
        if (input) {
          if (value) input.value = value; else input.parentNode.removeChild(input);
        }
      });
    });
    document.dispatchEvent(new CustomEvent("kiezkarte:state"));
  }

  // L.geoJSON hands its options to every feature's layer: an "attribution" option would be added
  // to the map's attribution control (which rewrites itself each time) once per feature, 542 times
  // for Berlin's Planungsräume. The layer group names its source once instead.
  function sourcedGeoJSON(data, attribution, options) {
    var layer = L.geoJSON(data, options);
    layer.getAttribution = function () { return attribution; };
    return layer;
  }

  // The layers the page's <head> has asked for and parsed already (app/maps.py, EARLY_DATA_SCRIPT),
  // so the map is drawn the moment it is made. Each is taken once: later requests fetch anew.
  var early = window.kiezkarteData || {};

  // No extra headers: the request must match the page's <link rel="preload" as="fetch" crossorigin>.
  function fetchJSON(url) {
    var absolute = new URL(url, window.location.href).href, pending = early[absolute];
    delete early[absolute];
    return pending || fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  // ------------------------------------------------------------ the map

  function KiezMap(map, cfg) {
    this.map = map;
    this.cfg = cfg;
    this.layers = {};
    this.places = {};
    this.renderer = L.svg({ padding: 0.3 });
    this.indicators = {};
    this.areaNames = {};
    var self = this;
    cfg.indicators.forEach(function (ind) { self.indicators[ind.id] = ind; });
    this.indicator = this.indicators[cfg.indicator] || this.indicators[cfg.default_indicator];
    this.projectQuery = queryOf(cfg.filter || {});
    this.projectSequence = 0;
    this.status = document.getElementById("map-status");
    this.legend = document.getElementById("legend");
    this.visible = {};
    (cfg.toggles || []).forEach(function (id) { self.visible[id] = (cfg.visible || []).indexOf(id) >= 0; });
    this.quiet = 0;  // > 0 while the script itself changes the map: no history entries
    this.pendingSelection = cfg.selection || null;
    var plr = cfg.layers && cfg.layers.planungsraeume;
    this.nearBounds = plr && plr.bounds ? L.latLngBounds(plr.bounds) : null;  // null: all of Berlin is loaded
    var sources = map.attributionControl && map.attributionControl.getContainer();
    if (sources) {  // focusable, so keyboard and touch users can open the full list of sources
      sources.tabIndex = 0;
      sources.setAttribute("role", "note");
      sources.setAttribute("aria-label", cfg.text.sources);
    }
    this.popupOptions = popupOptions(map);
    map.setMinZoom(9);
    map.setMaxBounds(L.latLngBounds([52.2, 12.8], [52.85, 14.05]));
    this.initialView = { center: map.getCenter(), zoom: map.getZoom() };
    this.setupInteraction();
    this.setupTiles();
  }

  // A popup that opens near the top edge is panned into view below the zoom buttons (and the
  // legend beside them in embeds), not under them: the top padding clears the zoom control.
  function popupOptions(map) {
    var zoom = map.zoomControl && map.zoomControl.getContainer();
    var below = zoom && zoom.offsetHeight ? zoom.offsetTop + zoom.offsetHeight : 80;
    return { autoPanPaddingTopLeft: L.point(10, below + 10), autoPanPaddingBottomRight: L.point(10, 10) };
  }

  // Made when a popup first needs it: a NumberFormat costs tens of milliseconds to create.
  KiezMap.prototype.formatNumber = function (value) {
    if (!this.numberFormat) this.numberFormat = new Intl.NumberFormat(this.cfg.lang, { maximumFractionDigits: 1 });
    return this.numberFormat.format(value);
  };

  KiezMap.prototype.setStatus = function (text) {
    if (this.status) this.status.textContent = text || this.hint || "";  // a hint stays until it is done
  };

  // Scrolling the page over the map never zooms it: the wheel zooms only once the map was
  // clicked or focused. In an embed on a touch screen one finger scrolls the page until the
  // map is tapped; two fingers zoom it.
  KiezMap.prototype.setupInteraction = function () {
    var map = this.map, self = this;
    map.scrollWheelZoom.disable();
    map.on("focus click", function () { map.scrollWheelZoom.enable(); });
    map.on("blur", function () { map.scrollWheelZoom.disable(); });
    if (this.cfg.embed && L.Browser.mobile && map.dragging) {
      map.dragging.disable();
      this.hint = this.cfg.text.map_hint_touch;
      this.setStatus("");
      map.once("click focus", function () {
        map.dragging.enable();
        self.hint = "";
        self.setStatus("");
      });
    }
  };

  // A basemap only when the operator configured one; from a third party, an embed asks first.
  KiezMap.prototype.setupTiles = function () {
    var map = this.map, tiles = this.cfg.tiles, text = this.cfg.text;
    if (!tiles) return;
    var add = function () {
      L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 19 }).addTo(map);
      root.dataset.tiles = "loaded";
    };
    if (!tiles.ask) { add(); return; }
    root.dataset.tiles = "asking";
    var control = L.control({ position: "topright" });
    control.onAdd = function () {
      var box = el("div", "tile-consent");
      box.appendChild(el("p", null, String(text.tiles_ask).replace("%(host)s", tiles.host)));
      var button = el("button", "tile-consent-button", text.tiles_button);
      button.type = "button";
      button.addEventListener("click", function () {
        map.removeControl(control);
        add();
      });
      box.appendChild(button);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
  };

  KiezMap.prototype.load = function () {
    var self = this, L_ = this.cfg.layers;
    if (this.cfg.mode === "editor") return this.loadEditor();
    this.setStatus(this.cfg.text.loading);
    // The base layers are on their way already (the page's <head> preloads them); the map is
    // ready once the Planungsräume, the districts and the areas are drawn. The project markers
    // are asked for only then: theirs is the server's slowest query, and it would hold the
    // base layers up.
    var base = Promise.all([
      fetchJSON(L_.planungsraeume.url),
      fetchJSON(L_.areas.url),
      L_.bezirke ? fetchJSON(L_.bezirke.url) : Promise.resolve(null)
    ]).then(function (data) {
      self.drawPlanungsraeume(data[0]);
      if (data[2]) self.drawBezirke(data[2]);
      self.drawAreas(data[1]);
      self.bindControls();
      self.drawLegend();
      self.setStatus("");
      root.dataset.mapReady = "1";
      self.watch();
    });
    var drawn = base.then(function () {
      return Promise.all(L_.projects.map(function (p) { return fetchJSON(p.url); }));
    }).then(function (projects) {
      self.drawProjects(projects);
      root.dataset.projects = self.projectQuery;
      return Promise.all([self.maybeLoadAll(), self.placesLoading]);
    }).then(function () {
      self.applySelection();
      root.dataset.mapComplete = "1";
    });
    return drawn.catch(function (err) {
      self.setStatus(self.cfg.text.load_error);
      if (root.dataset.mapReady !== "1") root.dataset.mapReady = "error";
      root.dataset.mapComplete = "error";
      if (window.console) console.warn(err);
    });
  };

  // --- the state: URL <-> map

  KiezMap.prototype.quietly = function (fn) {
    this.quiet += 1;
    try { return fn(); } finally { this.quiet -= 1; }
  };

  KiezMap.prototype.viewArg = function () {
    var c = this.map.getCenter();
    return String(Number(this.map.getZoom().toFixed(2))) + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5);
  };

  KiezMap.prototype.layersArg = function () {  // null when the defaults are shown
    var self = this, shown = this.cfg.toggles.filter(function (id) { return self.visible[id]; });
    var defaults = this.cfg.toggles.filter(function (id) { return self.cfg.defaults.indexOf(id) >= 0; });
    if (shown.join(",") === defaults.join(",")) return null;
    return shown.length ? shown.join(",") : "none";
  };

  KiezMap.prototype.popupOpen = function () {
    return !!(this.map._popup && this.map.hasLayer(this.map._popup));
  };

  KiezMap.prototype.watch = function () {
    var self = this, map = this.map;
    // Only the visitor's moves go into the address (a drag, the wheel, the keys, a zoom button, a
    // popup opened by a click), not the page's own (e.g. a resized window moves the centre).
    ["pointerdown", "wheel", "keydown", "touchstart", "dblclick"].forEach(function (type) {
      map.getContainer().addEventListener(type, function () { self.touchedAt = Date.now(); }, { passive: true });
    });
    map.on("moveend", function () {
      if (!self.quiet && Date.now() - (self.touchedAt || 0) < 3000) writeState({ map: self.viewArg() }, "replace");
      self.maybeLoadAll();
    });
    map.on("popupopen", function (e) {
      var source = e.popup && e.popup._source, sel = source && source.kkSel;
      clearTimeout(self.closing);
      if (self.quiet || !sel) return;
      self.pendingSelection = null;
      writeState({ sel: sel }, "push");
    });
    map.on("popupclose", function () {
      if (self.quiet) return;
      clearTimeout(self.closing);
      self.closing = setTimeout(function () {  // another popup may be opening in its place
        if (!self.popupOpen() && new URLSearchParams(window.location.search).get("sel")) {
          writeState({ sel: null }, "push");
        }
      }, 0);
    });
    window.addEventListener("popstate", function () { self.restore(readState()); });
  };

  // Back and Forward: show the state of the address now (the filter is restored by filters.js).
  KiezMap.prototype.restore = function (state) {
    var self = this;
    this.quietly(function () {
      var id = self.indicators[state.indicator] ? state.indicator : self.cfg.default_indicator;
      if (id !== self.indicator.id) self.setIndicator(id);
      var select = document.getElementById("indicator-select");
      if (select) select.value = id;
      var shown = state.layers === null ? self.cfg.defaults : String(state.layers).split(",");
      self.cfg.toggles.forEach(function (layerId) { self.setVisible(layerId, shown.indexOf(layerId) >= 0); });
      // The view of the address: its ?map=, else what the server fits (the filter's box, or the place)
      var view = parseView(state.map), box = parseBox(new URLSearchParams(window.location.search).get("bbox"));
      if (view) self.map.setView([view.lat, view.lon], view.zoom, { animate: false });
      else if (box) self.map.fitBounds(box, { animate: false });
      else if (self.cfg.fit) self.map.fitBounds(self.cfg.fit, { animate: false });
      else self.map.setView(self.initialView.center, self.initialView.zoom, { animate: false });
      self.map.closePopup();
    });
    this.pendingSelection = state.sel || null;
    this.maybeLoadAll();
    this.applySelection();
  };

  function parseBox(text) {  // "west,south,east,north" -> Leaflet bounds
    var v = String(text || "").split(",").map(Number);
    if (v.length !== 4 || v.some(isNaN)) return null;
    return [[v[1], v[0]], [v[3], v[2]]];
  }

  function parseView(text) {
    var parts = String(text || "").split("/").map(Number);
    if (parts.length !== 3 || parts.some(isNaN)) return null;
    return { zoom: parts[0], lat: parts[1], lon: parts[2] };
  }

  KiezMap.prototype.findSelection = function (sel) {
    var kind = sel.split(":")[0], id = sel.slice(kind.length + 1), found = null, self = this;
    var search = function (group, test) {
      if (group) group.eachLayer(function (layer) { if (!found && test(layer)) found = layer; });
    };
    if (kind === "plr") search(this.layers.planungsraeume, function (l) { return l.feature.properties.plr_id === id; });
    if (kind === "area") {
      ["areas-active", "areas-ended"].forEach(function (key) {
        search(self.layers[key], function (l) { return l.feature.properties.slug === id; });
      });
    }
    if (kind === "project") search(this.layers.projects, function (m) { return (m.kkIds || []).indexOf(id) >= 0; });
    if (kind === "place") {
      search(this.places[id.split(":")[0]], function (l) { return String(l.feature.id) === id; });
    }
    return found;
  };

  // Open the popup of the selected feature (from the URL), without moving the map.
  KiezMap.prototype.applySelection = function () {
    var sel = this.pendingSelection, self = this;
    if (!sel) return;
    var layer = this.findSelection(sel);
    if (!layer || !layer._map) return;  // not drawn (yet): the projects or the rest of Berlin may bring it
    this.pendingSelection = null;
    var popup = layer.getPopup(), autoPan = popup.options.autoPan;
    popup.options.autoPan = false;
    this.quietly(function () { layer.openPopup(); });
    popup.options.autoPan = autoPan;
    clearTimeout(self.closing);
  };

  // An area's or a Kiez's map has the Planungsräume around it; the rest once the map leaves them.
  KiezMap.prototype.maybeLoadAll = function () {
    var self = this, spec = this.cfg.layers.planungsraeume;
    var wanted = this.pendingSelection && this.pendingSelection.indexOf("plr:") === 0 &&
      !this.findSelection(this.pendingSelection);
    if (!this.nearBounds || !this.layers.planungsraeume) return Promise.resolve();
    if (!wanted && this.nearBounds.contains(this.map.getBounds())) return Promise.resolve();
    if (!this.loadingAll) {
      this.loadingAll = fetchJSON(spec.full).then(function (data) {
        var have = {};
        self.layers.planungsraeume.eachLayer(function (l) { have[l.feature.properties.plr_id] = true; });
        self.layers.planungsraeume.addData({ type: "FeatureCollection", features: data.features.filter(function (f) {
          return !have[f.properties.plr_id];
        }) });
        self.nearBounds = null;
        root.dataset.planungsraeume = "all";
        self.applySelection();
      }).catch(function (err) {
        self.loadingAll = null;
        self.setStatus(self.cfg.text.load_error);
        if (window.console) console.warn(err);
      });
    }
    return this.loadingAll;
  };

  // --- Planungsräume: the choropleth

  KiezMap.prototype.classOf = function (value) {
    var ind = this.indicator;
    if (ind.kind === "category") {
      var v = value === undefined ? null : value;
      for (var i = 0; i < ind.classes.length; i++) {
        if (ind.classes[i].value === v) return ind.classes[i];
      }
      return null;
    }
    if (value === null || value === undefined || isNaN(value)) return ind.no_data;
    for (var j = 0; j < ind.breaks.length; j++) {
      if (value < ind.breaks[j]) return ind.classes[j];
    }
    return ind.classes[ind.classes.length - 1];
  };

  KiezMap.prototype.plrStyle = function (feature) {
    var cls = this.classOf(feature.properties[this.indicator.id]);
    var focus = this.cfg.focus.plr === feature.properties.plr_id;
    return {
      renderer: this.renderer,
      className: "plr-shape" + (focus ? " plr-shape--current" : ""),
      fillColor: cls ? cls.colour : "#bdbdbd",
      fillOpacity: 0.78,
      color: focus ? COLOURS.focus : "#6e6e6e",
      weight: focus ? 5 : 0.6,
      opacity: 1
    };
  };

  KiezMap.prototype.drawPlanungsraeume = function (data) {
    var self = this;
    this.layers.planungsraeume = sourcedGeoJSON(data, this.cfg.layers.planungsraeume.attribution, {
      style: function (f) { return self.plrStyle(f); },
      onEachFeature: function (f, layer) {
        layer.kkSel = "plr:" + f.properties.plr_id;
        layer.bindPopup(function () { return self.plrPopup(f.properties); }, self.popupOptions);
      }
    }).addTo(this.map);
  };

  KiezMap.prototype.valueText = function (props) {
    var ind = this.indicator, value = props[ind.id];
    if (ind.kind === "category") {
      var cls = this.classOf(value);
      return cls ? cls.label : this.cfg.text.no_data;
    }
    if (value === null || value === undefined) return this.cfg.text.no_data;
    return this.formatNumber(value) + (ind.unit ? " " + ind.unit : "");
  };

  KiezMap.prototype.plrPopup = function (p) {
    var t = this.cfg.text, box = el("div", "popup");
    box.appendChild(el("h3", null, p.plr_name));
    box.appendChild(el("p", "hint", t.planungsraum + " " + p.plr_id + " · " + p.bezirk));
    var line = el("p");
    line.appendChild(el("strong", null, this.indicator.label + ": "));
    line.appendChild(document.createTextNode(this.valueText(p)));
    box.appendChild(line);
    if (this.indicator.id !== "residents" && p.residents !== null && p.residents !== undefined) {
      box.appendChild(el("p", null, t.residents + ": " + this.formatNumber(p.residents)));
    }
    var slugs = String(p.qm_areas || "").split(";").filter(Boolean);
    var self = this;
    slugs.forEach(function (slug) {
      var para = el("p", null, t.part_of + ": ");
      para.appendChild(link(fill(self.cfg.links.area, { id: slug }), self.areaNames[slug] || slug));
      box.appendChild(para);
    });
    if (this.cfg.focus.plr !== p.plr_id) {
      box.appendChild(el("p")).appendChild(link(fill(this.cfg.links.kiez, { id: p.plr_id }), t.open_kiez));
    }
    return box;
  };

  // --- district outlines (context only, not clickable)

  KiezMap.prototype.drawBezirke = function (data) {
    this.layers.bezirke = sourcedGeoJSON(data, this.cfg.layers.bezirke.attribution, {
      interactive: false,
      style: { renderer: this.renderer, className: "bezirk-outline", color: COLOURS.bezirk, weight: 1.6,
               opacity: 0.9, fill: false }
    });
    if (this.visible.bezirke !== false) this.layers.bezirke.addTo(this.map);
  };

  // --- QM areas: active and ended apart, approximate boundaries dashed

  KiezMap.prototype.areaStyle = function (feature) {
    var p = feature.properties, approx = APPROXIMATE[p.boundary_basis] === true;
    var focus = this.cfg.focus.area === p.slug;
    var group = p.status_group === "ended" ? "ended" : "active";
    var basis = String(p.boundary_basis || "none").replace(/[^a-z-]/g, "");
    return {
      renderer: this.renderer,
      className: "qm-area qm-area--" + group + " qm-basis--" + basis + (focus ? " qm-area--current" : ""),
      color: COLOURS[group],
      weight: focus ? 4.5 : (group === "ended" ? 2.2 : 3),
      opacity: 1,
      dashArray: approx ? (group === "ended" ? "3 5" : "8 6") : null,
      fill: false
    };
  };

  KiezMap.prototype.drawAreas = function (data) {
    var self = this;
    data.features.forEach(function (f) { self.areaNames[f.properties.slug] = f.properties.short_name; });
    var drawn = data.features.filter(function (f) { return f.geometry; });
    ["active", "ended"].forEach(function (group) {
      var features = drawn.filter(function (f) { return (f.properties.status_group === "ended" ? "ended" : "active") === group; });
      self.layers["areas-" + group] = sourcedGeoJSON({ type: "FeatureCollection", features: features },
                                                     self.cfg.layers.areas.attribution, {
        style: function (f) { return self.areaStyle(f); },
        onEachFeature: function (f, layer) {
          layer.kkSel = "area:" + f.properties.slug;
          layer.bindPopup(function () { return self.areaPopup(f.properties); }, self.popupOptions);
        }
      });
      if (self.visible["areas-" + group] !== false) self.layers["areas-" + group].addTo(self.map);
    });
  };

  KiezMap.prototype.areaPopup = function (p) {
    var t = this.cfg.text, labels = this.cfg.labels, box = el("div", "popup");
    box.appendChild(el("p", "hint", t.qm_area + " · " + (labels.status_group[p.status_group] || p.status_group)));
    box.appendChild(el("h3", null, p.name));
    box.appendChild(el("p", null, labels.area_status[p.status] || p.status));
    var years = p.start_year ? (p.end_year ? p.start_year + "–" + p.end_year : t.since + " " + p.start_year) : "";
    if (years) box.appendChild(el("p", null, t.years + ": " + years));
    box.appendChild(el("p", "hint", labels.basis[p.boundary_basis] || p.boundary_basis));
    if (this.cfg.focus.area !== p.slug) {
      box.appendChild(el("p")).appendChild(link(fill(this.cfg.links.area, { id: p.slug }), t.open_area));
    }
    return box;
  };

  // --- projects: one marker per point, listing every project placed there

  KiezMap.prototype.drawProjects = function (collections) {
    var self = this, groups = {}, order = [];
    collections.forEach(function (fc) {
      fc.features.forEach(function (f) {
        if (!f.geometry || f.geometry.type !== "Point") return;
        var key = f.geometry.coordinates.join(",");
        if (!groups[key]) { groups[key] = []; order.push(key); }
        groups[key].push(f);
      });
    });
    var markers = order.map(function (key) {
      var features = groups[key], c = features[0].geometry.coordinates;
      var count = el("span", null, features.length > 1 ? String(features.length) : "");
      var title = features.length > 1 ? self.cfg.text.projects_here + " (" + features.length + ")" : features[0].properties.title;
      var marker = L.marker([c[1], c[0]], {
        icon: L.divIcon({ className: "project-marker", html: count, iconSize: [30, 30] }),
        title: title,
        keyboard: true,
        riseOnHover: true
      });
      marker.kkIds = features.map(function (f) { return String(f.properties.id); });
      marker.kkSel = "project:" + marker.kkIds[0];
      marker.bindPopup(function () { return self.projectPopup(features); }, L.extend({ maxWidth: 320 }, self.popupOptions));
      marker.on("add", function () {
        var node = marker.getElement();
        if (node) node.setAttribute("aria-label", title);
      });
      return marker;
    });
    var attribution = this.cfg.layers.projects.length ? this.cfg.layers.projects[0].attribution : "";
    var self_ = this;
    if (this.layers.projects) this.quietly(function () { self_.map.removeLayer(self_.layers.projects); });
    this.layers.projects = L.featureGroup(markers, { attribution: attribution });
    if (this.visible.projects !== false) this.layers.projects.addTo(this.map);
    this.projectCount = collections.reduce(function (n, fc) { return n + fc.features.length; }, 0);
  };

  // Redraw the project markers for a filter ("fund=baufonds&year_from=2015"; "" for all).
  KiezMap.prototype.setProjectQuery = function (query) {
    var self = this, mine = ++this.projectSequence;
    var specs = this.cfg.layers.projects;
    if (!specs.length) return Promise.resolve();
    root.dataset.projectsState = "loading";
    return Promise.all(specs.map(function (spec) {
      var url = spec.base + (query ? (spec.base.indexOf("?") < 0 ? "?" : "&") + query : "");
      return fetchJSON(url);
    })).then(function (data) {
      if (mine !== self.projectSequence) return;  // a newer filter was chosen meanwhile
      var sel = new URLSearchParams(window.location.search).get("sel");
      if (sel && sel.indexOf("project:") === 0) {  // a project's popup: open it again if it is still shown
        self.pendingSelection = sel;
        self.quietly(function () { self.map.closePopup(); });
      }
      self.projectQuery = query;
      self.drawProjects(data);
      self.applySelection();
      if (self.pendingSelection === sel && sel) {  // the filter hides it
        self.pendingSelection = null;
        writeState({ sel: null }, "replace");
      }
      self.setStatus(self.cfg.text.projects_shown.replace("%(count)s", self.projectCount));
      root.dataset.projects = query;
      root.dataset.projectsState = "ready";
    }).catch(function (err) {
      if (mine !== self.projectSequence) return;
      self.setStatus(self.cfg.text.load_error);
      root.dataset.projectsState = "error";
      if (window.console) console.warn(err);
    });
  };

  KiezMap.prototype.projectPopup = function (features) {
    var self = this, t = this.cfg.text, labels = this.cfg.labels, box = el("div", "popup");
    var p0 = features[0].properties;
    box.appendChild(el("p", "hint", features.length > 1 ? t.projects_here + " (" + features.length + ")" : t.project));
    var list = el(features.length > 1 ? "ul" : "div");
    features.forEach(function (f) {
      var p = f.properties, item = el(features.length > 1 ? "li" : "div");
      var heading = el("h3");
      if (p.area_slug) heading.appendChild(link(fill(self.cfg.links.project, { area: p.area_slug, id: p.id }), p.title));
      else heading.textContent = p.title;
      item.appendChild(heading);
      if (p.place) item.appendChild(el("p", null, t.place + ": " + p.place + (p.address ? ", " + p.address : "")));
      var years = p.start_year ? (p.end_year && p.end_year !== p.start_year ? p.start_year + "–" + p.end_year : String(p.start_year)) : "";
      item.appendChild(el("p", null, (labels.fund[p.fund] || p.fund) + (years ? " · " + years : "") +
        " · " + (labels.project_status[p.status] || p.status)));
      if (self.cfg.links.edit) {  // only in pages for signed-in planners
        var edit = link(fill(self.cfg.links.edit, { id: p.id }), t.edit);
        edit.className = "popup-edit";
        edit.setAttribute("aria-label", t.edit + ": " + p.title);
        item.appendChild(el("p")).appendChild(edit);
      }
      list.appendChild(item);
    });
    box.appendChild(list);
    box.appendChild(el("p", "hint", t.location + ": " + (labels.precision[p0.location_precision] || p0.location_precision)));
    return box;
  };

  // --- places near the area (loaded when switched on)

  KiezMap.prototype.togglePlaces = function (kind, on) {
    var self = this, spec = null;
    this.cfg.places.forEach(function (p) { if (p.kind === kind) spec = p; });
    if (!spec) return Promise.resolve();
    if (!on) {
      if (this.places[kind]) this.map.removeLayer(this.places[kind]);
      return Promise.resolve();
    }
    if (this.places[kind]) { this.places[kind].addTo(this.map); return Promise.resolve(); }
    return fetchJSON(spec.url).then(function (data) {
      self.places[kind] = sourcedGeoJSON(data, spec.attribution, {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, {
            renderer: self.renderer, className: "place-marker place--" + kind, radius: 7,
            color: "#ffffff", weight: 2, fillColor: spec.colour, fillOpacity: 1
          });
        },
        onEachFeature: function (f, layer) {
          layer.kkSel = "place:" + f.id;  // ids are "<kind>:<number>"
          layer.bindPopup(function () { return self.placePopup(spec, f.properties); }, self.popupOptions);
        }
      });
      if (self.visible[kind]) self.places[kind].addTo(self.map);
      self.applySelection();
      self.setStatus(spec.label + ": " + self.cfg.text.places_count.replace("%(count)s", data.features.length));
    }).catch(function (err) {
      self.setStatus(self.cfg.text.load_error);
      if (window.console) console.warn(err);
    });
  };

  KiezMap.prototype.placePopup = function (spec, p) {
    var box = el("div", "popup");
    box.appendChild(el("p", "hint", spec.label));
    box.appendChild(el("h3", null, p.name || spec.label));
    var address = [p.street, p.number].filter(Boolean).join(" ");
    if (p.plz) address += (address ? ", " : "") + p.plz;
    if (address) box.appendChild(el("p", null, address));
    if (p.info) box.appendChild(el("p", null, p.info));
    if (p.website) box.appendChild(el("p")).appendChild(externalLink(p.website, this.cfg.text.website));
    return box;
  };

  // ------------------------------------------------------------ controls and legend

  KiezMap.prototype.setIndicator = function (id) {
    if (!this.indicators[id] || this.indicator.id === id) return;
    var self = this;
    this.indicator = this.indicators[id];
    this.layers.planungsraeume.setStyle(function (f) { return self.plrStyle(f); });
    this.quietly(function () { self.map.closePopup(); });  // its text names the old indicator
    this.drawLegend();
  };

  // Show or hide one switchable layer (QM areas, districts, projects, places) and its checkbox.
  KiezMap.prototype.setVisible = function (id, on) {
    var self = this;
    this.visible[id] = on;
    var input = document.querySelector('[data-layer-toggle="' + id + '"]');
    if (input) input.checked = on;
    if (this.cfg.places.some(function (p) { return p.kind === id; })) return this.togglePlaces(id, on);
    var layer = this.layers[id];
    if (!layer) return Promise.resolve();
    this.quietly(function () {
      if (on) layer.addTo(self.map); else self.map.removeLayer(layer);
    });
    return Promise.resolve();
  };

  KiezMap.prototype.bindControls = function () {
    var self = this;
    var select = document.getElementById("indicator-select");
    if (select) {
      select.value = this.indicator.id;  // the URL decides, not a choice the browser kept from before
      select.addEventListener("change", function () {
        var had = self.popupOpen();
        self.setIndicator(select.value);
        var changes = { indicator: select.value === self.cfg.default_indicator ? null : select.value };
        if (had) changes.sel = null;
        writeState(changes, "push");
      });
    }
    var places = [];
    this.cfg.toggles.forEach(function (id) {
      if (self.visible[id] && self.cfg.defaults.indexOf(id) < 0) places.push(self.setVisible(id, true));  // from the URL
    });
    this.placesLoading = Promise.all(places);
    Array.prototype.forEach.call(document.querySelectorAll("[data-layer-toggle]"), function (input) {
      var id = input.getAttribute("data-layer-toggle");
      input.checked = !!self.visible[id];
      input.addEventListener("change", function () {
        var had = self.popupOpen();
        self.setVisible(id, input.checked);
        var changes = { layers: self.layersArg() };
        if (had && !self.popupOpen()) changes.sel = null;
        writeState(changes, "push");
      });
    });
  };

  KiezMap.prototype.drawLegend = function () {
    if (!this.legend) return;
    var ind = this.indicator, t = this.cfg.text, legend = this.legend;
    while (legend.firstChild) legend.removeChild(legend.firstChild);
    legend.dataset.indicator = ind.id;
    legend.appendChild(el("h3", "legend-title", ind.label));
    var list = el("ul");
    var classes = ind.classes.slice();
    if (ind.no_data) classes.push(ind.no_data);
    classes.forEach(function (c) {
      var item = el("li");
      var swatch = el("span", "swatch");
      swatch.style.background = c.colour;
      swatch.setAttribute("aria-hidden", "true");
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(c.label));
      list.appendChild(item);
    });
    legend.appendChild(list);
    legend.appendChild(el("h3", null, t.legend_lines));
    var lines = el("ul");
    [["line", t.line_active], ["line line--ended", t.line_ended], ["line line--dashed", t.line_approx],
     ["line line--bezirk", t.line_bezirk]].forEach(function (pair) {
      var item = el("li");
      var sample = el("span", pair[0]);
      sample.setAttribute("aria-hidden", "true");
      item.appendChild(sample);
      item.appendChild(document.createTextNode(pair[1]));
      lines.appendChild(item);
    });
    legend.appendChild(lines);
  };

  // ------------------------------------------------------------ editor: place a project

  KiezMap.prototype.loadEditor = function () {
    var self = this, L_ = this.cfg.layers, ed = this.cfg.editor;
    this.latInput = document.getElementById("field-" + ed.lat_field);
    this.lonInput = document.getElementById("field-" + ed.lon_field);
    this.areaSelect = document.getElementById("field-" + ed.area_field);
    this.setStatus(this.cfg.text.loading);
    return Promise.all([fetchJSON(L_.planungsraeume.url), fetchJSON(L_.areas.url),
                        L_.bezirke ? fetchJSON(L_.bezirke.url) : Promise.resolve(null)]).then(function (data) {
      sourcedGeoJSON(data[0], L_.planungsraeume.attribution, { interactive: false,
        style: { renderer: self.renderer, className: "plr-outline", color: "#8a8a8a", weight: 0.6, fill: true,
                 fillColor: "#f7f7f2", fillOpacity: 0.6 } }).addTo(self.map);
      if (data[2]) self.drawBezirke(data[2]);
      self.areaLayers = {};
      sourcedGeoJSON({ type: "FeatureCollection", features: data[1].features.filter(function (f) { return f.geometry; }) },
                     L_.areas.attribution, { interactive: false,
        style: function (f) { return self.areaStyle(f); },
        onEachFeature: function (f, layer) { self.areaLayers[f.properties.slug] = layer; }
      }).addTo(self.map);
      if (ed.current && !ed.point) {
        L.circleMarker(ed.current, { renderer: self.renderer, className: "editor-current", radius: 8, color: "#333",
                                     weight: 2, dashArray: "3 3", fillOpacity: 0.1, interactive: false })
          .bindTooltip(self.cfg.text.current_point).addTo(self.map);
      }
      if (ed.point) self.placePoint(ed.point[0], ed.point[1], false);
      self.map.on("click", function (e) { self.placePoint(e.latlng.lat, e.latlng.lng, true); });
      [self.latInput, self.lonInput].forEach(function (input) {
        if (input) input.addEventListener("change", function () { self.pointFromFields(); });
      });
      if (self.areaSelect) self.areaSelect.addEventListener("change", function () { self.showArea(self.areaSelect.value); });
      var clear = document.querySelector("[data-clear-point]");
      if (clear) clear.addEventListener("click", function () { self.clearPoint(); });
      self.setStatus(ed.point ? "" : self.cfg.text.click_to_place);
      root.dataset.mapReady = "1";
      root.dataset.mapComplete = "1";
    }).catch(function (err) {
      self.setStatus(self.cfg.text.load_error);
      root.dataset.mapReady = "error";
      if (window.console) console.warn(err);
    });
  };

  KiezMap.prototype.placePoint = function (lat, lon, fromClick) {
    var latlng = L.latLng(lat, lon);
    if (!this.marker) {
      this.marker = L.marker(latlng, {
        icon: L.divIcon({ className: "editor-marker", html: "", iconSize: [26, 26] }),
        title: this.cfg.text.new_point, keyboard: false, interactive: false
      }).addTo(this.map);
    } else {
      this.marker.setLatLng(latlng);
    }
    if (fromClick) {
      if (this.latInput) this.latInput.value = lat.toFixed(6);
      if (this.lonInput) this.lonInput.value = lon.toFixed(6);
      this.setStatus(this.cfg.text.placed_at.replace("%(lat)s", lat.toFixed(6)).replace("%(lon)s", lon.toFixed(6)));
    } else if (!this.map.getBounds().contains(latlng)) {
      this.map.panTo(latlng);
    }
  };

  KiezMap.prototype.pointFromFields = function () {
    var lat = parseFloat(String(this.latInput.value).replace(",", "."));
    var lon = parseFloat(String(this.lonInput.value).replace(",", "."));
    if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) this.placePoint(lat, lon, false);
    else if (!this.latInput.value && !this.lonInput.value) this.clearPoint();
  };

  KiezMap.prototype.clearPoint = function () {
    if (this.marker) { this.map.removeLayer(this.marker); this.marker = null; }
    if (this.latInput) this.latInput.value = "";
    if (this.lonInput) this.lonInput.value = "";
    this.setStatus(this.cfg.text.click_to_place);
  };

  KiezMap.prototype.showArea = function (slug) {
    var layer = this.areaLayers && this.areaLayers[slug];
    if (layer && !this.marker) this.map.fitBounds(layer.getBounds(), { padding: [10, 10] });
  };

  // ------------------------------------------------------------ public hook

  window.kiezkarte = {
    init: function (map, cfg) {
      embedded = !!cfg.embed;
      fullMapPath = (cfg.links && cfg.links.full) || "";
      var km = new KiezMap(map, cfg);
      window.kiezkarte.map = map;
      window.kiezkarte.layers = km.layers;
      window.kiezkarte.places = km.places;
      window.kiezkarte.instance = km;
      return km.load();
    }
  };
})();
