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

  /* Limits: a browser's maxlength cuts a paste short without a word, so the limit is kept
     as data-maxlength and the field says beside itself how much is too much, before anything
     is lost. The server refuses what is still too long, beside the field, and keeps it. */
  function checkLength(el) {
    const max = Number(el.dataset.maxlength);
    const count = [...el.value].length;  // characters as the server counts them, not UTF-16 units
    const id = (el.id || el.name) + "-length";
    let note = document.getElementById(id);
    const described = (el.getAttribute("aria-describedby") || "").split(" ").filter((t) => t && t !== id);
    if (count <= max) {
      if (note) note.remove();
      if (el.dataset.tooLong) { el.removeAttribute("aria-invalid"); delete el.dataset.tooLong; }
      el.setAttribute("aria-describedby", described.join(" "));
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.className = "error length-error";
      note.id = id;
      note.setAttribute("aria-live", "polite");
      el.after(note);
    }
    note.textContent = msg("TooLong").replace("{count}", count).replace("{max}", max);
    if (!el.hasAttribute("aria-invalid")) { el.setAttribute("aria-invalid", "true"); el.dataset.tooLong = "1"; }
    el.setAttribute("aria-describedby", described.concat(id).join(" "));
  }
  function watchLimits(root) {
    root.querySelectorAll("input[maxlength], textarea[maxlength]").forEach((el) => {
      el.dataset.maxlength = el.getAttribute("maxlength");
      el.removeAttribute("maxlength");
    });
    root.querySelectorAll("[data-maxlength]").forEach(checkLength);
  }
  watchLimits(document);
  body.addEventListener("htmx:load", (e) => watchLimits(e.detail.elt.parentElement || document));
  document.addEventListener("input", (e) => { if (e.target.dataset && e.target.dataset.maxlength) checkLength(e.target); });

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
  const isChoice = (el) => el.type === "checkbox" || el.type === "radio";
  const keyOf = (el) => (isChoice(el) ? el.name + "=" + el.value : el.name);

  function labelOf(el) {
    const own = (el.labels && el.labels[0] && el.labels[0].textContent) || el.getAttribute("aria-label") || el.name;
    const group = isChoice(el) && el.closest("fieldset");
    const legend = group && group.querySelector("legend");
    return ((legend ? legend.textContent + ": " : "") + own).replace(/\s+/g, " ").trim();
  }

  function saveDraft(form) {
    if (form.dataset.draftRestoring) return;  // half restored: the stored draft is still the whole one
    const data = {};
    const labels = {};
    for (const el of form.elements) {
      if (skip(el)) continue;
      const key = keyOf(el);
      data[key] = isChoice(el) ? el.checked : el.value;
      labels[key] = labelOf(el);
    }
    try { localStorage.setItem(draftKey(form), JSON.stringify({ at: Date.now(), data, labels })); } catch (err) { /* full */ }
  }

  /* Repeated rows (each marked data-repeat="lines", its fields named lines-0-…): a draft
     with more rows than the page gets copies of the last row, renumbered and emptied. */
  function growRows(form, data) {
    const prefixes = new Set([...form.querySelectorAll("[data-repeat]")].map((row) => row.dataset.repeat));
    prefixes.forEach((prefix) => {
      const index = new RegExp("^" + prefix + "-(\\d+)-");
      const wanted = Math.max(-1, ...Object.keys(data).map((k) => (index.exec(k) || [0, -1])[1] * 1)) + 1;
      const rows = () => form.querySelectorAll('[data-repeat="' + prefix + '"]');
      while (rows().length < wanted) {
        const last = rows()[rows().length - 1];
        const row = last.cloneNode(true);
        const n = rows().length;
        const renumber = new RegExp("(^|\\s)" + prefix + "-\\d+-", "g");
        [row, ...row.querySelectorAll("*")].forEach((el) => {
          ["id", "name", "for", "aria-describedby"].forEach((attr) => {
            const value = el.getAttribute(attr);
            if (value) el.setAttribute(attr, value.replace(renumber, "$1" + prefix + "-" + n + "-"));
          });
          if (el.dataset.repeatLabel) el.textContent = el.dataset.repeatLabel.replace("{n}", n + 1);
        });
        row.querySelectorAll(".error, .length-error").forEach((p) => p.remove());
        row.querySelectorAll(".has-error").forEach((f) => f.classList.remove("has-error"));
        row.querySelectorAll("input, select, textarea").forEach((el) => {
          el.removeAttribute("aria-invalid");
          el.removeAttribute("aria-describedby");
          if (isChoice(el)) el.checked = false;
          else if (el.tagName === "SELECT") el.selectedIndex = 0;
          else el.value = "";
        });
        last.after(row);
        htmx.process(row);
      }
    });
  }

  function applyDraft(form, data, only) {
    let changed = false;
    for (const el of form.elements) {
      if (skip(el)) continue;
      const key = keyOf(el);
      if (!(key in data) || (only && !only.has(key))) continue;
      if (isChoice(el)) {
        if (el.checked !== data[key]) { el.checked = data[key]; changed = true; }
      } else if (el.value !== data[key]) {
        el.value = data[key];
        if (el.dataset.maxlength) checkLength(el);
        changed = true;
      }
    }
    return changed;
  }

  /* A choice the page does not list (a picker shows the first few names) is asked for from
     the control that loads the choices (data-draft-choices="host" on the picker's search). */
  async function fetchChoices(form, missing) {
    for (const [name, values] of Object.entries(missing)) {
      const loader = form.querySelector('[data-draft-choices="' + name + '"]');
      if (!loader) continue;
      try {
        await htmx.ajax("GET", loader.getAttribute("hx-get"), { source: loader, values: { [name]: values } });
      } catch (err) { /* offline: listed below as not restored */ }
    }
  }

  async function restoreDraft(form) {
    let saved;
    try { saved = JSON.parse(localStorage.getItem(draftKey(form)) || "null"); } catch (err) { saved = null; }
    if (!saved) return;
    if (Date.now() - saved.at > DRAFT_LIFETIME_MS) {  // a day-old draft is not what anyone is typing
      localStorage.removeItem(draftKey(form));
      return;
    }
    const data = saved.data;
    form.dataset.draftRestoring = "1";
    growRows(form, data);
    let changed = applyDraft(form, data);
    const present = () => new Set([...form.elements].filter((el) => el.name).flatMap((el) => [el.name, keyOf(el)]));
    const listed = present();
    const missing = {};
    Object.keys(data).forEach((key) => {
      if (data[key] !== true || listed.has(key)) return;
      const name = key.slice(0, key.indexOf("="));
      (missing[name] = missing[name] || []).push(key.slice(name.length + 1));
    });
    if (Object.keys(missing).length) {
      await fetchChoices(form, missing);
      changed = applyDraft(form, data, new Set(Object.keys(data).filter((k) => data[k] === true))) || changed;
    }
    delete form.dataset.draftRestoring;
    /* What has no place on the page any more is said, with what was typed, not dropped. */
    const here = present();
    const lost = Object.keys(data).filter((key) => !here.has(key) && (data[key] === true || (typeof data[key] === "string" && data[key].trim())));
    if (!changed && !lost.length) return;
    const note = document.createElement("div");
    note.className = "notice draft-note";
    note.setAttribute("role", "status");
    const line = document.createElement("p");
    line.textContent = msg("DraftRestored") + " ";
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "link-button";
    discard.textContent = msg("Discard");
    discard.addEventListener("click", () => {
      localStorage.removeItem(draftKey(form));
      location.reload();
    });
    line.appendChild(discard);
    note.appendChild(line);
    if (lost.length) {
      const intro = document.createElement("p");
      intro.className = "draft-lost";
      intro.textContent = msg("DraftLost");
      const list = document.createElement("ul");
      lost.forEach((key) => {
        const item = document.createElement("li");
        const label = (saved.labels && saved.labels[key]) || key.split("=")[0];
        item.textContent = data[key] === true ? label : label + ": " + data[key];
        list.appendChild(item);
      });
      note.append(intro, list);
    }
    form.prepend(note);
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
  /* A choice that takes effect at once (data-submit-on-change) sends its form when it changes;
     without JavaScript the form has its own button. */
  document.addEventListener("change", (e) => {
    if (e.target.matches("[data-submit-on-change]")) e.target.form.requestSubmit();
  });
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
