/* The wall board: polls every 5 s with the last ETag (the server answers 304 when
   nothing changed), keeps the last figures when the server is unreachable, and goes
   dark when its link is revoked. */
(function () {
  "use strict";
  htmx.config.responseHandling = [
    { code: "304", swap: false },
    { code: "403", swap: true },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: false, error: true },
    { code: "...", swap: false },
  ];
  htmx.config.historyCacheSize = 0;
  const board = document.getElementById("board");
  const offline = document.getElementById("offline");
  const updated = document.getElementById("updated");
  const clock = document.getElementById("clock");
  let etag = board ? board.dataset.etag : null;
  const two = (n) => String(n).padStart(2, "0");
  // The screen shows the portal's time zone (TIMEZONE), whatever the screen's own setting.
  const offset = Number(document.body.dataset.utcOffset || 0);
  const portalNow = () => {
    const shifted = new Date(Date.now() + offset * 60000);
    return { h: shifted.getUTCHours(), m: shifted.getUTCMinutes(), s: shifted.getUTCSeconds() };
  };

  // A revoked link asks no more: the screen says so until it is given a new link.
  let revoked = false;
  document.body.addEventListener("htmx:confirm", (e) => { if (revoked) e.preventDefault(); });
  document.body.addEventListener("htmx:configRequest", (e) => {
    if (etag) e.detail.headers["If-None-Match"] = etag;
  });
  document.body.addEventListener("htmx:afterRequest", (e) => {
    const xhr = e.detail.xhr;
    if (xhr.status === 403) {
      revoked = true;
      return;
    }
    const ok = xhr.status === 200 || xhr.status === 304;
    offline.hidden = ok;
    if (ok) {
      etag = xhr.getResponseHeader("ETag") || etag;
      const now = portalNow();
      updated.textContent = `${two(now.h)}:${two(now.m)}:${two(now.s)}`;
    }
  });
  document.body.addEventListener("htmx:sendError", () => { offline.hidden = false; });
  document.body.addEventListener("htmx:timeout", () => { offline.hidden = false; });
  htmx.config.timeout = 4000;

  setInterval(() => {
    const now = portalNow();
    clock.textContent = `${two(now.h)}:${two(now.m)}`;
  }, 1000);
})();
