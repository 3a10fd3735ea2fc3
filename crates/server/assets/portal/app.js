// Switchboard portal behaviour that htmx does not cover: modals, toasts with Undo,
// the "session ended" dialog, the contacts dock, live updates, copy buttons and import uploads.
// No inline script anywhere: the Content-Security-Policy forbids it.
"use strict";

(function () {
  const body = document.body;

  // --- Modals: a fragment holding a <dialog> is swapped into #modal-root and opened.
  function openDialogs(root) {
    root.querySelectorAll("dialog.modal").forEach((dialog) => {
      if (dialog.open) return;
      dialog.addEventListener("close", () => {
        if (dialog.parentElement && dialog.parentElement.id === "modal-root") dialog.remove();
      });
      dialog.showModal();
      const first = dialog.querySelector("[autofocus]") || dialog.querySelector("input, select, textarea, button");
      if (first) first.focus();
    });
  }

  document.addEventListener("click", (event) => {
    const closer = event.target.closest("[data-close]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // --- Toasts: a server answer may carry `HX-Trigger: {"toast": {...}}`.
  function toast(message, options) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("div");
    item.className = "toast" + (options && options.error ? " toast-error" : "");
    item.setAttribute("role", options && options.error ? "alert" : "status");
    const text = document.createElement("span");
    text.textContent = message;
    item.appendChild(text);
    if (options && options.undo) {
      const undo = document.createElement("button");
      undo.type = "button";
      undo.className = "link";
      undo.textContent = "Undo";
      undo.addEventListener("click", () => {
        htmx.ajax("POST", options.undo, { swap: "none", source: body });
        item.remove();
      });
      item.appendChild(undo);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "icon-button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.appendChild(close);
    box.appendChild(item);
    setTimeout(() => item.remove(), options && options.undo ? 10000 : 5000);
  }
  window.switchboardToast = toast;

  body.addEventListener("toast", (event) => toast(event.detail.message, event.detail));
  body.addEventListener("close-modal", () => {
    document.querySelectorAll("#modal-root dialog[open]").forEach((dialog) => dialog.close());
  });

  // --- Errors: 401 asks for the password again; others show their message.
  body.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    if (xhr.status === 401) {
      askLogin();
      return;
    }
    toast(errorText(xhr.responseText) || "Something went wrong (" + xhr.status + ").", { error: true });
  });
  body.addEventListener("htmx:sendError", () => toast("The server cannot be reached. Check your connection.", { error: true }));

  function errorText(html) {
    const doc = new DOMParser().parseFromString(html || "", "text/html");
    const node = doc.querySelector(".error-message");
    return (node ? node.textContent : doc.body.textContent || "").trim();
  }

  function askLogin() {
    const dialog = document.getElementById("relogin");
    if (!dialog || dialog.open) return;
    dialog.showModal();
    document.getElementById("relogin-password").focus();
  }

  const relogin = document.getElementById("relogin-form");
  if (relogin) {
    relogin.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("relogin-error");
      const response = await fetch("/login", {
        method: "POST",
        headers: { "X-Relogin": "1", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(relogin)),
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        error.textContent = answer.error || "Logging in failed.";
        error.hidden = false;
        return;
      }
      body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": answer.csrf }));
      error.hidden = true;
      relogin.reset();
      document.getElementById("relogin").close();
      toast("You are logged in again. Send your change once more.");
    });
  }

  // --- htmx hooks.
  // Only fragments swapped into #modal-root are modals to open (not, say, the re-login dialog).
  body.addEventListener("htmx:afterSwap", (event) => {
    const root = document.getElementById("modal-root");
    if (root && root.contains(event.detail.target)) openDialogs(root);
  });
  body.addEventListener("htmx:afterSettle", (event) => {
    // A re-rendered form: focus the first invalid field, else its first field ("add another").
    const target = event.detail.target;
    const focus = target.querySelector("[aria-invalid=true]") || target.querySelector("[data-focus]");
    if (focus && target.closest("dialog")) focus.focus();
  });

  // --- Contacts dock: a side panel on every page, remembered across pages.
  const dock = document.getElementById("dock");
  const dockToggle = document.getElementById("dock-toggle");
  function setDock(open) {
    if (!dock || !dockToggle) return;
    dock.hidden = !open;
    dockToggle.setAttribute("aria-expanded", String(open));
    body.classList.toggle("dock-open", open);
    localStorage.setItem("switchboard.dock", open ? "open" : "closed");
    if (open) htmx.trigger(body, "dock-open");
  }
  if (dockToggle) {
    dockToggle.addEventListener("click", () => setDock(dock.hidden));
    if (localStorage.getItem("switchboard.dock") === "open") {
      document.addEventListener("htmx:load", () => setDock(true), { once: true });
    }
  }

  // --- Phone-sized screens: the menu button opens the navigation below the bar.
  const topbar = document.getElementById("topbar");
  const menuToggle = document.getElementById("menu-toggle");
  if (topbar && menuToggle) {
    menuToggle.addEventListener("click", () => {
      const open = !topbar.classList.contains("menu-open");
      topbar.classList.toggle("menu-open", open);
      menuToggle.setAttribute("aria-expanded", String(open));
    });
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !topbar.classList.contains("menu-open")) return;
      topbar.classList.remove("menu-open");
      menuToggle.setAttribute("aria-expanded", "false");
      menuToggle.focus();
    });
  }

  // --- Stars. Sent by this script rather than swapped by htmx: a list that a live
  // update renders again while the request runs would leave htmx swapping a button no
  // longer on the page. Every star of the entry (page and dock) changes in place, so
  // the focus stays where it is; then the lists read again.
  function setStars(id, on) {
    document.querySelectorAll("tr[data-entry='" + CSS.escape(id) + "'] button.star").forEach((star) => {
      star.setAttribute("aria-pressed", String(on));
      star.title = on ? "Favorite: press to remove" : "Add to favorites";
      const use = star.querySelector("use");
      if (use) use.setAttribute("href", "/assets/icons.svg#" + (on ? "star-filled" : "star"));
    });
  }

  const starring = new Set();
  document.addEventListener("click", async (event) => {
    const star = event.target.closest("button.star[data-favorite]");
    const row = star && star.closest("tr[data-entry]");
    // One request per entry at a time (disabling the button would take its focus).
    if (!row || starring.has(row.dataset.entry)) return;
    const id = row.dataset.entry;
    const on = star.getAttribute("aria-pressed") !== "true";
    let headers = {};
    try { headers = JSON.parse(body.getAttribute("hx-headers") || "{}"); } catch (_) { /* none */ }
    starring.add(id);
    try {
      const response = await fetch(star.dataset.favorite, {
        method: "POST",
        headers: Object.assign({ "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" }, headers),
        body: "on=" + on,
        credentials: "same-origin",
      });
      if (response.status === 401) {
        askLogin();
      } else if (!response.ok) {
        toast(errorText(await response.text()) || "Something went wrong (" + response.status + ").", { error: true });
      } else {
        setStars(id, on);
        htmx.trigger(body, "contacts-changed");
      }
    } catch (_) {
      toast("The server cannot be reached. Check your connection.", { error: true });
    } finally {
      starring.delete(id);
    }
  });

  // --- A list's count: its first page's answer carries `HX-Trigger: {"list-count": …}`.
  body.addEventListener("list-count", (event) => {
    const place = document.getElementById(event.detail.id);
    if (place) place.textContent = event.detail.text;
  });

  // --- Focus survives re-rendering: deleting removes its row, and live updates (and
  // starring) render whole lists again. Before such a swap the focused control
  // is remembered by its row's id; after it, the same control of that row (or of the
  // next or previous row, or the list's search box) gets the focus back.
  const ROW_IDS = ["entry", "contact", "user", "phone", "extension", "number", "pattern"];
  let kept = null;

  function rowId(row) {
    const key = ROW_IDS.find((name) => row.dataset[name]);
    return key ? key + ":" + row.dataset[key] : null;
  }

  function keyedRows(list) {
    return Array.from(list.children).filter((row) => row.tagName === "TR" && rowId(row));
  }

  function controlSelector(control) {
    // htmx's own classes (htmx-request…) come and go with the request.
    const classes = Array.from(control.classList)
      .filter((name) => !name.startsWith("htmx-"))
      .map((name) => "." + CSS.escape(name))
      .join("");
    return control.tagName.toLowerCase() + classes;
  }

  body.addEventListener("htmx:beforeSwap", (event) => {
    const active = document.activeElement;
    const target = event.detail.target;
    if (!active || active === body || !target || !target.contains(active)) return;
    const row = active.closest("tr");
    const list = row && row.parentElement;
    if (!list || !list.id || !rowId(row)) return;
    const rows = keyedRows(list);
    const at = rows.indexOf(row);
    const selector = controlSelector(active);
    const index = Array.from(row.querySelectorAll(selector)).indexOf(active);
    const candidates = [rows[at], rows[at + 1], rows[at - 1]].filter(Boolean).map(rowId);
    kept = { list: list.id, rows: candidates, selector: selector, index: Math.max(index, 0) };
    // A removed target hears no later event of its own swap.
    setTimeout(restoreFocus, 0);
  });

  function restoreFocus() {
    if (!kept) return;
    const active = document.activeElement;
    if (active && active !== body && active.isConnected) {
      kept = null;
      return;
    }
    const list = document.getElementById(kept.list);
    if (!list) return;
    const rows = keyedRows(list);
    for (const id of kept.rows) {
      const row = rows.find((candidate) => rowId(candidate) === id);
      if (!row) continue;
      const same = row.querySelectorAll(kept.selector);
      const control = same[Math.min(kept.index, same.length - 1)] || row.querySelector("button, a[href]");
      if (control) {
        control.focus();
        kept = null;
        return;
      }
    }
    const area = list.closest("main, aside");
    const search = area && area.querySelector("input[type=search]");
    if (search) search.focus();
    kept = null;
  }
  body.addEventListener("htmx:afterSwap", restoreFocus);
  body.addEventListener("htmx:afterSettle", restoreFocus);

  // --- Live updates: server-sent events re-trigger as `sb:<kind>` on <body>;
  // lists listen with `hx-trigger="sb:contact from:body"`.
  const live = body.dataset.live;
  if (live && window.EventSource) {
    const source = new EventSource(live);
    ["contact", "presence", "user", "settings", "chat", "resync"].forEach((kind) => {
      source.addEventListener(kind, (event) => {
        let detail = {};
        try { detail = JSON.parse(event.data); } catch (_) { /* keep-alive or empty */ }
        htmx.trigger(body, "sb:" + kind, detail);
        if (kind === "resync") htmx.trigger(body, "sb:contact", detail);
      });
    });
  }

  // --- Copy buttons: `data-copy` names the input whose value goes to the clipboard
  // (a secret shown once). The input is selected too, for browsers without the
  // clipboard API (plain HTTP), where the person copies it themself.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    input.focus();
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        () => toast("Copied"),
        () => toast("Select the text and copy it", { error: true }),
      );
    }
  });

  // --- Keyboard: "/" focuses the page's search box.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.target.closest("input, textarea, select, [contenteditable]")) return;
    const search = document.querySelector("main input[type=search]");
    if (search) {
      event.preventDefault();
      search.focus();
    }
  });
})();

