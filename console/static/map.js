// Maps of the staff console, drawn with Leaflet (console/static/vendor/leaflet).
// Each element with a data-map attribute becomes a map: with data-lat and data-lon it
// shows one case's point; with data-src it shows the markers the JSON endpoint
// answers. The tile server and its credit come from data-tiles and
// data-attribution. Nothing the citizen wrote is ever given to the page as markup:
// popups are built from text nodes.
(function () {
  "use strict";

  // Greece, for a map with nothing on it yet.
  var GREECE = [38.3, 23.8];

  function escapeText(s) {
    var d = document.createElement("div");
    d.textContent = s || "";
    return d.innerHTML;
  }

  function baseLayer(el) {
    return L.tileLayer(el.dataset.tiles, {
      maxZoom: 19,
      attribution: escapeText(el.dataset.attribution)
    });
  }

  function popup(c) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = c.url;
    link.textContent = c.number;
    var title = document.createElement("strong");
    title.appendChild(link);
    box.appendChild(title);
    [c.subject, c.category + " · " + c.stage].forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    });
    return box;
  }

  function pointMap(el) {
    var at = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    var map = L.map(el, { scrollWheelZoom: false }).setView(at, 17);
    baseLayer(el).addTo(map);
    L.marker(at, { title: el.dataset.label || "", keyboard: false }).addTo(map);
  }

  function casesMap(el) {
    var map = L.map(el).setView(GREECE, 7);
    baseLayer(el).addTo(map);
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("map: " + r.status);
        }
        return r.json();
      })
      .then(function (data) {
        var bounds = [];
        data.cases.forEach(function (c) {
          var at = [c.lat, c.lon];
          L.marker(at, { title: c.number + " · " + c.subject, alt: c.number }).bindPopup(popup(c)).addTo(map);
          bounds.push(at);
        });
        if (bounds.length === 1) {
          map.setView(bounds[0], 16);
        } else if (bounds.length > 1) {
          map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 });
        }
      })
      .catch(function (err) {
        el.setAttribute("data-failed", "true");
        if (window.console) {
          window.console.error(err);
        }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof L === "undefined") {
      return;
    }
    document.querySelectorAll("[data-map]").forEach(function (el) {
      if (el.dataset.src) {
        casesMap(el);
      } else if (el.dataset.lat && el.dataset.lon) {
        pointMap(el);
      }
    });
  });
})();
