/* Helpdesk agent UI: live updates, keyboard shortcuts and small enhancements.
 *
 * Plain JavaScript, no build step. htmx does forms and partial loading; this
 * file listens on the agent socket (/ws/agent/) and, on a notice, fetches the
 * partial it needs through a normal permission-checked view. Pushes carry ids
 * only, so nothing reaches an agent who may not see the ticket.
 */
(function () {
  "use strict";

  const body = document.body;
  const page = body.dataset.page || "";
  const strings = readJSON("ui-strings");
  const liveStatus = document.getElementById("live-status");

  function readJSON(id) {
    const element = document.getElementById(id);
    if (!element) return {};
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return {};
    }
  }

  function format(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, (match, key) =>
      key in values ? String(values[key]) : match
    );
  }

  function announce(text) {
    if (!liveStatus || !text) return;
    liveStatus.textContent = "";
    window.setTimeout(() => {
      liveStatus.textContent = text;
    }, 80);
  }

  // Live updates apply one after another, in the order the notices came.
  let chain = Promise.resolve();
  function enqueue(task) {
    chain = chain.then(task).catch((error) => console.warn("live update failed:", error));
    return chain;
  }

  async function fetchFragment(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.redirected && new URL(response.url).pathname.startsWith("/login")) {
      window.location.reload(); // signed out meanwhile
      return { status: 401, fragment: null };
    }
    if (response.status === 204 || response.status === 404) {
      return { status: response.status, fragment: null };
    }
    if (!response.ok) throw new Error(url + " answered " + response.status);
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    return { status: response.status, fragment: template.content };
  }

  function markFresh(element) {
    element.classList.add("is-fresh");
    window.setTimeout(() => element.classList.remove("is-fresh"), 4000);
  }

  function processHtmx(element) {
    if (window.htmx) window.htmx.process(element);
  }

  // --- New chats: a flashing title and a short sound ---------------------------------

  // Browsers let a page play sound only after the person interacted with it: until
  // then a new chat flashes the title only.
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  let audio = null;
  let interacted = false;
  function noteInteraction() {
    interacted = true;
    window.removeEventListener("pointerdown", noteInteraction, true);
    window.removeEventListener("keydown", noteInteraction, true);
  }
  window.addEventListener("pointerdown", noteInteraction, true);
  window.addEventListener("keydown", noteInteraction, true);

  function chime() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!interacted || !Context) return;
    try {
      audio = audio || new Context();
      if (audio.state === "suspended") audio.resume();
      const start = audio.currentTime + 0.01;
      [880, 1320].forEach((frequency, index) => {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        const at = start + index * 0.16;
        tone.type = "sine";
        tone.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.15);
        tone.connect(gain).connect(audio.destination);
        tone.start(at);
        tone.stop(at + 0.16);
      });
    } catch (error) {
      console.warn("no sound:", error);
    }
  }

  const quietTitle = document.title;
  let unseenChats = 0;
  let flashTimer = null;
  function stopFlash() {
    window.clearInterval(flashTimer);
    flashTimer = null;
    unseenChats = 0;
    document.title = quietTitle;
  }
  window.addEventListener("focus", stopFlash);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && document.hasFocus()) stopFlash();
  });

  function notifyChat(notice) {
    announce(notice.assigned ? strings.chatAssigned : strings.chatWaiting);
    chime();
    if (document.hasFocus()) return;
    unseenChats += 1;
    const alert = format(strings.newChat || "(%(count)s) New chat – %(title)s", {
      count: unseenChats,
      title: quietTitle,
    });
    document.title = alert;
    // The title blinks until the page gets focus; with reduced motion it just stays.
    if (flashTimer || reducedMotion.matches) return;
    let on = true;
    flashTimer = window.setInterval(() => {
      on = !on;
      document.title = on
        ? format(strings.newChat || "(%(count)s) New chat – %(title)s", {
            count: unseenChats,
            title: quietTitle,
          })
        : quietTitle;
    }, 1200);
  }

  // --- The socket -------------------------------------------------------------------

  // The socket is the agent's presence for chats: a ping keeps it fresh (the server
  // counts an agent as gone 90 s after the last one).
  const PING_MS = 45000;

  function openSocket(handlers) {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const url = scheme + "://" + window.location.host + "/ws/agent/";
    const banner = document.getElementById("connection");
    let delay = 1000;
    let socket = null;
    let opened = false;

    function connect() {
      socket = new WebSocket(url);
      let pinger = null;
      socket.addEventListener("open", () => {
        pinger = window.setInterval(() => {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
        }, PING_MS);
        delay = 1000;
        body.dataset.live = "on";
        if (banner) banner.hidden = true;
        handlers.open(socket, opened);
        opened = true;
      });
      socket.addEventListener("message", (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (data.type === "notice" && data.kind === "chat") notifyChat(data);
        else if (data.type === "notice") handlers.notice(data);
        else if (handlers.other) handlers.other(data);
      });
      socket.addEventListener("close", (event) => {
        window.clearInterval(pinger);
        body.dataset.live = "off";
        if (event.code === 4401 || event.code === 4403) return; // not allowed: do not hammer
        if (banner && opened) {
          banner.textContent = strings.disconnected || "Reconnecting…";
          banner.hidden = false;
        }
        window.setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    connect();
  }

  // --- Inbox ------------------------------------------------------------------------

  function initInbox() {
    const rowUrlTemplate = body.dataset.rowUrl;

    // On a phone the filters fold away unless some are in use.
    const filterPanel = document.getElementById("filter-panel");
    if (filterPanel && window.matchMedia("(max-width: 700px)").matches) {
      filterPanel.open = filterPanel.dataset.filtered === "true";
    }

    function sortMode() {
      const select = document.getElementById("filter_sort");
      return (select && select.value) || "recent";
    }

    async function refreshRow(ticketId, kind) {
      const list = document.getElementById("ticket-rows");
      if (!list) return;
      const url = rowUrlTemplate.replace("/tickets/0/", "/tickets/" + ticketId + "/");
      const { status, fragment } = await fetchFragment(url + window.location.search);
      const existing = document.getElementById("ticket-" + ticketId);
      if (status === 204 || status === 404) {
        // No longer in this view (or no longer visible to this agent).
        if (existing) existing.remove();
        return;
      }
      const row = fragment && fragment.querySelector("li.ticket-row");
      if (!row) return;
      const hadFocus = existing && existing.contains(document.activeElement);
      const moved = kind === "message" || kind === "reply";
      if (existing && !(moved && sortMode() === "recent")) {
        existing.replaceWith(row);
      } else {
        if (existing) existing.remove();
        list.prepend(row);
      }
      processHtmx(row);
      markFresh(row);
      const empty = document.getElementById("empty-state");
      if (empty) empty.remove();
      if (hadFocus) row.querySelector(".row-link").focus();
      if (!existing) announce(format(strings.newActivity, { ref: "#" + ticketId }));
    }

    openSocket({
      open() {},
      notice(notice) {
        if (notice.ticket && notice.kind !== "delivery") {
          enqueue(() => refreshRow(notice.ticket, notice.kind));
        }
      },
    });

    // Empty filters stay out of the address (and so out of bookmarks).
    document.addEventListener("htmx:configRequest", (event) => {
      if (event.detail.elt.id !== "filters") return;
      const params = event.detail.parameters;
      Object.keys(params).forEach((key) => {
        if (params[key] === "") delete params[key];
      });
    });

    // "Load more" keeps keyboard users where they were: on the first new row.
    let rowsBefore = 0;
    document.addEventListener("htmx:beforeRequest", (event) => {
      if (event.detail.elt.matches && event.detail.elt.matches("[data-load-more]")) {
        rowsBefore = document.querySelectorAll("#ticket-rows > li").length;
      }
    });
    document.addEventListener("htmx:afterSettle", (event) => {
      if (event.detail.target && event.detail.target.id === "ticket-rows" && rowsBefore) {
        const rows = document.querySelectorAll("#ticket-rows > li");
        const first = rows[rowsBefore];
        if (first) first.querySelector(".row-link").focus();
        rowsBefore = 0;
      }
    });
  }

  // --- Ticket -----------------------------------------------------------------------

  function initTicket() {
    const ticketId = String(body.dataset.ticketId);
    const customerId = String(body.dataset.customerId || "");
    const timeline = document.getElementById("timeline");
    const scroller = document.getElementById("timeline-scroller");

    function scrolls() {
      return scroller && getComputedStyle(scroller).overflowY === "auto";
    }
    function nearBottom() {
      if (!scrolls()) return false;
      return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 160;
    }
    function scrollToEnd() {
      if (scrolls()) scroller.scrollTop = scroller.scrollHeight;
    }
    scrollToEnd();

    function lastEventId() {
      let last = 0;
      timeline.querySelectorAll("[data-event-id]").forEach((element) => {
        last = Math.max(last, Number(element.dataset.eventId) || 0);
      });
      return last;
    }

    function describe(item) {
      const message = item.querySelector(".msg");
      if (message) {
        const author = message.querySelector(".msg-author");
        const text = message.querySelector(".msg-body");
        const excerpt = text ? text.textContent.trim().replace(/\s+/g, " ").slice(0, 140) : "";
        return (author ? author.textContent.trim() + ": " : "") + excerpt;
      }
      const line = item.querySelector(".tl-text, summary");
      return line ? line.textContent.trim().replace(/\s+/g, " ") : "";
    }

    async function refreshTimeline() {
      const url = body.dataset.timelineUrl + "?after=" + lastEventId();
      const { fragment } = await fetchFragment(url);
      if (!fragment) return;
      const items = Array.from(fragment.children).filter((element) => element.tagName === "LI");
      if (!items.length) return;
      const stick = nearBottom();
      items.forEach((item) => {
        timeline.append(item);
        processHtmx(item);
        markFresh(item);
      });
      if (stick) scrollToEnd();
      announce(items.map(describe).filter(Boolean).join(". "));
    }

    async function refreshHeader() {
      const { fragment } = await fetchFragment(body.dataset.headerUrl);
      const fresh = fragment && fragment.querySelector("#ticket-header");
      const current = document.getElementById("ticket-header");
      if (fresh && current) current.replaceWith(fresh);
    }

    async function updateDelivery(messageId) {
      const current = document.getElementById("delivery-" + messageId);
      if (!current) return refreshTimeline();
      const url = body.dataset.deliveryUrl.replace("/messages/0/", "/messages/" + messageId + "/");
      const { fragment } = await fetchFragment(url);
      const fresh = fragment && fragment.querySelector(".delivery");
      if (!fresh) return;
      // What the agent can do about it (the reason, "Retry") sits under the message.
      const problem = fragment.querySelector("#delivery-problem-" + messageId);
      const currentProblem = document.getElementById("delivery-problem-" + messageId);
      current.replaceWith(fresh);
      if (problem && currentProblem) {
        const hadFocus = currentProblem.contains(document.activeElement);
        currentProblem.replaceWith(problem);
        processHtmx(problem);
        if (hadFocus) focusMessage(problem);
      }
      announce(format(strings.deliveryChanged, { state: fresh.textContent.trim() }));
    }

    // The customer is typing (chat): shown above the composer until they stop or go quiet.
    const typingLine = document.getElementById("customer-typing");
    let typingTimer = null;
    function showCustomerTyping(state) {
      if (!typingLine) return;
      window.clearTimeout(typingTimer);
      typingLine.textContent = state ? format(strings.customerTyping, { name: typingLine.dataset.name }) : "";
      typingLine.hidden = !state;
      if (state) typingTimer = window.setTimeout(() => showCustomerTyping(false), 6000);
    }

    // The agent is typing a reply: told to the customer's chat, at most every 2 s.
    let agentSocket = null;
    let lastTypingSent = 0;
    let typingIdle = null;
    function sendTyping(state) {
      if (!agentSocket || agentSocket.readyState !== WebSocket.OPEN) return;
      agentSocket.send(JSON.stringify({ type: "typing", ticket: Number(ticketId), state }));
    }
    document.addEventListener("input", (event) => {
      if (!event.target || event.target.id !== "reply_text") return;
      const now = Date.now();
      if (now - lastTypingSent > 2000) {
        sendTyping(true);
        lastTypingSent = now;
      }
      window.clearTimeout(typingIdle);
      typingIdle = window.setTimeout(() => {
        sendTyping(false);
        lastTypingSent = 0;
      }, 4000);
    });
    document.addEventListener("submit", (event) => {
      if (event.target && event.target.id === "reply-form") {
        window.clearTimeout(typingIdle);
        sendTyping(false);
        lastTypingSent = 0;
      }
    });

    openSocket({
      open(socket, reconnected) {
        agentSocket = socket;
        socket.send(JSON.stringify({ type: "watch", ticket: Number(ticketId) }));
        if (reconnected) {
          enqueue(refreshTimeline);
          enqueue(refreshHeader);
        }
      },
      other(data) {
        if (data.type === "watching") body.dataset.watching = String(data.ticket);
      },
      notice(notice) {
        const here = String(notice.ticket) === ticketId;
        if (here && notice.kind === "typing") {
          showCustomerTyping(Boolean(notice.state));
        } else if (here && notice.kind === "delivery") {
          enqueue(() => updateDelivery(notice.message));
        } else if (here) {
          enqueue(refreshTimeline);
          if (notice.kind !== "note") enqueue(refreshHeader);
        } else if (customerId && String(notice.customer) === customerId) {
          // Another ticket of the same customer: its events join the timeline, folded.
          enqueue(refreshTimeline);
        }
      },
    });

    // Our own replies, notes and changes: the server says what to refresh.
    body.addEventListener("timeline-refresh", () => enqueue(refreshTimeline));
    body.addEventListener("ticket-changed", () => enqueue(refreshHeader));

    // Composer tabs (reply / internal note).
    const tabs = Array.from(document.querySelectorAll(".composer-tabs [role=tab]"));
    function selectTab(tab, focusEditor) {
      tabs.forEach((other) => {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        other.tabIndex = selected ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
      });
      if (focusEditor) {
        const editor = document.getElementById(tab.getAttribute("aria-controls")).querySelector("textarea");
        if (editor) editor.focus();
      }
    }
    tabs.forEach((tab, index) => {
      tab.addEventListener("click", () => selectTab(tab, true));
      tab.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
        const next = tabs[(index + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        selectTab(next, false);
        next.focus();
        event.preventDefault();
      });
    });
    window.helpdeskFocusComposer = (which) => {
      const tab = document.getElementById(which === "note" ? "tab-note" : "tab-reply");
      if (tab) selectTab(tab, true);
    };

    // Splitting: the checkboxes show while the split panel is open.
    const splitDetails = document.getElementById("split-details");
    const splitCount = document.querySelector(".split-count");
    function updateSplitCount() {
      const count = document.querySelectorAll('input[form="split-form"]:checked').length;
      if (splitCount) splitCount.textContent = count ? "(" + count + ")" : "";
    }
    if (splitDetails) {
      splitDetails.addEventListener("toggle", () => {
        body.classList.toggle("splitting", splitDetails.open);
      });
    }
    document.addEventListener("change", (event) => {
      if (event.target.matches('input[form="split-form"]')) updateSplitCount();
    });

    // Files go out by email only: the file picker shows while email is the chosen channel.
    function syncFilePicker() {
      const channel = document.getElementById("reply_channel");
      const files = document.querySelector("#reply-form .composer-files");
      if (!channel || !files) return;
      const email = channel.value === "email";
      if (!email) files.querySelector("input[type=file]").value = "";
      files.hidden = !email;
    }
    syncFilePicker();
    document.addEventListener("change", (event) => {
      if (event.target.id === "reply_channel") syncFilePicker();
    });
    document.addEventListener("htmx:afterSettle", (event) => {
      if (event.detail.elt && event.detail.elt.id === "reply-form") syncFilePicker();
    });

    // After a reply or note is sent (or refused), put the agent back in the editor.
    document.addEventListener("htmx:afterSettle", (event) => {
      const id = event.detail.elt && event.detail.elt.id;
      if (id !== "reply-form" && id !== "note-form" && id !== "properties-form") return;
      const form = document.getElementById(id);
      if (!form) return;
      const errors = form.querySelector(".form-errors");
      if (errors) errors.focus();
      else if (id !== "properties-form") form.querySelector("textarea").focus();
    });
  }

  // --- Everywhere -------------------------------------------------------------------

  // Focus the message an element belongs to, when the element itself goes away.
  function focusMessage(element) {
    const message = element.closest(".msg");
    if (!message) return;
    message.tabIndex = -1;
    message.focus({ preventScroll: true });
  }

  // Remote images of a message wait for the agent (tracking pixels): "Show images"
  // loads those of that one message, with no referrer.
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-show-images]");
    if (!button) return;
    const scope = button.closest("[data-images-scope]");
    if (!scope) return;
    scope.querySelectorAll("img[data-remote-src]").forEach((image) => {
      const url = image.getAttribute("data-remote-src") || "";
      image.removeAttribute("data-remote-src");
      if (!/^(https?:)?\/\//i.test(url)) return;
      image.referrerPolicy = "no-referrer";
      image.src = url;
    });
    const bar = button.closest("[data-remote-images]");
    const content = scope.querySelector(".msg-html");
    if (bar) bar.remove();
    if (content) {
      content.tabIndex = -1;
      content.focus({ preventScroll: true });
    }
  });

  // "Retry" on a failed message: the state (and the button) is replaced out of band.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const form = event.detail.elt;
    if (form && form.closest && form.closest(".delivery-problem") && form.contains(document.activeElement)) {
      const message = form.closest(".msg");
      window.setTimeout(() => message && focusMessage(message), 0);
    }
  });

  // "Saved." and friends have been announced (role=status); they leave after a while.
  document.addEventListener("htmx:afterSettle", () => {
    document.querySelectorAll(".form-success:not([data-leaving])").forEach((element) => {
      element.dataset.leaving = "true";
      window.setTimeout(() => element.remove(), 5000);
    });
  });

  // A refused or failed htmx request says so instead of doing nothing.
  let toastTimer = 0;
  function toast(text) {
    const banner = document.getElementById("connection");
    if (!banner) return;
    banner.textContent = text;
    banner.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => {
      banner.hidden = true;
    }, 6000);
  }
  document.addEventListener("htmx:responseError", () => toast(strings.requestFailed));
  document.addEventListener("htmx:sendError", () => toast(strings.requestFailed));

  // Ctrl/Cmd+Enter sends the reply or note being written.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const form = event.target.closest && event.target.closest("form.composer-form");
    if (!form) return;
    event.preventDefault();
    const submitter = form.querySelector('button[value="send"]') || form.querySelector("button[type=submit]");
    form.requestSubmit(submitter);
  });

  const help = document.getElementById("help-dialog");
  function openHelp() {
    if (help && !help.open) help.showModal();
  }
  document.querySelectorAll("[data-open-help]").forEach((button) => button.addEventListener("click", openHelp));
  document.querySelectorAll("[data-close-dialog]").forEach((button) =>
    button.addEventListener("click", () => button.closest("dialog").close())
  );

  function focusables() {
    if (page === "inbox") return Array.from(document.querySelectorAll("#ticket-rows .row-link"));
    if (page === "ticket") return Array.from(document.querySelectorAll("#timeline > .tl-item > .msg"));
    return [];
  }
  function moveFocus(step) {
    const items = focusables();
    if (!items.length) return;
    let index = items.indexOf(document.activeElement);
    if (index === -1) index = step > 0 ? 0 : items.length - 1;
    else index = Math.max(0, Math.min(items.length - 1, index + step));
    const item = items[index];
    if (!item.hasAttribute("href")) item.tabIndex = -1;
    item.focus();
    (item.closest("li") || item).scrollIntoView({ block: "nearest" });
  }

  let goPending = false;
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (typing) {
      if (event.key === "Escape" && target.blur && !target.closest("dialog")) target.blur();
      return;
    }
    if (help && help.open) return;
    if (goPending) {
      goPending = false;
      if (event.key === "i") {
        const brand = document.querySelector(".brand");
        if (brand) window.location.href = brand.href;
        event.preventDefault();
      }
      return;
    }
    switch (event.key) {
      case "?":
        openHelp();
        break;
      case "/": {
        const search = document.getElementById("filter_q");
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      case "j":
        moveFocus(1);
        break;
      case "k":
        moveFocus(-1);
        break;
      case "r":
      case "n":
        if (!window.helpdeskFocusComposer) return;
        window.helpdeskFocusComposer(event.key === "n" ? "note" : "reply");
        break;
      case "g":
        goPending = true;
        window.setTimeout(() => {
          goPending = false;
        }, 1500);
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  if (page === "inbox") initInbox();
  else if (page === "ticket") initTicket();
  else if (document.getElementById("availability")) {
    // Any other agent page still keeps the agent present and hears of new chats.
    openSocket({ open() {}, notice() {} });
  }
})();