// ===========================================================================
// Import and export modals (portal/transfer.rs).
// The file goes up with XMLHttpRequest, whose upload progress moves the bar. The
// server then streams "progress <bytes read> <file size>" lines while it imports,
// a "report" line, and the report's HTML, which replaces #import-result. The chosen
// file stays in its input, so Import sends the same file the preview checked.
(function () {
  const body = document.body;
  const REPORT_MARKER = "\nreport\n";
  let running = null;

  function csrfHeaders() {
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}");
    } catch (_) {
      return {};
    }
  }

  // The page's "session ended" dialog, as its own 401 handling opens it.
  function askLogin() {
    const dialog = document.getElementById("relogin");
    if (!dialog || dialog.open) return;
    dialog.showModal();
    const password = document.getElementById("relogin-password");
    if (password) password.focus();
  }

  function messageOf(html) {
    const doc = new DOMParser().parseFromString(html || "", "text/html");
    const node = doc.querySelector(".error-message");
    return (node ? node.textContent : doc.body.textContent || "").trim();
  }

  function chosenFile(form) {
    const input = form.querySelector("#import-file");
    return input.files && input.files.length ? input.files[0] : null;
  }

  function tooLarge(form) {
    return "This file is too large: an import may be at most " + form.dataset.maxSize + ". Split it into smaller files.";
  }

  function showError(form, message) {
    const box = form.querySelector("#import-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function showProgress(form, fraction, label) {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    form.querySelector("#import-progress").hidden = false;
    form.querySelector("#import-progress-bar").value = percent;
    form.querySelector("#import-progress-text").textContent = label + " " + percent + "%";
  }

  function setBusy(form, busy) {
    form.classList.toggle("busy", busy);
    form.querySelectorAll("#import-preview, #import-format, #import-mode, #import-strict, #import-file")
      .forEach((control) => { control.disabled = busy; });
    // Import is for a file whose preview has just been shown, and nothing else.
    form.querySelector("#import-commit").disabled = busy || !form.querySelector("#import-report[data-ready]");
    if (!busy) form.querySelector("#import-progress").hidden = true;
  }

  // New file or new choices: the preview no longer describes what Import would do.
  function forgetPreview(form) {
    form.querySelector("#import-result").replaceChildren();
    form.querySelector("#import-commit").disabled = true;
    form.querySelector("#import-replace-warning").hidden = form.querySelector("#import-mode").value !== "replace";
    showError(form, "");
  }

  // The last complete "progress <read> <size>" line of the answer so far.
  function lastProgress(text) {
    const end = text.indexOf(REPORT_MARKER);
    const lines = (end < 0 ? text : text.slice(0, end)).split("\n");
    for (let i = lines.length - 2; i >= 0; i--) {
      const match = /^progress (\d+) (\d+)$/.exec(lines[i]);
      if (match) return Number(match[2]) > 0 ? Number(match[1]) / Number(match[2]) : 1;
    }
    return null;
  }

  function send(form, dryRun) {
    if (running) return;
    const file = chosenFile(form);
    if (!file) {
      showError(form, "Choose a file first, or drop one on the box above.");
      return;
    }
    if (Number(form.dataset.maxBytes) && file.size > Number(form.dataset.maxBytes)) {
      showError(form, tooLarge(form));
      return;
    }
    const query = new URLSearchParams({
      dry_run: String(dryRun),
      format: form.querySelector("#import-format").value,
      mode: form.querySelector("#import-mode").value,
      strict: String(form.querySelector("#import-strict").checked),
    });
    const xhr = new XMLHttpRequest();
    running = xhr;
    xhr.open("POST", form.getAttribute("action") + "?" + query.toString());
    const headers = csrfHeaders();
    Object.keys(headers).forEach((name) => xhr.setRequestHeader(name, headers[name]));
    // Marks a page-script request: an ended session answers 401, not the login page.
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    const reading = dryRun ? "Checking the contacts…" : "Importing the contacts…";
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) showProgress(form, event.loaded / event.total, "Uploading…");
    };
    xhr.upload.onload = () => showProgress(form, 0, reading);
    xhr.onprogress = () => {
      const fraction = xhr.status === 200 ? lastProgress(xhr.responseText) : null;
      if (fraction !== null) showProgress(form, fraction, fraction >= 1 ? "Finishing…" : reading);
    };
    xhr.onload = () => finish(form, xhr, dryRun);
    xhr.onerror = () => {
      running = null;
      setBusy(form, false);
      showError(form, "The file could not be sent: the connection was lost, or the server refused it (an import may be at most " +
        form.dataset.maxSize + "). Try again.");
    };
    showError(form, "");
    setBusy(form, true);
    showProgress(form, 0, "Uploading…");
    xhr.send(file);
  }

  function finish(form, xhr, dryRun) {
    running = null;
    setBusy(form, false);
    if (xhr.status === 401) {
      askLogin();
      showError(form, "Your session had ended. Once you are logged in again, press " + (dryRun ? "Preview" : "Import") +
        " once more: your file is still chosen.");
      return;
    }
    if (xhr.status === 413) {
      showError(form, tooLarge(form));
      return;
    }
    if (xhr.status !== 200) {
      showError(form, messageOf(xhr.responseText) || "Something went wrong (" + xhr.status + ").");
      return;
    }
    const text = xhr.responseText;
    const at = text.indexOf(REPORT_MARKER);
    if (at < 0) {
      showError(form, "The server stopped before it finished. Try again.");
      return;
    }
    const result = form.querySelector("#import-result");
    result.innerHTML = text.slice(at + REPORT_MARKER.length);
    htmx.process(result);
    setBusy(form, false);
    const report = result.querySelector("#import-report");
    if (report && report.dataset.committed) {
      htmx.trigger(body, "contacts-changed");
      if (window.switchboardToast) window.switchboardToast(report.dataset.toast);
    }
    const heading = result.querySelector("h3, .alert");
    if (heading) heading.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id === "import-form") {
      event.preventDefault();
      send(form, true);
    } else if (form.id === "export-form") {
      // The download goes on without the page; the modal has done its job.
      const dialog = form.closest("dialog");
      setTimeout(() => { if (dialog) dialog.close(); }, 0);
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("#import-commit");
    if (button && !button.disabled) send(button.form, false);
  });

  document.addEventListener("change", (event) => {
    const form = event.target.closest("#import-form");
    if (form && !running) forgetPreview(form);
  });

  // Dropping a file anywhere on the import modal chooses it (and the browser does not open it).
  function dropZoneOf(event) {
    const dialog = event.target.closest && event.target.closest("#import-dialog");
    return dialog ? dialog.querySelector("#import-drop") : null;
  }
  ["dragenter", "dragover"].forEach((type) => document.addEventListener(type, (event) => {
    const zone = dropZoneOf(event);
    if (!zone) return;
    event.preventDefault();
    zone.classList.add("dragging");
  }));
  document.addEventListener("dragleave", (event) => {
    const zone = dropZoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    const zone = dropZoneOf(event);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    const files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length || running) return;
    const input = zone.querySelector("#import-file");
    input.files = files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();

// --- A contact's photo: the chosen image is sent as it is (the server reads its type
// from its bytes); the answer is the photo panel again, with the contact's new version
// for the form out of band.
(function () {
  const body = document.body;

  function csrfHeaders() {
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}");
    } catch (_) {
      return {};
    }
  }

  function problemText(html) {
    const box = document.createElement("div");
    box.innerHTML = html;
    return box.textContent.trim().replace(/\s+/g, " ");
  }

  document.addEventListener("change", (event) => {
    const input = event.target.closest("input[data-photo-upload]");
    if (!input || !input.files.length) return;
    const file = input.files[0];
    const panel = input.closest("#contact-photo");
    const headers = Object.assign({ "HX-Request": "true", "Content-Type": file.type || "application/octet-stream" }, csrfHeaders());
    fetch(input.dataset.photoUpload, { method: "POST", headers: headers, body: file, credentials: "same-origin" })
      .then((response) => response.text().then((text) => {
        input.value = "";
        if (!response.ok) {
          const message = response.status === 413 ? "This image is too large: a photo may be at most 256 KiB." : problemText(text);
          if (window.switchboardToast) window.switchboardToast(message || "The photo was not saved.", { error: true });
          return;
        }
        htmx.swap(panel, text, { swapStyle: "outerHTML" });
        if (window.switchboardToast) window.switchboardToast("Photo saved.");
        body.dispatchEvent(new CustomEvent("contacts-changed"));
      }))
      .catch(() => {
        if (window.switchboardToast) window.switchboardToast("The server cannot be reached. Check your connection.", { error: true });
      });
  });
})();

// --- Chat availability: a page with live updates open keeps its person connected;
// a key press, click or touch tells the server they are there (at most once a minute),
// so they are not shown away while they use the portal.
(function () {
  const body = document.body;
  if (!body.dataset.live) return;
  const EVERY = 60 * 1000;
  let last = Date.now(); // opening the page counted already

  function csrfHeaders() {
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}");
    } catch (_) {
      return {};
    }
  }

  function active() {
    if (Date.now() - last < EVERY) return;
    last = Date.now();
    fetch("/presence/activity", { method: "POST", headers: csrfHeaders(), credentials: "same-origin" }).catch(() => {});
  }
  ["keydown", "pointerdown"].forEach((kind) => document.addEventListener(kind, active, { passive: true }));
})();
