/* A big point layer drawn from vector tiles (/tiles/<layer>/{z}/{x}/{y}.pbf) with Leaflet.VectorGrid.
 *
 * The page (app/templates/tiles/layer.html) gives its settings in a JSON script tag
 * (#tile-map-config); nothing here is inline, so the page keeps script-src 'self'.
 * Tiles up to the layer's cluster zoom hold grid cells with a `count`; they are drawn as small
 * squares-ish dots coloured by how many points they stand for (per cell area, so colours mean
 * the same at every zoom). Above it the tiles hold the points, drawn as dots; a click shows
 * their attributes (built as text nodes, never as HTML).
 * Sets <html data-map-ready="1"> once the first tiles are drawn (used by tests and benchmarks).
 */
(function () {
  "use strict";
  var el = document.getElementById("layer-map");
  var configEl = document.getElementById("tile-map-config");
  var status = document.getElementById("layer-map-status");
  if (!el || !configEl || !window.L || !L.vectorGrid) { return; }
  var cfg = JSON.parse(configEl.textContent);

  // Leaflet 1.8 removed L.DomEvent.fakeStop, which VectorGrid 1.3.0's canvas renderer calls on a
  // click that hits a feature; stopping the event is what it meant (as VectorGrid's own later fix).
  if (!L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { L.DomEvent.stop(e); };
  }
  // Its point features are CircleMarkers without a LatLng; Leaflet (since 1.1) asks a small circle
  // for its position when it passes a click on, and fails. Give them the position of the pointer.
  var fireEvent = L.Canvas.prototype._fireEvent;
  L.Canvas.Tile.include({
    _fireEvent: function (layers, e, type) {
      if (this._map && e && e.clientX !== undefined) {
        var at = this._map.mouseEventToLatLng(e);
        [].concat(layers).forEach(function (layer) {
          if (layer instanceof L.CircleMarker) { layer._latlng = at; }
        });
      }
      return fireEvent.call(this, layers, e, type);
    }
  });

  var map = L.map(el, { minZoom: cfg.minZoom, maxZoom: cfg.maxZoom });
  el.kiezkarteMap = map;  // for the browser tests (a property of the element, no global)
  if (cfg.basemap) {
    L.tileLayer(cfg.basemap, { attribution: escapeHtml(cfg.basemapAttribution) }).addTo(map);
  }
  map.attributionControl.addAttribution(escapeHtml(cfg.attribution));
  var b = cfg.bounds;
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);

  var colours = ["#d9f0d3", "#a6dba0", "#5aae61", "#1b7837", "#00441b"];

  function cellStyle(count, zoom) {
    // points per cell of the cluster zoom: comparable across zooms (a cell holds 4x the area per zoom out)
    var perCell = count / Math.pow(4, Math.max(0, cfg.clusterMaxZoom - zoom));
    var k = perCell < 1 ? 0 : perCell < 2 ? 1 : perCell < 4 ? 2 : perCell < 8 ? 3 : 4;
    return { radius: 2.5, weight: 0, fill: true, fillColor: colours[k], fillOpacity: 0.9 };
  }

  var styles = {};
  styles[cfg.layer] = function (properties, zoom) {
    if (properties.count !== undefined) { return cellStyle(properties.count, zoom); }
    return { radius: 3.5, weight: 1, color: "#00441b", fill: true, fillColor: "#5aae61", fillOpacity: 0.85 };
  };

  var layer = L.vectorGrid.protobuf(cfg.tiles, {
    rendererFactory: L.canvas.tile,
    vectorTileLayerStyles: styles,
    interactive: true,
    minZoom: cfg.minZoom,
    maxZoom: cfg.maxZoom,
    maxNativeZoom: cfg.maxZoom
  });

  // A popup near the top edge is panned below the zoom buttons, not under them (as on the other maps).
  var zoomBox = map.zoomControl && map.zoomControl.getContainer();
  var belowZoom = zoomBox && zoomBox.offsetHeight ? zoomBox.offsetTop + zoomBox.offsetHeight : 80;
  layer.on("click", function (e) {
    var props = (e.layer && e.layer.properties) || {};
    L.popup({ autoPanPaddingTopLeft: L.point(10, belowZoom + 10), autoPanPaddingBottomRight: L.point(10, 10) })
      .setLatLng(e.latlng).setContent(popupContent(props)).openOn(map);
  });
  layer.once("load", function () {
    document.documentElement.setAttribute("data-map-ready", "1");
    if (status) { status.textContent = ""; }
  });
  layer.addTo(map);

  function popupContent(props) {
    var box = document.createElement("div");
    if (cfg.text.synthetic) {
      var warn = document.createElement("p");
      var strong = document.createElement("strong");
      strong.textContent = cfg.text.synthetic;
      warn.appendChild(strong);
      box.appendChild(warn);
    }
    var dl = document.createElement("dl");
    var names = props.count !== undefined ? ["count"] : cfg.fields;
    names.forEach(function (name) {
      if (props[name] === undefined) { return; }
      var dt = document.createElement("dt");
      dt.textContent = name === "count" ? cfg.text.count : name;
      var dd = document.createElement("dd");
      dd.textContent = String(props[name]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    box.appendChild(dl);
    return box;
  }

  function escapeHtml(text) {
    return String(text || "").replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }
})();
