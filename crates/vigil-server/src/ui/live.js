// Vigil's live queue. When the server says the cases changed, the page fetches itself again
// and swaps in its rows, as the server rendered and escaped them. Without JavaScript the page
// is the same and is read on reload.
"use strict";
(function () {
  if (!window.EventSource || !window.fetch || !document.querySelector("[data-live]")) return;
  var busy = false;
  var again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-live]");
        var shown = document.querySelector("[data-live]");
        if (fresh && shown) shown.replaceWith(document.importNode(fresh, true));
      })
      .catch(function () { /* the next change tries again */ })
      .finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  new EventSource("/ui/live").addEventListener("cases", refresh);
})();
