/* The broadcaster's screen: its poll sends the last ETag and keeps the screen as it is when the
   server answers 304 (nothing changed); a new screen carries its own ETag. */
(function () {
  "use strict";
  if (window.broadcastScreen) return;
  window.broadcastScreen = true;
  document.body.addEventListener("htmx:configRequest", (e) => {
    const onAir = e.detail.elt;
    if (onAir && onAir.id === "on-air" && e.detail.verb === "get" && onAir.dataset.etag) {
      e.detail.headers["If-None-Match"] = `"${onAir.dataset.etag}"`;
    }
  });
  document.body.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 304) e.detail.shouldSwap = false;
  });
})();
