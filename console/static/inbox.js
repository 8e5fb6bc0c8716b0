// The staff inbox, made live and keyboard-friendly. The page works without this
// script: tabs, filters and paging are plain links and a GET form. With it:
//  - the rows and the counts refresh every few seconds (data-refresh) from the
//    fragment at data-rows-url, while the page is visible;
//  - j / ArrowDown and k / ArrowUp move between rows, Enter opens the row,
//    "/" goes to the search box, n / p page, "?" shows the shortcuts.
// It is served from /console/static under a CSP that allows scripts from the
// console's own origin only: no inline code, no eval.
(function () {
  "use strict";
  var root = document.getElementById("inbox");
  if (!root) { return; }
  var rowsURL = root.getAttribute("data-rows-url");
  var every = parseInt(root.getAttribute("data-refresh"), 10) || 15;
  var current = -1; // index of the selected row, -1 for none

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#inbox-rows tr[data-href]"));
  }

  function select(i, focus) {
    var list = rows();
    if (list.length === 0) { current = -1; return; }
    i = Math.max(0, Math.min(i, list.length - 1));
    list.forEach(function (tr, j) {
      if (j === i) { tr.setAttribute("data-selected", ""); } else { tr.removeAttribute("data-selected"); }
    });
    current = i;
    var link = list[i].querySelector("a");
    if (focus && link) {
      link.focus();
      list[i].scrollIntoView({ block: "nearest" });
    }
  }

  // typing reports whether a key goes to a form control rather than to the page.
  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || el.isContentEditable;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (typing(e.target)) {
      if (e.key === "Escape") { e.target.blur(); }
      return;
    }
    var go;
    switch (e.key) {
      case "j": case "ArrowDown":
        select(current + 1, true); e.preventDefault(); break;
      case "k": case "ArrowUp":
        select(current < 0 ? 0 : current - 1, true); e.preventDefault(); break;
      case "Enter":
        if (current >= 0 && rows()[current] && e.target === document.body) {
          window.location.href = rows()[current].getAttribute("data-href"); e.preventDefault();
        }
        break;
      case "/":
        go = document.getElementById("header-q") || document.getElementById("filter-category");
        if (go) { go.focus(); e.preventDefault(); }
        break;
      case "n":
        go = document.getElementById("inbox-next");
        if (go) { window.location.href = go.href; }
        break;
      case "p":
        go = document.getElementById("inbox-prev");
        if (go) { window.location.href = go.href; }
        break;
      case "?":
        go = document.getElementById("inbox-shortcuts");
        if (go) { go.open = !go.open; if (go.open) { go.querySelector("summary").focus(); } }
        break;
    }
  });

  // A click on a row, outside its link, opens the case too: a larger touch target.
  document.addEventListener("click", function (e) {
    var tr = e.target.closest && e.target.closest("#inbox-rows tr[data-href]");
    if (tr && !e.target.closest("a")) { window.location.href = tr.getAttribute("data-href"); }
  });

  // refresh swaps in the fresh rows and counts, keeping the selection on the same
  // case when it is still there. A response that is not the fragment (the session
  // ended and the console answers with the sign-in page) stops the refreshing.
  var stopped = false;
  function refresh() {
    if (stopped || document.hidden || !rowsURL) { return; }
    fetch(rowsURL, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        if (!res.ok || res.redirected) { stopped = true; return null; }
        return res.text();
      })
      .then(function (html) {
        if (html === null || html === undefined) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("inbox-live");
        var old = document.getElementById("inbox-live");
        if (!fresh || !old) { stopped = true; return; }
        // The selection as it is now, not when the request left: keys pressed
        // meanwhile count.
        var selected = current >= 0 && rows()[current] ? rows()[current].getAttribute("data-href") : null;
        var hadFocus = document.activeElement && document.activeElement.closest &&
          document.activeElement.closest("#inbox-live");
        old.replaceWith(document.importNode(fresh, true));
        current = -1;
        if (selected) {
          rows().forEach(function (tr, i) {
            if (tr.getAttribute("data-href") === selected) { select(i, Boolean(hadFocus)); }
          });
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }
  window.setInterval(refresh, every * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
})();
