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

  const language = document.documentElement.lang || "en";
  function number(value) {
    try {
      return new Intl.NumberFormat(language).format(value);
    } catch (error) {
      return String(value);
    }
  }

  // A plural sentence: the server sends the translation for a few sample counts
  // (agent_ui.ui_strings); the one whose count has the same plural category as
  // `count` in this language is used ("2 segmenty", "5 segmentów").
  function plural(forms, count) {
    if (typeof forms === "string") return format(forms, { count: number(count) });
    const samples = Object.keys(forms || {});
    let rules = null;
    try {
      rules = new Intl.PluralRules(language);
    } catch (error) {
      rules = new Intl.PluralRules("en");
    }
    const category = rules.select(count);
    const sample = samples.find((n) => rules.select(Number(n)) === category) || samples[samples.length - 1];
    return format(forms[sample], { count: number(count) });
  }

  // --- SMS segments ---------------------------------------------------------------
  // The twin of channels_in/sms/segments.py (the reference: when they disagree, it
  // is right). GSM-7: basic set one septet, extension table two; 160 in one message,
  // 153 per part. Anything else makes the whole text UCS-2: UTF-16 code units, 70 in
  // one message, 67 per part. A part never splits an escape and its character, nor a
  // surrogate pair.
  const GSM_BASIC = new Set(Array.from(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
    " !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
  ));
  const GSM_EXTENSION = new Set(Array.from("^{}\\[~]|€\f"));
  const SMS_SINGLE = { "GSM-7": 160, "UCS-2": 70 };
  const SMS_PER_PART = { "GSM-7": 153, "UCS-2": 67 };

  function smsSegments(text) {
    const chars = Array.from(text); // code points, as Python iterates a str
    const nonGsm = [];
    chars.forEach((char) => {
      if (!GSM_BASIC.has(char) && !GSM_EXTENSION.has(char) && !nonGsm.includes(char)) nonGsm.push(char);
    });
    const encoding = nonGsm.length ? "UCS-2" : "GSM-7";
    const costs = chars.map((char) => {
      if (encoding === "UCS-2") return char.codePointAt(0) > 0xffff ? 2 : 1;
      return GSM_EXTENSION.has(char) ? 2 : 1;
    });
    const units = costs.reduce((sum, cost) => sum + cost, 0);
    if (units <= SMS_SINGLE[encoding]) {
      const perSegment = SMS_SINGLE[encoding];
      return { encoding, units, count: units ? 1 : 0, perSegment, left: perSegment - units, nonGsm };
    }
    const perSegment = SMS_PER_PART[encoding];
    let count = 1;
    let used = 0;
    costs.forEach((cost) => {
      if (used + cost > perSegment) {
        count += 1;
        used = 0;
      }
      used += cost;
    });
    return { encoding, units, count, perSegment, left: perSegment - used, nonGsm };
  }
  window.helpdeskSmsSegments = smsSegments; // for the browser tests' comparison with Python

  // The characters that forced UCS-2, as the agent can find them: invisible ones by code.
  function describeChars(chars) {
    const shown = chars.slice(0, 8).map((char) =>
      /^[\s\p{C}\p{Z}]$/u.test(char)
        ? "U+" + char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")
        : char
    );
    return shown.join(", ") + (chars.length > shown.length ? ", …" : "");
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

  // `quiet`: the page says which chat arrived itself (the chats list names it).
  function notifyChat(notice, quiet) {
    if (!quiet) announce(notice.assigned ? strings.chatAssigned : strings.chatWaiting);
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
        if (data.type === "notice" && data.kind === "chat") {
          notifyChat(data, Boolean(handlers.chat));
          if (handlers.chat) handlers.chat(data);
        } else if (data.type === "notice") handlers.notice(data);
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

  // --- A conversation: the ticket page's, or a chat open beside the chats list ------

  // Live behaviour for a conversation's markup (timeline, typing, composer). The
  // ticket page mounts it once; the chats page mounts one chat after another, so
  // every listener goes away with `signal` and nothing leaks from one chat to the next.
  function mountConversation(config) {
    const ticketId = String(config.ticketId);
    const customerId = String(config.customerId || "");
    const signal = config.signal;
    const listen = { signal };
    const afterHeader = config.afterHeader || (() => {});
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
      if (signal && signal.aborted) return;
      const url = config.timelineUrl + "?after=" + lastEventId();
      const { fragment } = await fetchFragment(url);
      if (!fragment || (signal && signal.aborted)) return;
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
      if (signal && signal.aborted) return;
      const { fragment } = await fetchFragment(config.headerUrl);
      const fresh = fragment && fragment.querySelector("#ticket-header");
      const current = document.getElementById("ticket-header");
      if (fresh && current && !(signal && signal.aborted)) {
        current.replaceWith(fresh);
        afterHeader(fresh);
      }
    }

    async function updateDelivery(messageId) {
      const current = document.getElementById("delivery-" + messageId);
      if (!current) return refreshTimeline();
      const url = config.deliveryUrl.replace("/messages/0/", "/messages/" + messageId + "/");
      const { fragment } = await fetchFragment(url);
      const fresh = fragment && fragment.querySelector(".delivery");
      if (!fresh || !current.isConnected) return;
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
    }, listen);
    document.addEventListener("submit", (event) => {
      if (event.target && event.target.id === "reply-form") {
        window.clearTimeout(typingIdle);
        sendTyping(false);
        lastTypingSent = 0;
      }
    }, listen);

    // Our own replies, notes and changes: the server says what to refresh.
    body.addEventListener("timeline-refresh", () => enqueue(refreshTimeline), listen);
    body.addEventListener("ticket-changed", () => enqueue(refreshHeader), listen);

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
      tab.addEventListener("click", () => selectTab(tab, true), listen);
      tab.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
        const next = tabs[(index + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        selectTab(next, false);
        next.focus();
        event.preventDefault();
      }, listen);
    });
    const focusComposer = (which) => {
      const tab = document.getElementById(which === "note" ? "tab-note" : "tab-reply");
      if (tab) selectTab(tab, true);
    };
    window.helpdeskFocusComposer = focusComposer;

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
      }, listen);
    }
    document.addEventListener("change", (event) => {
      if (event.target.matches('input[form="split-form"]')) updateSplitCount();
    }, listen);

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
    }, listen);
    document.addEventListener("htmx:afterSettle", (event) => {
      if (event.detail.elt && event.detail.elt.id === "reply-form") syncFilePicker();
    }, listen);

    // "Send via": each channel's notice (why it cannot go now, the tag, the way out,
    // its closing window) is in the page already; the chosen one shows. Inputs of the
    // hidden ones are disabled, so a tag chosen for Messenger never goes with an SMS.
    function syncReach() {
      const form = document.getElementById("reply-form");
      const channel = form && form.querySelector("#reply_channel");
      if (!channel) return;
      form.querySelectorAll("[data-reach-for]").forEach((notice) => {
        const shown = notice.dataset.reachFor === channel.value;
        notice.hidden = !shown;
        notice.querySelectorAll("input").forEach((input) => {
          input.disabled = !shown;
        });
      });
      syncWindows();
    }

    // "Messenger window closes in 5 h" counts down on a page kept open all day.
    function syncWindows() {
      document.querySelectorAll("#reply-form [data-closes-at]").forEach((hint) => {
        const text = hint.querySelector("[data-window-text]");
        const left = Date.parse(hint.dataset.closesAt) - Date.now();
        if (!text || Number.isNaN(left)) return;
        if (left <= 0) {
          if (!hint.classList.contains("reach-window-closed")) {
            hint.classList.add("reach-window-closed");
            text.textContent = hint.dataset.closed;
            enqueue(refreshReach); // the tag, the other channels, now
          }
          return;
        }
        const hours = Math.floor(left / 3600000);
        const duration = hours >= 1
          ? format(strings.windowHours, { count: hours })
          : format(strings.windowMinutes, { count: Math.max(1, Math.floor(left / 60000)) });
        text.textContent = format(hint.dataset.template, { duration });
      });
    }
    const windowTimer = window.setInterval(syncWindows, 30000);

    // The length counter: SMS segments and encoding, Messenger's character limit.
    // Said aloud only when the count of segments, the encoding or being over the
    // limit changes while typing; never per key, never for the first count.
    let meterState = { channel: null, key: "" };
    function syncMeter() {
      const form = document.getElementById("reply-form");
      const meter = form && form.querySelector("[data-reply-meter]");
      const channel = form && form.querySelector("#reply_channel");
      const editor = form && form.querySelector("#reply_text");
      if (!meter || !channel || !editor) return;
      const countLine = meter.querySelector("[data-meter-count]");
      const encodingLine = meter.querySelector("[data-meter-encoding]");
      const live = form.querySelector("[data-meter-live]");
      // What is sent: stripped (record_reply), line breaks one "\n" each (ReplyForm).
      const text = editor.value.trim();
      let key = "";
      let words = "";
      let over = false;
      let show = false;
      encodingLine.hidden = true;
      if (channel.value === "sms") {
        const sms = smsSegments(text);
        const parts = plural(strings.smsSegments, sms.count);
        countLine.textContent = parts + " · " + plural(strings.smsLeft, sms.left);
        if (sms.encoding === "UCS-2") {
          encodingLine.textContent = format(strings.smsUnicode, {
            chars: describeChars(sms.nonGsm),
            count: sms.perSegment,
          });
          encodingLine.hidden = false;
        }
        show = Boolean(text);
        key = sms.count + ":" + sms.encoding;
        if (text) words = parts + (encodingLine.hidden ? "" : ". " + encodingLine.textContent);
      } else if (channel.value === "messenger") {
        const max = Number(meter.dataset.messengerMax) || 2000;
        const length = Array.from(text).length; // characters, as the sender counts them
        over = length > max;
        show = length > max * 0.9;
        const values = { max: number(max), count: number(length) };
        countLine.textContent = format(over ? strings.messengerTooLong : strings.messengerLength, values);
        key = over ? "over" : "";
        if (over) words = countLine.textContent;
      }
      meter.hidden = !show;
      meter.classList.toggle("is-over", over);
      if (show) editor.setAttribute("aria-describedby", meter.id);
      else editor.removeAttribute("aria-describedby");
      const sameChannel = meterState.channel === channel.value;
      if (live && sameChannel && key !== meterState.key && words) live.textContent = words;
      meterState = { channel: channel.value, key };
    }

    function syncComposer() {
      syncReach();
      syncMeter();
    }

    // The customer wrote (a Messenger window opens again, an SMS STOP pauses SMS):
    // the notices and "Send via" labels come fresh from the ticket page; the text,
    // the chosen channel and a chosen tag stay as the agent left them.
    async function refreshReach() {
      const form = document.getElementById("reply-form");
      const current = form && form.querySelector("#reply-reach");
      const channel = form && form.querySelector("#reply_channel");
      if (!current || !channel || !config.pageUrl || (signal && signal.aborted)) return;
      const { fragment } = await fetchFragment(config.pageUrl);
      const fresh = fragment && fragment.querySelector("#reply-reach");
      if (!fresh || !current.isConnected) return;
      const freshOptions = fragment.querySelectorAll("#reply_channel option");
      freshOptions.forEach((option) => {
        const mine = channel.querySelector('option[value="' + CSS.escape(option.value) + '"]');
        if (mine) mine.textContent = option.textContent;
      });
      const hadFocus = current.contains(document.activeElement) ? document.activeElement.id : "";
      current.querySelectorAll("input:checked").forEach((input) => {
        const same = input.id && fresh.querySelector("#" + CSS.escape(input.id));
        if (same) same.checked = true;
      });
      // Only the notices change; the live region itself stays, so the news is heard.
      current.replaceChildren(...Array.from(fresh.childNodes));
      syncReach();
      const refocus = hadFocus && document.getElementById(hadFocus);
      if (refocus) refocus.focus();
    }
    syncComposer();
    document.addEventListener("change", (event) => {
      if (event.target.id === "reply_channel") syncComposer();
    }, listen);
    document.addEventListener("input", (event) => {
      if (event.target.id === "reply_text") syncMeter();
    }, listen);
    document.addEventListener("htmx:afterSettle", (event) => {
      if (event.detail.elt && event.detail.elt.id === "reply-form") {
        meterState = { channel: null, key: "" };
        syncComposer();
      }
    }, listen);
    // "Reply by SMS instead": switch "Send via" there; the select keeps the focus,
    // and says its new value itself.
    document.addEventListener("click", (event) => {
      const button = event.target.closest && event.target.closest("[data-reply-via]");
      if (!button) return;
      const channel = document.getElementById("reply_channel");
      if (!channel) return;
      channel.value = button.dataset.replyVia;
      channel.dispatchEvent(new Event("change", { bubbles: true }));
      channel.focus();
    }, listen);

    // After a reply or note is sent (or refused), put the agent back in the editor.
    document.addEventListener("htmx:afterSettle", (event) => {
      const id = event.detail.elt && event.detail.elt.id;
      if (id !== "reply-form" && id !== "note-form" && id !== "properties-form") return;
      const form = document.getElementById(id);
      if (!form) return;
      const errors = form.querySelector(".form-errors");
      if (errors) errors.focus();
      else if (id !== "properties-form") form.querySelector("textarea").focus();
    }, listen);

    if (signal) {
      signal.addEventListener("abort", () => {
        window.clearInterval(windowTimer);
        window.clearTimeout(typingTimer);
        window.clearTimeout(typingIdle);
        if (lastTypingSent) sendTyping(false);
        if (agentSocket && agentSocket.readyState === WebSocket.OPEN) {
          agentSocket.send(JSON.stringify({ type: "unwatch", ticket: Number(ticketId) }));
        }
        if (window.helpdeskFocusComposer === focusComposer) delete window.helpdeskFocusComposer;
        body.classList.remove("splitting");
        delete body.dataset.watching;
      });
    }

    // The socket's side: the page's one socket hands over what concerns this conversation.
    return {
      ticketId,
      opened(socket, reconnected) {
        agentSocket = socket;
        socket.send(JSON.stringify({ type: "watch", ticket: Number(ticketId) }));
        if (reconnected) {
          enqueue(refreshTimeline);
          enqueue(refreshHeader);
        }
      },
      other(data) {
        if (data.type === "watching" && String(data.ticket) === ticketId) {
          body.dataset.watching = String(data.ticket);
        }
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
          if (notice.kind === "message") enqueue(refreshReach);
        } else if (customerId && String(notice.customer) === customerId) {
          // Another ticket of the same customer: its events join the timeline, folded.
          enqueue(refreshTimeline);
          if (notice.kind === "message") enqueue(refreshReach);
        }
      },
    };
  }

  // --- Ticket -----------------------------------------------------------------------

  function initTicket() {
    const conversation = mountConversation({
      ticketId: body.dataset.ticketId,
      customerId: body.dataset.customerId,
      pageUrl: window.location.pathname,
      timelineUrl: body.dataset.timelineUrl,
      headerUrl: body.dataset.headerUrl,
      deliveryUrl: body.dataset.deliveryUrl,
    });
    openSocket({
      open: (socket, reconnected) => conversation.opened(socket, reconnected),
      other: (data) => conversation.other(data),
      notice: (notice) => conversation.notice(notice),
    });
  }

  // --- Live chats -------------------------------------------------------------------

  // The list of chats (waiting, mine, others) is fetched whole on every notice about a
  // chat: it costs the server the same few queries however long it is. On wide screens
  // a chat picked from the list opens beside it: the ticket page's own conversation,
  // fetched through the ticket view and given the same live behaviour as there.
  function initChats() {
    const lists = document.getElementById("chat-lists");
    const pane = document.getElementById("chat-pane");
    const chatStrings = readJSON("chat-strings");
    const wide = window.matchMedia("(min-width: 1000px)");
    let socket = null;
    let current = null; // { id, controller, conversation }

    function failed(error) {
      console.warn("opening the chat failed:", error);
      showPaneMessage(strings.requestFailed);
    }

    function ticketUrl(id) {
      return body.dataset.ticketUrl.replace("/tickets/0/", "/tickets/" + id + "/");
    }
    function rowOf(id) {
      return document.getElementById("chat-" + id);
    }

    function snapshot() {
      const rows = new Map();
      lists.querySelectorAll(".chat-row").forEach((row) => {
        rows.set(row.dataset.ticketId, {
          section: row.dataset.section,
          version: row.dataset.version,
          customerAt: Number(row.dataset.customerAt) || 0,
        });
      });
      return rows;
    }

    function markSelected() {
      lists.querySelectorAll(".chat-row").forEach((row) => {
        const selected = Boolean(current) && row.dataset.ticketId === current.id;
        row.classList.toggle("is-selected", selected);
        const link = row.querySelector(".chat-link");
        if (selected) link.setAttribute("aria-current", "true");
        else link.removeAttribute("aria-current");
      });
    }

    function updateCount() {
      const board = document.getElementById("chat-board");
      const badge = document.getElementById("nav-chats-count");
      if (!board || !badge) return;
      const waiting = Number(board.dataset.waiting) || 0;
      badge.querySelector("[data-count]").textContent = String(waiting);
      badge.hidden = !waiting;
    }

    async function refreshList() {
      const url = body.dataset.listUrl + (current ? "?chat=" + encodeURIComponent(current.id) : "");
      const { fragment } = await fetchFragment(url);
      const board = fragment && fragment.querySelector("#chat-board");
      if (!board) return;
      const before = snapshot();
      const focused = document.activeElement;
      const focusedRow = lists.contains(focused) && focused.closest(".chat-row");
      const focusedId = focusedRow ? focusedRow.dataset.ticketId : null;
      const focusedToggle = lists.contains(focused) && focused.matches('[form="availability"]');
      const scrollTop = lists.scrollTop;
      document.getElementById("chat-board").replaceWith(board);
      processHtmx(board);
      lists.scrollTop = scrollTop;
      markSelected();
      updateCount();
      syncPaneBar();
      if (focusedId && rowOf(focusedId)) {
        rowOf(focusedId).querySelector(".chat-link").focus({ preventScroll: true });
      } else if (focusedToggle) {
        const toggle = board.querySelector('[form="availability"]');
        if (toggle) toggle.focus({ preventScroll: true });
      }
      // What changed: new chats and new messages flash, and are said aloud.
      const said = [];
      board.querySelectorAll(".chat-row").forEach((row) => {
        const id = row.dataset.ticketId;
        const was = before.get(id);
        const name = row.dataset.name;
        const selected = current && current.id === id;
        if (!was) {
          markFresh(row);
          if (row.dataset.section === "waiting") said.push(format(chatStrings.waiting, { name }));
          else if (row.dataset.section === "mine") said.push(format(chatStrings.mine, { name }));
        } else if (was.version !== row.dataset.version || was.section !== row.dataset.section) {
          markFresh(row);
          const wrote = (Number(row.dataset.customerAt) || 0) > was.customerAt;
          // The open chat reads its news out itself (its timeline, its header).
          if (selected) return;
          if (row.dataset.section === "mine" && was.section !== "mine") {
            said.push(format(chatStrings.mine, { name })); // transferred to me
          } else if (wrote && row.dataset.section !== "others") {
            said.push(format(chatStrings.message, { name }));
          }
        }
      });
      if (said.length) announce(said.join(". "));
    }

    // Notices come in bursts (a message is a "message" and a "changed"): one fetch
    // at a time, and at most one more queued behind it.
    let listQueued = false;
    function requestList() {
      if (listQueued) return;
      listQueued = true;
      enqueue(() => {
        listQueued = false;
        return refreshList();
      });
    }

    // "2 minutes ago" grows old on a page kept open all day.
    window.setInterval(() => {
      if (document.visibilityState === "visible") requestList();
    }, 60000);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") requestList();
    });
    body.addEventListener("chats-refresh", requestList);
    // Going online or away from the empty list's button: the list says the new state.
    document.addEventListener("htmx:afterSwap", (event) => {
      if (event.detail.elt && event.detail.elt.id === "availability") requestList();
    });

    // --- The chat beside the list ---

    function demoteHeading(header) {
      // The page's heading is "Live chats"; the chat's title is a level below.
      const title = header && header.querySelector("h1");
      if (!title) return;
      const heading = document.createElement("h2");
      Array.from(title.attributes).forEach((attribute) => heading.setAttribute(attribute.name, attribute.value));
      heading.tabIndex = -1;
      heading.append(...title.childNodes);
      title.replaceWith(heading);
    }

    function syncPaneBar() {
      if (!current) return;
      const take = pane.querySelector("[data-pane-take]");
      if (!take) return;
      const row = rowOf(current.id);
      take.hidden = !(row && row.dataset.section === "waiting");
    }

    function showPaneMessage(text) {
      const note = document.createElement("p");
      note.className = "pane-message muted";
      note.setAttribute("role", "status");
      note.textContent = text;
      pane.replaceChildren(note);
    }

    function rememberSelection(id) {
      const url = new URL(window.location.href);
      if (id) url.searchParams.set("chat", id);
      else url.searchParams.delete("chat");
      window.history.replaceState(window.history.state, "", url);
    }

    function closeChat(options) {
      if (!current) return;
      const id = current.id;
      current.controller.abort();
      current = null;
      markSelected();
      rememberSelection(null);
      if (options && options.keepPane) return;
      const empty = document.getElementById("chat-pane-empty");
      pane.replaceChildren(empty.content.cloneNode(true));
      const row = rowOf(id);
      if (row) row.querySelector(".chat-link").focus();
    }

    async function openChat(id, focusComposer) {
      if (current && current.id === id) {
        if (focusComposer && window.helpdeskFocusComposer) window.helpdeskFocusComposer("reply");
        return;
      }
      closeChat({ keepPane: true });
      const controller = new AbortController();
      const opening = { id, controller, conversation: null };
      current = opening;
      markSelected();
      rememberSelection(id);
      pane.setAttribute("aria-busy", "true");
      showPaneMessage(chatStrings.loading);
      let response;
      try {
        response = await fetch(ticketUrl(id), { credentials: "same-origin", signal: controller.signal });
      } catch (error) {
        if (controller.signal.aborted) return;
        throw error;
      }
      if (response.redirected && new URL(response.url).pathname.startsWith("/login")) {
        window.location.reload();
        return;
      }
      const html = response.ok ? await response.text() : "";
      if (current !== opening) return; // another chat was picked meanwhile
      pane.removeAttribute("aria-busy");
      const page = new DOMParser().parseFromString(html, "text/html");
      const conversation = page.querySelector(".conversation");
      if (!conversation) {
        showPaneMessage(chatStrings.gone);
        return;
      }
      const bar = document.getElementById("chat-pane-bar").content.firstElementChild.cloneNode(true);
      const data = page.body.dataset;
      bar.querySelector("[data-pane-full]").href = ticketUrl(data.ticketId);
      const take = bar.querySelector("[data-pane-take]");
      const takeUrl = body.dataset.takeUrl.replace("/chats/0/", "/chats/" + data.ticketId + "/");
      take.setAttribute("action", takeUrl);
      take.setAttribute("hx-post", takeUrl);
      bar.querySelector("[data-pane-close]").addEventListener("click", () => closeChat());
      demoteHeading(conversation.querySelector("#ticket-header"));
      pane.replaceChildren(bar, document.adoptNode(conversation));
      processHtmx(pane);
      syncPaneBar();
      opening.conversation = mountConversation({
        ticketId: data.ticketId,
        customerId: data.customerId,
        pageUrl: ticketUrl(data.ticketId),
        timelineUrl: data.timelineUrl,
        headerUrl: data.headerUrl,
        deliveryUrl: data.deliveryUrl,
        signal: controller.signal,
        afterHeader: demoteHeading,
      });
      if (socket && socket.readyState === WebSocket.OPEN) opening.conversation.opened(socket, false);
      if (focusComposer) {
        const editor = document.getElementById("reply_text") || document.getElementById("note_text");
        if (editor) editor.focus();
      }
    }

    // A click (or Enter) on a chat opens it beside the list; on a phone, or with a
    // modifier key (a new tab), the link goes to the ticket page as any link does.
    lists.addEventListener("click", (event) => {
      const link = event.target.closest && event.target.closest(".chat-link");
      if (!link || !wide.matches || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      openChat(link.closest(".chat-row").dataset.ticketId, true).catch(failed);
    });
    // Escape from the open chat goes back to its row in the list (the first Escape
    // leaves a text field, as everywhere).
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || event.defaultPrevented || !current) return;
      const target = event.target;
      if (target !== body && !pane.contains(target)) return;
      if (target.closest("input, textarea, select, [contenteditable], dialog")) return;
      const row = rowOf(current.id);
      if (row) {
        row.querySelector(".chat-link").focus();
        event.preventDefault();
      }
    });

    const notices = new Set(["message", "reply", "changed"]);
    openSocket({
      open(opened, reconnected) {
        socket = opened;
        if (current && current.conversation) current.conversation.opened(opened, reconnected);
        if (reconnected) requestList(); // what happened while the socket was down
      },
      other(data) {
        if (current && current.conversation) current.conversation.other(data);
      },
      notice(notice) {
        if (current && current.conversation) current.conversation.notice(notice);
        // A chat arrives, a message comes in, an agent replies, takes or solves one.
        if (notices.has(notice.kind)) requestList();
      },
      chat() {
        requestList();
      },
    });

    const chosen = new URL(window.location.href).searchParams.get("chat");
    if (chosen && /^\d+$/.test(chosen) && wide.matches) openChat(chosen, false).catch(failed);
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
    if (page === "chats") return Array.from(document.querySelectorAll("#chat-lists .chat-link"));
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
  else if (page === "chats") initChats();
  else if (document.getElementById("availability")) {
    // Any other agent page still keeps the agent present and hears of new chats.
    openSocket({ open() {}, notice() {} });
  }
})();
