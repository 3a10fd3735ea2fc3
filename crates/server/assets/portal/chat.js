// The chat panel (templates/chat_panel.html): one-to-one conversations with coworkers
// through the REST API (the session cookie with the page's CSRF token), and the unread
// badges in the menu, the dock and beside each coworker. The page's event stream (app.js)
// re-triggers `chat` events as `sb:chat` on <body>; each one makes this script read the
// conversations again, and the open conversation's newest messages.
//
// Read state is the server's: a conversation is marked read (PUT …/read) only while it
// is shown in a visible tab, and every tab learns of it from the event that follows.
// A message's text is only ever set as text; links are made as elements, never from HTML.
"use strict";

(function () {
  const panel = document.getElementById("chat-panel");
  if (!panel) return;
  const body = document.body;
  const MAX_CHARS = 4000;
  const DELETE_WINDOW_MS = 5 * 60 * 1000;
  const chatsUrl = panel.dataset.chats;
  const byId = (id) => document.getElementById(id);
  const ui = {
    title: byId("chat-title"),
    back: byId("chat-back"),
    close: byId("chat-close"),
    listView: byId("chat-list-view"),
    list: byId("chat-conversations"),
    none: byId("chat-none"),
    view: byId("chat-conversation-view"),
    scroll: byId("chat-scroll"),
    older: byId("chat-older"),
    log: byId("chat-log"),
    form: byId("chat-form"),
    input: byId("chat-input"),
    error: byId("chat-error"),
    counter: byId("chat-counter"),
    send: byId("chat-send"),
    toggle: byId("chat-toggle"),
  };
  const baseTitle = document.title;
  const numbers = new Intl.NumberFormat("en-US");

  // What the server said last.
  let unreadTotal = 0;
  let unreadByPeer = new Map();
  let conversations = [];
  // The conversation shown: { peer, name, messages: Map(id → message), nodes: Map(id → <li>),
  // nextBefore, readUpTo }; null while the list is shown or the panel is closed.
  let current = null;
  // Where focus returns when the panel closes: the button that opened it.
  let opener = null;
  const drafts = new Map();
  let sending = false;
  let deleteTimer = null;

  class ChatError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // --- The REST API.
  function csrfToken() {
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (_) {
      return "";
    }
  }

  // Messages a page asks for: 50, unless the panel says fewer (`data-page-size`, which the
  // browser tests set to page through a short conversation).
  function pageSize() {
    return Math.min(Number(panel.dataset.pageSize) || 50, 100);
  }

  function messagesUrl(peer) {
    return chatsUrl + "/" + encodeURIComponent(peer) + "/messages";
  }

  async function api(method, url, payload) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
    } catch (_) {
      throw new ChatError(0, "The server cannot be reached. Check your connection.");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (response.ok) return data;
    if (response.status === 401) askLogin();
    throw new ChatError(response.status, problemText(response, data));
  }

  // A refusal as a sentence for people: the problem document's own words where they fit.
  function problemText(response, problem) {
    switch (response.status) {
      case 401:
        return "Your session has ended. Log in again, then try once more.";
      case 404:
        return "Not found: this person or message may have been deleted.";
      case 429: {
        const wait = Number(response.headers.get("Retry-After"));
        return "You are sending messages too fast. " +
          (wait > 0 ? "Wait " + wait + " s, then send again." : "Wait a moment, then send again.");
      }
    }
    const fields = problem && Array.isArray(problem.errors) ? problem.errors.map((e) => e.message) : [];
    const detail = fields.length ? fields.join("; ") : problem && problem.detail;
    if (!detail) return "Something went wrong (" + response.status + ").";
    return sentence(String(detail).replace(/^your scope may not /, "you may not "));
  }

  function sentence(text) {
    const capital = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?]$/.test(capital) ? capital : capital + ".";
  }

  // The page's "session ended" dialog (app.js): what was typed stays in the panel.
  function askLogin() {
    const dialog = byId("relogin");
    if (!dialog || dialog.open) return;
    dialog.showModal();
    const password = byId("relogin-password");
    if (password) password.focus();
  }

  // --- Keeping up with the server: one reading at a time, and one more if asked meanwhile.
  let reading = null;
  let readAgain = false;
  function refresh() {
    if (reading) {
      readAgain = true;
      return reading;
    }
    reading = (async () => {
      do {
        readAgain = false;
        try {
          await Promise.all([loadConversations(), current ? loadNewest(current) : null]);
        } catch (error) {
          if (current) showError(error.message);
        }
      } while (readAgain);
      reading = null;
    })();
    return reading;
  }

  async function loadConversations() {
    const page = await api("GET", chatsUrl + "?limit=100");
    conversations = page.items;
    unreadTotal = page.unread_total;
    unreadByPeer = new Map(page.items.map((c) => [c.peer, c.unread]));
    paintBadges();
    if (!panel.hidden && !current) renderList();
  }

  // --- Unread badges: the menu's and the dock's (total), each coworker's, the page title.
  function setBadge(badge, count) {
    if (!badge) return;
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
  }

  function unreadLabel(name, count) {
    return count ? name + ", " + count + " unread" : name;
  }

  function paintBadges() {
    document.querySelectorAll("[data-chat-total]").forEach((badge) => {
      setBadge(badge, unreadTotal);
      const button = badge.closest("button");
      if (button) button.setAttribute("aria-label", unreadLabel("Chats", unreadTotal));
    });
    document.querySelectorAll("button[data-chat-peer]").forEach((button) => {
      const count = unreadByPeer.get(button.dataset.chatPeer) || 0;
      setBadge(button.querySelector(".unread-badge"), count);
      button.setAttribute("aria-label", unreadLabel("Chat with " + button.dataset.chatName, count));
    });
    document.title = (unreadTotal ? "(" + unreadTotal + ") " : "") + baseTitle;
  }

  // --- The panel: the list of conversations, or one conversation.
  function openPanel() {
    panel.hidden = false;
    if (ui.toggle) ui.toggle.setAttribute("aria-expanded", "true");
  }

  function closePanel() {
    leaveConversation();
    panel.hidden = true;
    if (ui.toggle) ui.toggle.setAttribute("aria-expanded", "false");
    returnFocus();
  }

  function rememberOpener(button) {
    const list = button.closest("#dock-rows, #directory-rows");
    opener = { element: button, peer: button.dataset.chatPeer || null, list: list ? "#" + list.id : null };
  }

  // A list row may have been rendered again meanwhile: then its new chat button.
  function returnFocus() {
    let target = opener && opener.element;
    if (target && !target.isConnected && opener.peer && opener.list) {
      target = document.querySelector(opener.list + " button[data-chat-peer=\"" + CSS.escape(opener.peer) + "\"]");
    }
    if (!target || !target.isConnected) target = ui.toggle;
    if (target) target.focus();
  }

  function showList() {
    leaveConversation();
    openPanel();
    ui.title.textContent = "Chats";
    ui.back.hidden = true;
    ui.view.hidden = true;
    ui.listView.hidden = false;
    renderList();
    const first = ui.list.querySelector("button");
    (first || ui.close).focus();
    refresh();
  }

  // Made again only when something in it changed, so focus and hover stay put.
  let listShown = "";
  function renderList() {
    const shown = JSON.stringify(conversations);
    if (shown === listShown && ui.list.childElementCount === conversations.length) return;
    listShown = shown;
    const focused = document.activeElement && document.activeElement.closest("#chat-conversations button");
    const focusedPeer = focused ? focused.dataset.peer : null;
    ui.list.replaceChildren(...conversations.map(conversationItem));
    ui.none.hidden = conversations.length > 0;
    if (focusedPeer) {
      const again = ui.list.querySelector("button[data-peer=\"" + CSS.escape(focusedPeer) + "\"]");
      if (again) again.focus();
    }
  }

  function conversationItem(conversation) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chat-conversation";
    button.dataset.peer = conversation.peer;
    button.dataset.name = conversation.peer_name || conversation.peer;
    const name = document.createElement("span");
    name.className = "chat-conversation-name";
    name.textContent = button.dataset.name;
    const last = conversation.last_message;
    const preview = document.createElement("span");
    preview.className = "chat-preview";
    const text = last.deleted ? "Message deleted" : last.text.split("\n")[0];
    preview.textContent = (last.from === conversation.peer ? "" : "You: ") + text;
    const time = timeElement(last.sent_at);
    button.append(name, time, preview);
    if (conversation.unread) {
      const badge = document.createElement("span");
      badge.className = "unread-badge";
      badge.textContent = conversation.unread > 99 ? "99+" : String(conversation.unread);
      const hint = document.createElement("span");
      hint.className = "sr-only";
      hint.textContent = " unread";
      badge.append(hint);
      button.append(badge);
    }
    item.append(button);
    return item;
  }

  function showConversation(peer, name) {
    if (current && current.peer === peer && !panel.hidden) return ui.input.focus();
    leaveConversation();
    openPanel();
    current = { peer, name: name || peer, messages: new Map(), nodes: new Map(), nextBefore: null, readUpTo: null };
    ui.title.textContent = "Chat with " + current.name;
    ui.back.hidden = false;
    ui.listView.hidden = true;
    ui.view.hidden = false;
    ui.log.replaceChildren();
    ui.older.hidden = true;
    ui.input.value = drafts.get(peer) || "";
    clearError();
    updateCounter();
    ui.input.focus();
    const talk = current;
    // Unread, as the list of conversations says: read at once, without waiting for the
    // messages (the other tabs' badges go sooner).
    const known = conversations.find((c) => c.peer === peer);
    if (known && known.unread) sendRead(talk, known.last_message.id);
    loadNewest(talk, true).then(() => scrollToEnd()).catch((error) => {
      if (talk === current) showError(error.message);
    });
  }

  // Keeps what was typed for when the conversation is opened again.
  function leaveConversation() {
    if (!current) return;
    if (ui.input.value) drafts.set(current.peer, ui.input.value);
    else drafts.delete(current.peer);
    current = null;
    clearTimeout(deleteTimer);
  }

  // --- Messages.
  async function loadNewest(talk, first) {
    const page = await api("GET", messagesUrl(talk.peer) + "?limit=" + pageSize());
    if (talk !== current) return;
    const newestKnown = newestId(talk);
    const oldestOfPage = page.items.length ? page.items[page.items.length - 1].id : null;
    // More arrived than a page holds since the last reading: start again from this page.
    const gap = page.next_before && newestKnown && oldestOfPage > newestKnown;
    if (first || gap) {
      talk.messages.clear();
      talk.nodes.clear();
      ui.log.replaceChildren();
      talk.nextBefore = page.next_before;
    }
    const atEnd = nearEnd();
    page.items.forEach((message) => talk.messages.set(message.id, message));
    render(talk);
    if (atEnd) scrollToEnd();
    markRead(talk);
  }

  async function loadOlder() {
    const talk = current;
    if (!talk || !talk.nextBefore) return;
    const before = encodeURIComponent(talk.nextBefore);
    try {
      const page = await api("GET", messagesUrl(talk.peer) + "?limit=" + pageSize() + "&before=" + before);
      if (talk !== current) return;
      const fromBottom = ui.scroll.scrollHeight - ui.scroll.scrollTop;
      page.items.forEach((message) => talk.messages.set(message.id, message));
      talk.nextBefore = page.next_before;
      render(talk);
      // The messages read stay where they were; the older ones appear above.
      ui.scroll.scrollTop = ui.scroll.scrollHeight - fromBottom;
      if (!talk.nextBefore) ui.input.focus();
    } catch (error) {
      showError(error.message);
    }
  }

  // Message ids are UUIDv7s: their text sorts in the order they were sent.
  function sortedIds(talk) {
    return [...talk.messages.keys()].sort();
  }

  function newestId(talk) {
    const ids = sortedIds(talk);
    return ids.length ? ids[ids.length - 1] : null;
  }

  // Oldest first, newest last; an element is made again only when its message changed,
  // so the log announces only what is new and focus stays where it is.
  function render(talk) {
    const now = Date.now();
    const ids = sortedIds(talk);
    let next = null;
    let soonest = Infinity;
    for (let i = ids.length - 1; i >= 0; i--) {
      const message = talk.messages.get(ids[i]);
      const mine = message.from !== talk.peer;
      const age = now - Date.parse(message.sent_at);
      const deletable = mine && !message.deleted && age < DELETE_WINDOW_MS;
      if (deletable) soonest = Math.min(soonest, DELETE_WINDOW_MS - age);
      const state = [message.deleted, message.delivered, message.read, deletable].join();
      let node = talk.nodes.get(message.id);
      if (!node) {
        node = document.createElement("li");
        talk.nodes.set(message.id, node);
      }
      if (node.dataset.state !== state) fillMessage(node, message, mine, deletable, talk.name);
      node.dataset.state = state;
      if (node.parentNode !== ui.log || node.nextSibling !== next) ui.log.insertBefore(node, next);
      next = node;
    }
    ui.older.hidden = !talk.nextBefore;
    // The Delete buttons go when their five minutes are over.
    clearTimeout(deleteTimer);
    if (soonest !== Infinity) deleteTimer = setTimeout(() => current === talk && render(talk), soonest + 100);
  }

  function fillMessage(node, message, mine, deletable, peerName) {
    node.className = "chat-message " + (mine ? "mine" : "theirs") + (message.deleted ? " deleted" : "");
    node.dataset.id = message.id;
    const who = document.createElement("span");
    who.className = "sr-only";
    who.textContent = (mine ? "You" : peerName) + ": ";
    const text = document.createElement("p");
    text.className = "chat-text";
    text.append(who);
    if (message.deleted) text.append(mine ? "You deleted this message." : "This message was deleted.");
    else appendWithLinks(text, message.text);
    const meta = document.createElement("div");
    meta.className = "chat-meta";
    meta.append(timeElement(message.sent_at));
    if (mine && !message.deleted) {
      const mark = document.createElement("span");
      const word = message.read ? "Read" : message.delivered ? "Delivered" : "Sent";
      mark.className = "chat-mark " + word.toLowerCase();
      mark.textContent = word;
      meta.append(mark);
    }
    if (deletable) {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chat-delete";
      remove.textContent = "Delete";
      meta.append(remove);
    }
    node.replaceChildren(text, meta);
  }

  function timeElement(at) {
    const time = document.createElement("time");
    const date = new Date(at);
    time.dateTime = at;
    time.title = date.toLocaleString();
    const today = date.toDateString() === new Date().toDateString();
    const clock = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    time.textContent = today ? clock : date.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + clock;
    return time;
  }

  // Web addresses become links (http and https only, opened apart from this page);
  // everything else stays text.
  const WEB_ADDRESS = /\bhttps?:\/\/[^\s<>"']+/gi;
  function appendWithLinks(parent, text) {
    let at = 0;
    for (const match of text.matchAll(WEB_ADDRESS)) {
      const address = trimAddress(match[0]);
      const href = webHref(address);
      parent.append(text.slice(at, match.index));
      if (href) {
        const link = document.createElement("a");
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.textContent = address;
        parent.append(link);
      } else {
        parent.append(address);
      }
      at = match.index + address.length;
    }
    parent.append(text.slice(at));
  }

  // Punctuation ending a sentence is not part of the address; a closing bracket is
  // when the address opened it (`…/Foo_(bar)`).
  function trimAddress(address) {
    while (/[.,;:!?)\]}]$/.test(address)) {
      const opened = (address.match(/\(/g) || []).length;
      const closed = (address.match(/\)/g) || []).length;
      if (address.endsWith(")") && opened >= closed) break;
      address = address.slice(0, -1);
    }
    return address;
  }

  function webHref(address) {
    try {
      const url = new URL(address);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function nearEnd() {
    return ui.scroll.scrollHeight - ui.scroll.scrollTop - ui.scroll.clientHeight < 48;
  }

  function scrollToEnd() {
    ui.scroll.scrollTop = ui.scroll.scrollHeight;
  }

  // Read while shown: only when the conversation is on screen in a visible tab.
  function markRead(talk) {
    const unread = [...talk.messages.values()].some((m) => m.from === talk.peer && !m.read);
    if (unread) sendRead(talk, newestId(talk));
  }

  function sendRead(talk, upTo) {
    if (talk !== current || panel.hidden || document.visibilityState !== "visible") return;
    if (!upTo || talk.readUpTo === upTo) return;
    talk.readUpTo = upTo;
    api("PUT", chatsUrl + "/" + encodeURIComponent(talk.peer) + "/read", { up_to: upTo }).catch((error) => {
      talk.readUpTo = null;
      if (talk === current) showError(error.message);
    });
  }

  // --- Writing.
  function characters(text) {
    return [...text].length;
  }

  // With the count when sending; while typing, the counter shows it.
  function tooLong(count) {
    const has = count ? "; this one has " + numbers.format(count) : "";
    return "A message holds at most " + numbers.format(MAX_CHARS) + " characters" + has + ". Shorten it, or send it in two.";
  }

  function updateCounter() {
    const count = characters(ui.input.value.trim());
    ui.counter.textContent = numbers.format(count) + " / " + numbers.format(MAX_CHARS);
    const over = count > MAX_CHARS;
    ui.counter.classList.toggle("over", over);
    ui.input.setAttribute("aria-invalid", String(over));
    // Said once when the text passes the limit (an alert on every key would be noise);
    // the counter shows by how much.
    if (over && ui.error.dataset.kind !== "length") showError(tooLong(), "length");
    else if (!over && ui.error.dataset.kind === "length") clearError();
  }

  async function send() {
    const talk = current;
    if (!talk || sending) return;
    const text = ui.input.value;
    const count = characters(text.trim());
    if (count === 0) return showError("Write something first: a message cannot be empty.");
    if (count > MAX_CHARS) return showError(tooLong(count), "length");
    sending = true;
    ui.send.disabled = true;
    try {
      const message = await api("POST", messagesUrl(talk.peer), { text });
      drafts.delete(talk.peer);
      if (talk !== current) return;
      ui.input.value = "";
      updateCounter();
      clearError();
      talk.messages.set(message.id, message);
      render(talk);
      scrollToEnd();
    } catch (error) {
      if (talk === current) showError(error.message);
    } finally {
      sending = false;
      ui.send.disabled = false;
    }
  }

  async function deleteMessage(button) {
    const talk = current;
    const id = button.closest("li").dataset.id;
    // A first press asks; the second deletes.
    if (button.dataset.confirm !== "yes") {
      button.dataset.confirm = "yes";
      button.textContent = "Delete for both of you?";
      return;
    }
    try {
      await api("DELETE", messagesUrl(talk.peer) + "/" + encodeURIComponent(id));
      const message = talk.messages.get(id);
      if (message) Object.assign(message, { deleted: true, text: "" });
      if (talk === current) {
        render(talk);
        ui.input.focus();
      }
    } catch (error) {
      if (talk === current) showError(error.message);
    }
  }

  // `kind` names an error that goes by itself once fixed (a text too long).
  function showError(message, kind) {
    ui.error.textContent = message;
    ui.error.dataset.kind = kind || "";
    ui.error.hidden = false;
  }

  function clearError() {
    ui.error.textContent = "";
    ui.error.dataset.kind = "";
    ui.error.hidden = true;
  }

  // --- Wiring.
  document.addEventListener("click", (event) => {
    const chatWith = event.target.closest("button[data-chat-peer]");
    if (chatWith) {
      rememberOpener(chatWith);
      showConversation(chatWith.dataset.chatPeer, chatWith.dataset.chatName);
      return;
    }
    const listButton = event.target.closest("#chat-toggle, #dock-chats");
    if (listButton) {
      if (listButton === ui.toggle && !panel.hidden) return closePanel();
      rememberOpener(listButton);
      showList();
      return;
    }
    const conversation = event.target.closest("#chat-conversations button[data-peer]");
    if (conversation) return showConversation(conversation.dataset.peer, conversation.dataset.name);
    const remove = event.target.closest("#chat-log button.chat-delete");
    if (remove) deleteMessage(remove);
  });
  ui.close.addEventListener("click", closePanel);
  ui.back.addEventListener("click", showList);
  ui.older.addEventListener("click", loadOlder);
  panel.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    closePanel();
  });
  panel.addEventListener("focusout", (event) => {
    const button = event.target.closest && event.target.closest("button.chat-delete[data-confirm]");
    if (button) {
      delete button.dataset.confirm;
      button.textContent = "Delete";
    }
  });
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    send();
  });
  ui.input.addEventListener("input", updateCounter);

  body.addEventListener("sb:chat", refresh);
  body.addEventListener("sb:resync", refresh);
  // Rows rendered again (a search, a live update, the dock opened) get their badges.
  body.addEventListener("htmx:afterSettle", paintBadges);
  // A conversation left open in a tab in the background is read when the tab comes back.
  document.addEventListener("visibilitychange", () => {
    if (current) markRead(current);
  });
  refresh();
})();
