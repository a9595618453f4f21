/* Kiezkarte map script: draws the layers of one map page from the JSON API.
 *
 * app/maps.py creates the Leaflet map (through Folium) and calls kiezkarte.init(map, config).
 * Everything from the data reaches the page as text: popups and the legend are built
 * from DOM nodes with textContent, never innerHTML. Attributions arrive escaped from
 * the server. Hooks for tests: <html data-map-ready="1"> once drawn, window.kiezkarte,
 * <html data-projects="<filter query>"> once the project markers of a filter are drawn,
 * and the path classes plr-shape, qm-area, project-marker, place-marker, editor-marker.
 *
 * The chosen indicator is kept in the URL (?indicator=), next to the project filter that
 * static/js/filters.js writes there; setProjectQuery() redraws the markers for a filter.
 * In "editor" mode (the planners' project form) a click on the map, or typing in the
 * latitude/longitude fields, places the project's point.
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

  function link(href, text) {
    var a = el("a", null, text);
    a.href = href;
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

  // Set (or, with an empty value, remove) one argument of the page's URL, keeping all others.
  function setUrlParam(key, value) {
    var params = new URLSearchParams(window.location.search);
    if (value) params.set(key, value); else params.delete(key);
    var query = params.toString().replace(/%2C/gi, ",");
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
    Array.prototype.forEach.call(document.querySelectorAll("a[hreflang]"), function (a) {
      var url = new URL(a.href, window.location.href);
      if (value) url.searchParams.set(key, value); else url.searchParams.delete(key);
      a.href = url.pathname + url.search.replace(/%2C/gi, ",");
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-filter-form]"), function (form) {
      var input = form.querySelector('input[type=hidden][name="' + key + '"]');
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
  }

  function fetchJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
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
    this.numberFormat = new Intl.NumberFormat(cfg.lang, { maximumFractionDigits: 1 });
    this.status = document.getElementById("map-status");
    this.legend = document.getElementById("legend");
    var sources = map.attributionControl && map.attributionControl.getContainer();
    if (sources) {  // focusable, so keyboard and touch users can open the full list of sources
      sources.tabIndex = 0;
      sources.setAttribute("role", "note");
      sources.setAttribute("aria-label", cfg.text.sources);
    }
    map.setMinZoom(9);
    map.setMaxBounds(L.latLngBounds([52.2, 12.8], [52.85, 14.05]));
  }

  KiezMap.prototype.setStatus = function (text) {
    if (this.status) this.status.textContent = text || "";
  };

  KiezMap.prototype.load = function () {
    var self = this, L_ = this.cfg.layers;
    if (this.cfg.mode === "editor") return this.loadEditor();
    this.setStatus(this.cfg.text.loading);
    var jobs = [
      fetchJSON(L_.planungsraeume.url),
      fetchJSON(L_.areas.url),
      L_.bezirke ? fetchJSON(L_.bezirke.url) : Promise.resolve(null),
      Promise.all(L_.projects.map(function (p) { return fetchJSON(p.url); }))
    ];
    return Promise.all(jobs).then(function (data) {
      self.drawPlanungsraeume(data[0]);
      if (data[2]) self.drawBezirke(data[2]);
      self.drawAreas(data[1]);
      self.drawProjects(data[3]);
      root.dataset.projects = self.projectQuery;
      self.bindControls();
      self.drawLegend();
      self.setStatus("");
      root.dataset.mapReady = "1";
    }).catch(function (err) {
      self.setStatus(self.cfg.text.load_error);
      root.dataset.mapReady = "error";
      if (window.console) console.warn(err);
    });
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
    this.layers.planungsraeume = L.geoJSON(data, {
      attribution: this.cfg.layers.planungsraeume.attribution,
      style: function (f) { return self.plrStyle(f); },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () { return self.plrPopup(f.properties); });
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
    return this.numberFormat.format(value) + (ind.unit ? " " + ind.unit : "");
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
      box.appendChild(el("p", null, t.residents + ": " + this.numberFormat.format(p.residents)));
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
    this.layers.bezirke = L.geoJSON(data, {
      attribution: this.cfg.layers.bezirke.attribution,
      interactive: false,
      style: { renderer: this.renderer, className: "bezirk-outline", color: COLOURS.bezirk, weight: 1.6,
               opacity: 0.9, fill: false }
    }).addTo(this.map);
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
      self.layers["areas-" + group] = L.geoJSON({ type: "FeatureCollection", features: features }, {
        attribution: self.cfg.layers.areas.attribution,
        style: function (f) { return self.areaStyle(f); },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () { return self.areaPopup(f.properties); });
        }
      }).addTo(self.map);
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
      marker.bindPopup(function () { return self.projectPopup(features); }, { maxWidth: 320 });
      marker.on("add", function () {
        var node = marker.getElement();
        if (node) node.setAttribute("aria-label", title);
      });
      return marker;
    });
    var attribution = this.cfg.layers.projects.length ? this.cfg.layers.projects[0].attribution : "";
    if (this.layers.projects) this.map.removeLayer(this.layers.projects);
    this.layers.projects = L.featureGroup(markers, { attribution: attribution });
    var toggle = document.querySelector('[data-layer-toggle="projects"]');
    if (!toggle || toggle.checked) this.layers.projects.addTo(this.map);
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
      self.map.closePopup();
      self.projectQuery = query;
      self.drawProjects(data);
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
      self.places[kind] = L.geoJSON(data, {
        attribution: spec.attribution,
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, {
            renderer: self.renderer, className: "place-marker place--" + kind, radius: 7,
            color: "#ffffff", weight: 2, fillColor: spec.colour, fillOpacity: 1
          });
        },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () { return self.placePopup(spec, f.properties); });
        }
      });
      var input = document.querySelector('[data-place-toggle="' + kind + '"]');
      if (!input || input.checked) self.places[kind].addTo(self.map);
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
    if (!this.indicators[id]) return;
    var self = this;
    this.indicator = this.indicators[id];
    this.layers.planungsraeume.setStyle(function (f) { return self.plrStyle(f); });
    this.map.closePopup();
    this.drawLegend();
  };

  KiezMap.prototype.bindControls = function () {
    var self = this;
    var select = document.getElementById("indicator-select");
    if (select) {
      if (this.indicators[select.value]) this.setIndicator(select.value);  // the browser may keep a choice on reload
      select.addEventListener("change", function () {
        self.setIndicator(select.value);
        setUrlParam("indicator", select.value === self.cfg.default_indicator ? "" : select.value);
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-layer-toggle]"), function (input) {
      var apply = function () {
        var layer = self.layers[input.getAttribute("data-layer-toggle")];
        if (!layer) return;
        if (input.checked) layer.addTo(self.map); else self.map.removeLayer(layer);
      };
      apply();
      input.addEventListener("change", apply);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-place-toggle]"), function (input) {
      var kind = input.getAttribute("data-place-toggle");
      if (input.checked) self.togglePlaces(kind, true);
      input.addEventListener("change", function () { self.togglePlaces(kind, input.checked); });
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
      L.geoJSON(data[0], { attribution: L_.planungsraeume.attribution, interactive: false,
        style: { renderer: self.renderer, className: "plr-outline", color: "#8a8a8a", weight: 0.6, fill: true,
                 fillColor: "#f7f7f2", fillOpacity: 0.6 } }).addTo(self.map);
      if (data[2]) self.drawBezirke(data[2]);
      self.areaLayers = {};
      L.geoJSON({ type: "FeatureCollection", features: data[1].features.filter(function (f) { return f.geometry; }) }, {
        attribution: L_.areas.attribution, interactive: false,
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
      var km = new KiezMap(map, cfg);
      window.kiezkarte.map = map;
      window.kiezkarte.layers = km.layers;
      window.kiezkarte.places = km.places;
      window.kiezkarte.instance = km;
      return km.load();
    }
  };
})();
