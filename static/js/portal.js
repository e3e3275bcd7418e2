/* The portal's small client: htmx conventions, toasts, failure messages, drafts.
   Nothing here is needed for a form to work; it keeps what people type safe. */
(function () {
  "use strict";
  const body = document.body;
  const msg = (name) => body.dataset["msg" + name];

  /* Our convention: 422 is an invalid form, swapped in place with its errors.
     Other 4xx/5xx are not swapped: the form keeps what was typed and a toast explains. */
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true },
    { code: "[45]..", swap: false, error: true },
    { code: "...", swap: false },
  ];
  htmx.config.timeout = 20000;
  htmx.config.historyCacheSize = 0; /* pages hold personal data: no copies in localStorage */
  htmx.config.defaultFocusScroll = true;

  /* Toasts */
  function toast(message, level) {
    const box = document.getElementById("toasts");
    const item = document.createElement("div");
    item.className = "toast toast-" + (level || "info");
    item.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", msg("Close"));
    close.textContent = "×";
    item.appendChild(close);
    box.appendChild(item);
    if (level !== "error" && level !== "info") setTimeout(() => item.remove(), 6000);
  }
  window.portalToast = toast;
  document.addEventListener("click", (e) => {
    if (e.target.classList.contains("toast-close")) e.target.parentElement.remove();
  });
  document.querySelectorAll("#toasts .toast-success").forEach((t) => setTimeout(() => t.remove(), 6000));
  body.addEventListener("toast", (e) => {
    const list = Array.isArray(e.detail.value) ? e.detail.value : [e.detail.value || e.detail];
    list.forEach((t) => toast(t.message, t.level));
  });

  /* Failures: say clearly that nothing was saved; the form stays as typed. */
  /* Polling (elements marked data-quiet) saves nothing: it shows no busy bar and no
     toast; a failed poll marks the page offline until one succeeds again. */
  const quiet = (e) => e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("[data-quiet]");
  body.addEventListener("htmx:afterRequest", (e) => {
    if (quiet(e)) body.classList.toggle("offline", !e.detail.successful);
  });
  body.addEventListener("htmx:configRequest", (e) => {
    if (quiet(e)) e.detail.headers["X-Poll"] = "1";  // not activity: the idle timeout still runs
  });

  /* A form's failure is said inside the form, just above the button that was pressed: a
     floating message over the bottom of the screen would cover the very button needed to
     try again. It goes when the form is sent again. */
  function failed(e, message) {
    const form = e.detail.elt;
    if (!form || form.tagName !== "FORM") { toast(message, "error"); return; }
    form.querySelectorAll(".form-failure").forEach((n) => n.remove());
    const note = document.createElement("p");
    note.className = "notice danger-notice form-failure";
    note.setAttribute("role", "alert");
    note.textContent = message;
    const pressed = e.detail.requestConfig && e.detail.requestConfig.triggeringEvent &&
      e.detail.requestConfig.triggeringEvent.submitter;
    const button = pressed || form.querySelector("[type=submit]");
    const anchor = button && (button.closest(".form-actions") || button);
    if (anchor && form.contains(anchor)) anchor.before(note); else form.append(note);
    if (button) button.scrollIntoView({ block: "nearest" });  // the note pushed it down, maybe off screen
  }
  body.addEventListener("htmx:beforeRequest", (e) => {
    if (e.detail.elt.tagName === "FORM") e.detail.elt.querySelectorAll(".form-failure").forEach((n) => n.remove());
  });
  body.addEventListener("htmx:responseError", (e) => {
    if (quiet(e)) return;
    const xhr = e.detail.xhr;
    if (xhr.status === 401 && xhr.getResponseHeader("HX-Redirect")) return;
    const header = xhr.getResponseHeader("X-Error-Message");
    failed(e, header ? decodeURIComponent(header) : msg("NotSaved"));
  });
  const offline = (e) => { if (!quiet(e)) failed(e, msg("Offline")); };
  body.addEventListener("htmx:sendError", offline);
  body.addEventListener("htmx:timeout", offline);

  /* The busy bar while any request is under way. */
  let inflight = 0;
  const busy = document.getElementById("busy");
  body.addEventListener("htmx:beforeRequest", (e) => {
    if (quiet(e)) return;
    inflight++;
    busy.classList.add("on");
  });
  body.addEventListener("htmx:afterRequest", (e) => {
    if (quiet(e)) return;
    inflight = Math.max(0, inflight - 1);
    if (!inflight) busy.classList.remove("on");
  });

  /* Drafts: every form with data-draft keeps its fields in localStorage while it is
     typed, so a dropped network, a reload or a session that ended over lunch loses
     nothing. The submission key is kept too: a retry is recognised as the same form. */
  const user = body.dataset.user || "anon";
  const DRAFT_LIFETIME_MS = 12 * 3600 * 1000;
  const draftKey = (form) => "draft:" + user + ":" + location.pathname + location.search + ":" + form.dataset.draft;
  /* A button's value is the action it performs, never something typed: a restored draft
     must not turn "Submit for approval" into "Save as draft". */
  const skip = (el) => !el.name || el.name === "csrf_token" || el.tagName === "BUTTON" ||
    ["password", "file", "submit", "button", "reset", "image"].includes(el.type);

  function saveDraft(form) {
    const data = {};
    for (const el of form.elements) {
      if (skip(el)) continue;
      if (el.type === "checkbox" || el.type === "radio") {
        data[el.name + "=" + el.value] = el.checked;
      } else {
        data[el.name] = el.value;
      }
    }
    try { localStorage.setItem(draftKey(form), JSON.stringify({ at: Date.now(), data })); } catch (err) { /* full */ }
  }

  function restoreDraft(form) {
    let saved;
    try { saved = JSON.parse(localStorage.getItem(draftKey(form)) || "null"); } catch (err) { saved = null; }
    if (!saved) return;
    if (Date.now() - saved.at > DRAFT_LIFETIME_MS) {  // a day-old draft is not what anyone is typing
      localStorage.removeItem(draftKey(form));
      return;
    }
    let changed = false;
    for (const el of form.elements) {
      if (skip(el)) continue;
      if (el.type === "checkbox" || el.type === "radio") {
        const key = el.name + "=" + el.value;
        if (key in saved.data && el.checked !== saved.data[key]) { el.checked = saved.data[key]; changed = true; }
      } else if (el.name in saved.data && el.value !== saved.data[el.name]) {
        el.value = saved.data[el.name];
        changed = true;
      }
    }
    if (changed) {
      const note = document.createElement("p");
      note.className = "notice draft-note";
      note.textContent = msg("DraftRestored") + " ";
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "link-button";
      discard.textContent = msg("Discard");
      discard.addEventListener("click", () => {
        localStorage.removeItem(draftKey(form));
        location.reload();
      });
      note.appendChild(discard);
      form.prepend(note);
    }
  }

  function watch(root) {
    root.querySelectorAll("form[data-draft]").forEach((form) => {
      if (form.dataset.draftWatched) return;
      form.dataset.draftWatched = "1";
      if (!form.querySelector(".has-error")) restoreDraft(form);
      form.addEventListener("input", () => saveDraft(form));
      form.addEventListener("change", () => saveDraft(form));
    });
  }
  watch(document);
  body.addEventListener("htmx:load", (e) => watch(e.detail.elt.parentElement || document));

  /* A form is saved once the server accepted it (any 2xx; 422 is an invalid form).
     Checked before htmx handles the answer: an HX-Redirect leaves the page at once. */
  body.addEventListener("htmx:beforeOnLoad", (e) => {
    const form = e.detail.elt;
    const status = e.detail.xhr.status;
    if (form.tagName === "FORM" && form.dataset.draft && status >= 200 && status < 300) {
      localStorage.removeItem(draftKey(form));
    }
  });

  /* Logging out on purpose discards this user's drafts. */
  document.addEventListener("click", (e) => {
    if (!e.target.matches("[data-clear-drafts]")) return;
    Object.keys(localStorage).filter((k) => k.startsWith("draft:" + user + ":")).forEach((k) => localStorage.removeItem(k));
  });

  /* Parts of a form that apply to one choice (data-show-when="field:value") are shown
     only for it; without JavaScript everything stays visible and the server decides. */
  function toggleDependents(root) {
    root.querySelectorAll("[data-show-when]").forEach((part) => {
      const [name, value] = part.dataset.showWhen.split(":");
      const form = part.closest("form");
      const control = form && form.elements[name];
      if (control) part.hidden = control.value !== value;
    });
  }
  toggleDependents(document);
  document.addEventListener("change", (e) => { if (e.target.form) toggleDependents(e.target.form); });
  body.addEventListener("htmx:load", (e) => toggleDependents(e.detail.elt.parentElement || document));
  /* A rejected form on a long page: the first error may be above the fold (the
     submit button is at the bottom), so go to it rather than leave it unseen. */
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.xhr && e.detail.xhr.status === 422) {
      const first = e.detail.target.querySelector("[aria-invalid=true]") ||
        document.querySelector("form [aria-invalid=true]");
      if (first) {
        first.focus({ preventScroll: true });
        first.closest(".field").scrollIntoView({ block: "center" });
      }
    }
  });

  /* Keep the field being typed above the on-screen keyboard. */
  if (window.matchMedia("(pointer: coarse)").matches) {
    document.addEventListener("focusin", (e) => {
      if (e.target.matches("input, textarea, select")) {
        setTimeout(() => e.target.scrollIntoView({ block: "center", behavior: "smooth" }), 300);
      }
    });
  }
})();
