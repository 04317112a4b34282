// The calendar refreshes itself: the server says when the read models moved (server-sent
// events), and the page fetches itself again and swaps the calendar in place, so a booking
// made on WhatsApp appears while the owner looks. Without JavaScript the page still works
// (reloading it shows the same).
(function () {
  var box = document.getElementById("calendario");
  if (!box || !window.EventSource || !window.fetch) return;
  var events = new EventSource(box.getAttribute("data-eventos"));
  events.addEventListener("cambio", function () {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (!text) return;
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("calendario");
        if (fresh) { box.replaceWith(fresh); box = fresh; }
      });
  });
})();
