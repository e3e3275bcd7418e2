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
  /* A missed entry opened to record it is not redrawn under the broadcaster's hands: the poll
     waits until it is closed or recorded. */
  document.body.addEventListener("htmx:confirm", (e) => {
    const onAir = e.detail.elt;
    if (onAir && onAir.id === "on-air" && onAir.querySelector("details.missed[open]")) e.preventDefault();
  });
  document.body.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 304) e.detail.shouldSwap = false;
  });
})();
