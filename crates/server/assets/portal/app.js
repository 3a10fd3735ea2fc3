// Switchboard portal behaviour that htmx does not cover: modals, toasts with Undo,
// the "session ended" dialog, the contacts dock, live updates and import uploads.
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
  body.addEventListener("htmx:afterSwap", (event) => openDialogs(event.detail.target));
  body.addEventListener("htmx:afterSettle", (event) => {
    // A form answered "saved, add another": focus its first field again.
    const focus = event.detail.target.querySelector("[data-focus]");
    if (focus) focus.focus();
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

  // --- Live updates: server-sent events re-trigger as `sb:<kind>` on <body>;
  // lists listen with `hx-trigger="sb:contact from:body"`.
  const live = body.dataset.live;
  if (live && window.EventSource) {
    const source = new EventSource(live);
    ["contact", "presence", "user", "settings", "resync"].forEach((kind) => {
      source.addEventListener(kind, (event) => {
        let detail = {};
        try { detail = JSON.parse(event.data); } catch (_) { /* keep-alive or empty */ }
        htmx.trigger(body, "sb:" + kind, detail);
        if (kind === "resync") htmx.trigger(body, "sb:contact", detail);
      });
    });
  }

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
