/* Helpdesk chat widget for customers' web sites. Plain JavaScript, no build step.

   Served by channels_in/widget_script.py at /widget/<key>.js, which replaces
   the settings placeholder below with the inbox's public settings. The
   protocol (frames, visitor token, HTTP fallback) is docs/widget-protocol.md.

   Everything lives in a shadow root on one host element, so the site's CSS
   cannot reach in and ours cannot leak out. The only global is
   window.__helpdeskWidget. Message text is only ever put in the page as text
   nodes (and <a> elements for http(s) links), never as HTML. */
(function () {
  "use strict";

  var S = /*@settings*/null;
  if (!S || typeof window === "undefined" || window.__helpdeskWidget) return;
  if (!document.documentElement.attachShadow) return;

  var MAX_CHARS = 5000;
  var POLL_MS = 3000;
  var SESSION_TIMEOUT_MS = 10000;
  var TYPING_EVERY_MS = 2000;
  var KEEP_MESSAGES = 100;
  var PREFIX = "helpdesk." + S.key + ".";

  // --- Texts ----------------------------------------------------------------------------
  var TEXTS = {
    en: {
      open: "Open chat",
      unread: { one: "Open chat, 1 unread message", other: "Open chat, {n} unread messages" },
      close: "Close chat",
      dialog: "Chat with {name}",
      greeting: "Hi! How can we help you today?",
      online: "We’re online",
      away: "We’ll reply as soon as we can",
      connecting: "Connecting…",
      unavailable: "The chat is not available right now",
      conversation: "Conversation",
      message: "Message",
      placeholder: "Write a message…",
      send: "Send",
      attach: "Attach a photo or file",
      camera: "Take a photo",
      you: "You",
      support: "Support",
      sending: "Sending…",
      sent: "Sent",
      seen: "Seen",
      typing: "{name} is typing…",
      someoneTyping: "Someone is typing…",
      announce: "New message from {name}: {text}",
      prechatIntro: "Before we start, please tell us who you are.",
      name: "Name",
      email: "Email",
      start: "Start chat",
      privacy: "We use your details only to answer your questions.",
      privacyLink: "Privacy policy",
      attachment: "Attachment",
      tooLong: "Too long: {n} / {max}",
      too_large: "This message is too long (at most 5,000 characters).",
      rate_limited: "You’re sending messages too fast. Please wait a moment and try again.",
      failed: "The message could not be sent. Please try again.",
      uploadsOff: "Sending files is not available yet.",
      fileTooBig: "This file is too large (at most {mb} MB).",
      fileType: "Only photos (JPEG, PNG, GIF, WebP, HEIC) and PDF files can be sent.",
      fileFailed: "The file could not be sent. Please try again.",
      suggested: "Articles that may help",
      talkToPerson: "Talk to a person",
      back: "Back to the chat",
      article: "Help article",
      helped: "Did this answer your question?",
      yesThanks: "Yes, thanks",
      offerIntro: "These articles may answer your question:",
      answeredIt: "That answered it",
      glad: "Glad that helped! Write to us any time.",
      handedOver: "Thanks! A person from our team will answer here.",
      writeFirst: "Tell us what you need, and a person will answer.",
      awayWithin: { one: "Nobody from the team is online right now. We usually reply within an hour.", other: "Nobody from the team is online right now. We usually reply within {n} hours." },
      awayUntil: "We’re closed right now. We’ll reply when we’re back: {when}.",
      awayLater: "Nobody from the team is online right now. We’ll reply as soon as we can.",
      leaveEmail: "Leave your email and we’ll answer you there, even if you close this page.",
      emailSend: "Send",
      replyTo: "We’ll reply to {email}. You can close this page.",
      emailInvalid: "Please enter a valid email address."
    },
    pl: {
      open: "Otwórz czat",
      unread: {
        one: "Otwórz czat, 1 nieprzeczytana wiadomość",
        few: "Otwórz czat, {n} nieprzeczytane wiadomości",
        other: "Otwórz czat, {n} nieprzeczytanych wiadomości"
      },
      close: "Zamknij czat",
      dialog: "Czat – {name}",
      greeting: "Dzień dobry! W czym możemy pomóc?",
      online: "Jesteśmy dostępni",
      away: "Odpowiemy najszybciej, jak to możliwe",
      connecting: "Łączenie…",
      unavailable: "Czat jest teraz niedostępny",
      conversation: "Rozmowa",
      message: "Wiadomość",
      placeholder: "Napisz wiadomość…",
      send: "Wyślij",
      attach: "Dołącz zdjęcie lub plik",
      camera: "Zrób zdjęcie",
      you: "Ty",
      support: "Obsługa klienta",
      sending: "Wysyłanie…",
      sent: "Wysłano",
      seen: "Przeczytano",
      typing: "{name} pisze…",
      someoneTyping: "Ktoś pisze…",
      announce: "Nowa wiadomość – {name}: {text}",
      prechatIntro: "Zanim zaczniemy, przedstaw się, proszę.",
      name: "Imię i nazwisko",
      email: "E-mail",
      start: "Rozpocznij czat",
      privacy: "Twoje dane wykorzystamy wyłącznie do udzielenia odpowiedzi.",
      privacyLink: "Polityka prywatności",
      attachment: "Załącznik",
      tooLong: "Za długa: {n} / {max}",
      too_large: "Ta wiadomość jest za długa (maksymalnie 5000 znaków).",
      rate_limited: "Wysyłasz wiadomości zbyt szybko. Poczekaj chwilę i spróbuj ponownie.",
      failed: "Nie udało się wysłać wiadomości. Spróbuj ponownie.",
      uploadsOff: "Wysyłanie plików nie jest jeszcze dostępne.",
      fileTooBig: "Ten plik jest za duży (najwyżej {mb} MB).",
      fileType: "Można wysyłać tylko zdjęcia (JPEG, PNG, GIF, WebP, HEIC) i pliki PDF.",
      fileFailed: "Nie udało się wysłać pliku. Spróbuj ponownie.",
      suggested: "Artykuły, które mogą pomóc",
      talkToPerson: "Porozmawiaj z konsultantem",
      back: "Wróć do czatu",
      article: "Artykuł pomocy",
      helped: "Czy to odpowiada na Twoje pytanie?",
      yesThanks: "Tak, dziękuję",
      offerIntro: "Te artykuły mogą odpowiedzieć na Twoje pytanie:",
      answeredIt: "To mi pomogło",
      glad: "Cieszymy się, że pomogło! Napisz do nas, kiedy tylko zechcesz.",
      handedOver: "Dziękujemy! Konsultant z naszego zespołu odpowie tutaj.",
      writeFirst: "Napisz, w czym możemy pomóc, a odpowie Ci konsultant.",
      awayWithin: { one: "W tej chwili nikt z zespołu nie jest dostępny. Zwykle odpowiadamy w ciągu godziny.", few: "W tej chwili nikt z zespołu nie jest dostępny. Zwykle odpowiadamy w ciągu {n} godzin.", many: "W tej chwili nikt z zespołu nie jest dostępny. Zwykle odpowiadamy w ciągu {n} godzin.", other: "W tej chwili nikt z zespołu nie jest dostępny. Zwykle odpowiadamy w ciągu {n} godzin." },
      awayUntil: "Teraz jesteśmy poza godzinami pracy. Odpowiemy, gdy wrócimy: {when}.",
      awayLater: "W tej chwili nikt z zespołu nie jest dostępny. Odpowiemy najszybciej, jak to możliwe.",
      leaveEmail: "Zostaw swój e-mail, a odpowiemy na niego, nawet jeśli zamkniesz tę stronę.",
      emailSend: "Wyślij",
      replyTo: "Odpowiemy na adres {email}. Możesz zamknąć tę stronę.",
      emailInvalid: "Podaj poprawny adres e-mail."
    },
    cs: {
      open: "Otevřít chat",
      unread: {
        one: "Otevřít chat, 1 nepřečtená zpráva",
        few: "Otevřít chat, {n} nepřečtené zprávy",
        other: "Otevřít chat, {n} nepřečtených zpráv"
      },
      close: "Zavřít chat",
      dialog: "Chat – {name}",
      greeting: "Dobrý den! S čím vám můžeme pomoci?",
      online: "Jsme online",
      away: "Odpovíme, jakmile to bude možné",
      connecting: "Připojování…",
      unavailable: "Chat teď není k dispozici",
      conversation: "Konverzace",
      message: "Zpráva",
      placeholder: "Napište zprávu…",
      send: "Odeslat",
      attach: "Přiložit fotku nebo soubor",
      camera: "Vyfotit",
      you: "Vy",
      support: "Podpora",
      sending: "Odesílání…",
      sent: "Odesláno",
      seen: "Přečteno",
      typing: "{name} píše…",
      someoneTyping: "Někdo píše…",
      announce: "Nová zpráva – {name}: {text}",
      prechatIntro: "Než začneme, představte se nám, prosím.",
      name: "Jméno a příjmení",
      email: "E-mail",
      start: "Zahájit chat",
      privacy: "Vaše údaje použijeme pouze k tomu, abychom vám odpověděli.",
      privacyLink: "Zásady ochrany osobních údajů",
      attachment: "Příloha",
      tooLong: "Příliš dlouhá: {n} / {max}",
      too_large: "Zpráva je příliš dlouhá (nejvýše 5 000 znaků).",
      rate_limited: "Posíláte zprávy příliš rychle. Chvíli počkejte a zkuste to znovu.",
      failed: "Zprávu se nepodařilo odeslat. Zkuste to znovu.",
      uploadsOff: "Posílání souborů zatím není k dispozici.",
      fileTooBig: "Tento soubor je příliš velký (nejvýše {mb} MB).",
      fileType: "Poslat lze jen fotky (JPEG, PNG, GIF, WebP, HEIC) a soubory PDF.",
      fileFailed: "Soubor se nepodařilo odeslat. Zkuste to prosím znovu.",
      suggested: "Články, které mohou pomoci",
      talkToPerson: "Mluvit s člověkem",
      back: "Zpět do chatu",
      article: "Článek nápovědy",
      helped: "Odpověděl tento článek na váš dotaz?",
      yesThanks: "Ano, děkuji",
      offerIntro: "Na váš dotaz mohou odpovědět tyto články:",
      answeredIt: "To mi pomohlo",
      glad: "Jsme rádi, že to pomohlo! Napište nám kdykoli.",
      handedOver: "Děkujeme! Odpoví vám tady někdo z našeho týmu.",
      writeFirst: "Napište, s čím potřebujete pomoci, a odpoví vám člověk z našeho týmu.",
      awayWithin: { one: "Právě teď není nikdo z týmu k dispozici. Obvykle odpovídáme do hodiny.", few: "Právě teď není nikdo z týmu k dispozici. Obvykle odpovídáme do {n} hodin.", many: "Právě teď není nikdo z týmu k dispozici. Obvykle odpovídáme do {n} hodin.", other: "Právě teď není nikdo z týmu k dispozici. Obvykle odpovídáme do {n} hodin." },
      awayUntil: "Teď máme zavřeno. Odpovíme, jakmile se vrátíme: {when}.",
      awayLater: "Právě teď není nikdo z týmu k dispozici. Odpovíme, jakmile to bude možné.",
      leaveEmail: "Nechte nám svůj e-mail a odpovíme vám na něj, i když tuto stránku zavřete.",
      emailSend: "Odeslat",
      replyTo: "Odpovíme na adresu {email}. Tuto stránku můžete zavřít.",
      emailInvalid: "Zadejte prosím platnou e-mailovou adresu."
    }
  };

  // The visitor's browser language, else the page's <html lang>, else the inbox's.
  function pickLanguage() {
    var candidates = [navigator.language, document.documentElement.lang, S.language];
    for (var i = 0; i < candidates.length; i++) {
      var base = String(candidates[i] || "").toLowerCase().split(/[-_]/)[0];
      if (TEXTS[base]) return base;
    }
    return "en";
  }
  var lang = pickLanguage();
  // Dates in the visitor's own variant of the language (en-GB: 24-hour clock).
  var dateLocale = String(navigator.language || "").toLowerCase().split(/[-_]/)[0] === lang ? navigator.language : lang;

  function t(name, values) {
    var text = TEXTS[lang][name] || TEXTS.en[name] || name;
    if (typeof text === "object") {
      var form = "other";
      try { form = new Intl.PluralRules(lang).select(values.n); } catch (e) { /* old browser */ }
      text = text[form] || text.other;
    }
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return values && values[key] != null ? String(values[key]) : all;
    });
  }

  function greetingText() {
    var g = S.greeting;
    if (typeof g === "string" && g) return g;
    return (g && g[lang]) || t("greeting");
  }

  // --- Storage (private mode or a sandbox may refuse it: then memory only) ---------------
  var memory = {};
  function load(name, fallback, store) {
    try {
      var raw = (store || window.localStorage).getItem(PREFIX + name);
      return raw == null ? fallback : JSON.parse(raw);
    } catch (e) {
      return name in memory ? memory[name] : fallback;
    }
  }
  function save(name, value, store) {
    memory[name] = value;
    try { (store || window.localStorage).setItem(PREFIX + name, JSON.stringify(value)); } catch (e) { /* full or refused */ }
  }
  function session() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  var token = load("token", "");
  var messages = asArray(load("messages", []));
  var outbox = asArray(load("outbox", []));
  var profile = load("profile", null);
  var readMark = Number(load("read", 0)) || 0; // the last agent message the visitor has seen
  var seenUpTo = Number(load("seen", 0)) || 0; // the last visitor message an agent has seen
  var siteIdentity = null; // set by the site through __helpdeskWidget.identify()

  function asArray(value) { return Array.isArray(value) ? value : []; }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function codePoints(text) { return Array.from(text).length; }

  // --- Colours: the brand colour with a text colour that passes WCAG AA on it -------------
  function luminance(hex) {
    var rgb = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function setBrand(color) {
    if (!/^#[0-9a-fA-F]{6}$/.test(color || "")) color = "#2f54d6";
    var ink = "#111827";
    var on = contrast(color, "#ffffff") >= contrast(color, ink) ? "#ffffff" : ink;
    // A focus ring on white needs 3:1 at least; a pale brand colour gets ink.
    var ring = contrast(color, "#ffffff") >= 3 ? color : "#1b2230";
    // Through the CSSOM, not a style attribute: a strict CSP allows this.
    wrap.style.setProperty("--brand", color);
    wrap.style.setProperty("--on-brand", on);
    wrap.style.setProperty("--ring", ring);
  }

  // --- Styles (inside the shadow root only) ----------------------------------------------
  var CSS = [
    ":host{all:initial!important;display:block!important;position:static!important;visibility:visible!important;opacity:1!important}",
    ".hw{--font:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",\"Noto Sans\",Arial,sans-serif,\"Apple Color Emoji\",\"Segoe UI Emoji\",\"Noto Color Emoji\";--text:#1b2230;--text-2:#3d4656;--muted:#5d6676;--border:#e2e5ea;--surface-2:#f5f6f8;--agent-bubble:#eef0f4;--danger:#b42318;--danger-soft:#fdecea;",
    "font:15px/1.45 var(--font);color:var(--text);-webkit-font-smoothing:antialiased;text-align:left;direction:ltr}",
    ".hw *,.hw *::before,.hw *::after{box-sizing:border-box}",
    ".hw [hidden]{display:none!important}",
    ".hw :focus{outline:none}",
    ".hw :focus-visible{outline:3px solid var(--ring);outline-offset:2px}",
    ".sr{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    "button,input,textarea{font:inherit;color:inherit;margin:0}",
    "button{cursor:pointer;-webkit-tap-highlight-color:transparent}",
    "svg{display:block;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}",
    // Launcher
    ".launcher{position:fixed;right:calc(20px + env(safe-area-inset-right,0px));bottom:calc(20px + env(safe-area-inset-bottom,0px));z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;padding:0;display:flex;align-items:center;justify-content:center;background:var(--brand);color:var(--on-brand);box-shadow:0 6px 20px rgba(16,24,40,.24),0 2px 4px rgba(16,24,40,.12);transition:transform .15s ease}",
    ".launcher:hover{transform:scale(1.05)}",
    ".launcher svg{width:26px;height:26px}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:var(--danger);color:#fff;border:2px solid #fff;font:700 12px/18px var(--font);text-align:center}",
    // Panel
    ".panel{position:fixed;right:calc(20px + env(safe-area-inset-right,0px));bottom:calc(92px + env(safe-area-inset-bottom,0px));z-index:2147483001;width:370px;height:560px;max-height:calc(100vh - 112px);max-width:calc(100vw - 40px);display:flex;flex-direction:column;overflow:hidden;background:#fff;border-radius:14px;box-shadow:0 12px 32px rgba(16,24,40,.18),0 2px 6px rgba(16,24,40,.08);border:1px solid rgba(16,24,40,.06)}",
    ".head{display:flex;align-items:center;gap:12px;padding:14px 12px 14px 16px;background:var(--brand);color:var(--on-brand);flex:none}",
    ".head :focus-visible{outline-color:var(--on-brand)}",
    ".head-avatar{width:36px;height:36px;border-radius:50%;flex:none;display:flex;align-items:center;justify-content:center;font:700 14px/1 var(--font);background:rgba(255,255,255,.2);color:inherit}",
    ".head-text{flex:1;min-width:0}",
    ".title{margin:0;font:600 16px/1.3 var(--font);color:inherit;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".status{margin:2px 0 0;font:13px/1.3 var(--font);color:inherit;opacity:.92;display:flex;align-items:center;gap:6px}",
    ".dot{width:8px;height:8px;border-radius:50%;background:#9aa3b2;flex:none}.dot.on{background:#22c55e;box-shadow:0 0 0 2px rgba(255,255,255,.6)}",
    ".icon-btn{width:40px;height:40px;flex:none;border:0;border-radius:10px;background:transparent;color:inherit;display:flex;align-items:center;justify-content:center;padding:0}",
    ".icon-btn:hover{background:rgba(127,127,127,.16)}",
    ".icon-btn svg{width:22px;height:22px}",
    ".body{flex:1;min-height:0;overflow-y:auto;overscroll-behavior:contain;padding:16px 14px 8px;background:#fff}",
    ".log{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:2px}",
    ".row{display:flex;align-items:flex-end;gap:8px;max-width:100%}",
    ".row.first{margin-top:10px}.row:first-child{margin-top:0}",
    ".row.visitor{justify-content:flex-end}",
    ".avatar{width:28px;height:28px;border-radius:50%;flex:none;display:flex;align-items:center;justify-content:center;font:700 11px/1 var(--font);background:#e4e8f0;color:var(--text-2);margin-bottom:20px}",
    ".avatar.blank{visibility:hidden}",
    ".stack{display:flex;flex-direction:column;min-width:0;max-width:80%}",
    ".visitor .stack{align-items:flex-end}",
    ".who{font:600 12px/1.3 var(--font);color:var(--muted);margin:0 0 3px 2px}",
    ".bubble{padding:9px 13px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;font-size:15px;line-height:1.45}",
    ".agent .bubble{background:var(--agent-bubble);color:var(--text);border-bottom-left-radius:5px}",
    ".visitor .bubble{background:var(--brand);color:var(--on-brand);border-bottom-right-radius:5px}",
    ".pending .bubble{opacity:.72}",
    ".bubble a{color:inherit;text-decoration:underline;text-underline-offset:2px}",
    ".agent .bubble a{color:#22409f}",
    ".bubble a:focus-visible{outline-color:currentColor}",
    ".files{display:flex;flex-direction:column;gap:6px;margin-top:6px}",
    ".files img{display:block;max-width:100%;max-height:200px;border-radius:10px}",
    ".files progress{display:block;width:100%;height:4px}",
    ".meta{font:12px/1.3 var(--font);color:var(--muted);margin:3px 4px 4px;min-height:16px}",
    ".typing{display:flex;align-items:center;gap:8px;padding:4px 14px 6px;font:13px/1.3 var(--font);color:var(--muted);flex:none;background:#fff}",
    ".dots{display:inline-flex;gap:3px}.dots i{width:6px;height:6px;border-radius:50%;background:#9aa3b2;animation:hw-blink 1.2s infinite ease-in-out}",
    ".dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}",
    "@keyframes hw-blink{0%,80%,100%{opacity:.3}40%{opacity:1}}",
    ".notice{margin:0 12px 8px;padding:8px 12px;border-radius:8px;background:var(--danger-soft);color:var(--danger);font:13px/1.4 var(--font);flex:none}",
    // Pre-chat form
    ".prechat{padding:14px 16px 16px;border-top:1px solid var(--border);display:flex;flex-direction:column;gap:10px;flex:none;background:#fff}",
    ".prechat p{margin:0;font-size:14px;color:var(--text-2)}",
    ".field{display:flex;flex-direction:column;gap:4px}",
    ".field label{font:600 13px/1.3 var(--font);color:var(--text-2)}",
    ".field input{width:100%;height:40px;padding:8px 11px;border:1px solid #cdd2da;border-radius:8px;background:#fff;font-size:15px}",
    ".hw .field input:focus-visible{outline:2px solid var(--ring);outline-offset:0;border-color:var(--ring)}",
    ".privacy{font:12px/1.4 var(--font)!important;color:var(--muted)!important}",
    ".privacy a{color:#22409f}",
    ".primary{height:42px;border:0;border-radius:10px;background:var(--brand);color:var(--on-brand);font-weight:600;font-size:15px}",
    ".primary:hover{filter:brightness(.95)}",
    // Composer
    ".composer{border-top:1px solid var(--border);padding:10px 12px 12px;flex:none;background:#fff}",
    ".compose-row{display:flex;align-items:flex-end;gap:6px}",
    ".compose-row .icon-btn{color:var(--muted);width:40px;height:40px}",
    ".compose-row .icon-btn:hover{color:var(--text);background:var(--surface-2)}",
    "textarea{flex:1;min-width:0;resize:none;height:40px;max-height:128px;padding:9px 12px;border:1px solid #cdd2da;border-radius:10px;background:#fff;font-size:15px;line-height:20px;overflow-y:auto}",
    "textarea::placeholder{color:var(--muted);opacity:1}",
    ".hw textarea:focus-visible{outline:2px solid var(--ring);outline-offset:0;border-color:var(--ring)}",
    ".send{width:40px;height:40px;flex:none;border:0;border-radius:10px;padding:0;display:flex;align-items:center;justify-content:center;background:var(--brand);color:var(--on-brand)}",
    ".send svg{width:20px;height:20px}",
    ".send:disabled{background:#e4e8f0;color:#5d6676;cursor:default}",
    ".count{font:12px/1.3 var(--font);color:var(--muted);text-align:right;margin:4px 2px 0}",
    ".count.over{color:var(--danger);font-weight:600}",
    // Self-service: articles as the visitor types, the reader, the away card
    ".assist{border-top:1px solid var(--border);padding:10px 12px 0;background:#fff;flex:none;max-height:42%;overflow-y:auto}",
    ".assist h3{margin:0;font:600 12px/1.3 var(--font);color:var(--muted);letter-spacing:.02em}",
    ".assist-head{display:flex;align-items:center;justify-content:space-between;gap:8px;margin-bottom:4px}",
    ".assist.bare .assist-head{justify-content:flex-end;margin:0}.assist.bare{padding-top:2px}",
    ".assist .articles{padding-bottom:8px}",
    ".articles{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}",
    ".art{display:block;width:100%;text-align:left;border:1px solid var(--border);border-radius:10px;background:var(--surface-2);padding:8px 10px}",
    ".art:hover{border-color:var(--ring)}",
    ".art b{display:block;font:600 14px/1.3 var(--font);color:var(--text)}",
    ".art span{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;font:13px/1.35 var(--font);color:var(--muted);margin-top:2px}",
    ".person,.backlink{display:inline-flex;align-items:center;gap:6px;border:0;background:none;color:#22409f;font:600 14px/1.3 var(--font);padding:6px 0;text-decoration:underline;text-underline-offset:2px}",
    ".card{background:#fff;border:1px solid var(--border);border-radius:14px;border-bottom-left-radius:5px;padding:10px 12px}",
    ".card p{margin:0 0 8px;font-size:14px}",
    ".card .articles{margin-bottom:4px}",
    ".actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}",
    ".secondary{min-height:36px;padding:6px 12px;border:1px solid #cdd2da;border-radius:10px;background:#fff;font-weight:600;font-size:14px;color:var(--text)}",
    ".secondary:hover{background:var(--surface-2)}",
    ".actions .primary{height:auto;min-height:36px;padding:6px 12px;font-size:14px}",
    ".flowline{margin:12px auto 4px;text-align:center;font:13px/1.4 var(--font);color:var(--muted);max-width:92%}",
    ".away{margin:12px 0 4px;border:1px solid var(--border);background:var(--surface-2);border-radius:12px;padding:12px;font-size:14px}",
    ".away p{margin:0}.away p+p,.away form{margin-top:8px}",
    ".away form{display:flex;gap:6px}",
    ".away input{flex:1;min-width:0;height:40px;padding:8px 11px;border:1px solid #cdd2da;border-radius:8px;font-size:15px;background:#fff}",
    ".hw .away input:focus-visible{outline:2px solid var(--ring);outline-offset:0;border-color:var(--ring)}",
    ".away .primary{padding:0 14px;height:40px}",
    ".reader{flex:1;min-height:0;overflow-y:auto;overscroll-behavior:contain;padding:10px 16px 16px;background:#fff}",
    ".reader h3{font:600 18px/1.3 var(--font);margin:8px 0 10px}",
    ".reader p,.reader li{font-size:15px;line-height:1.5;margin:0 0 10px;overflow-wrap:anywhere}",
    ".reader ul{padding-left:20px;margin:0 0 10px}",
    ".ask{border-top:1px solid var(--border);padding-top:12px;margin-top:14px}",
    ".ask p{margin:0;font-weight:600;font-size:14px}",
    // Phones: a full-screen sheet
    "@media (max-width:480px){",
    ".panel{inset:0;right:0;bottom:0;width:100%;height:100%;max-width:none;max-height:none;border-radius:0;border:0}",
    ".head{padding-top:calc(12px + env(safe-area-inset-top,0px));padding-left:calc(16px + env(safe-area-inset-left,0px));padding-right:calc(10px + env(safe-area-inset-right,0px))}",
    ".composer,.prechat,.reader{padding-bottom:calc(12px + env(safe-area-inset-bottom,0px));padding-left:calc(12px + env(safe-area-inset-left,0px));padding-right:calc(12px + env(safe-area-inset-right,0px))}",
    ".launcher{right:calc(16px + env(safe-area-inset-right,0px));bottom:calc(16px + env(safe-area-inset-bottom,0px))}",
    ".hw.is-open .launcher{display:none}",
    "textarea,.field input,.away input{font-size:16px}", // iOS zooms into smaller inputs
    "}",
    "@media (prefers-reduced-motion:reduce){.launcher{transition:none}.dots i{animation:none;opacity:.7}}"
  ].join("\n");

  var ICONS = {
    chat: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/></svg>',
    close: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>',
    send: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 12l16-8-6 16-2.5-6.5z"/><path d="M11.5 13.5L20 4"/></svg>',
    clip: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M20 11.5l-8.1 8.1a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8"/></svg>',
    camera: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 8h3l2-3h6l2 3h3v11H4z"/><circle cx="12" cy="13" r="3.5"/></svg>'
  };

  // --- DOM --------------------------------------------------------------------------------
  // h("div", {class: "x", text: "y", onclick: f}, [children]): attributes and text only.
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    for (var name in attrs || {}) {
      var value = attrs[name];
      if (value == null || value === false) continue;
      if (name === "text") el.textContent = value;
      else if (name.slice(0, 2) === "on") el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : value);
    }
    (children || []).forEach(function (child) {
      if (child != null) el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return el;
  }
  function icon(name) {
    var span = h("span", { "aria-hidden": "true" });
    span.innerHTML = ICONS[name]; // our own constant markup, never message text
    return span.firstChild;
  }

  var host, root, wrap, launcher, badge, panel, title, statusLine, statusDot, body, log, typingRow, typingText;
  var notice, prechat, composer, textarea, sendButton, counter, live, fileInput, cameraInput;
  var assist, assistList, flowLine, awayBox, reader;
  var isOpen = false;

  function build() {
    host = h("div", { "data-helpdesk-widget": S.key });
    root = host.attachShadow({ mode: "open" });
    // A constructed sheet passes a site's strict style-src CSP; <style> is the fallback.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(h("style", { text: CSS }));
    }
    wrap = h("div", { class: "hw", lang: lang });
    setBrand(S.color);

    live = h("div", { class: "sr", "aria-live": "polite", role: "status" });

    title = h("h2", { class: "title", id: "hw-title", text: S.name });
    statusDot = h("span", { class: "dot", "aria-hidden": "true" });
    statusLine = h("span", { text: t("connecting") });
    var closeButton = h("button", { type: "button", class: "icon-btn close", "aria-label": t("close"), onclick: function () { close(); } }, [icon("close")]);
    var header = h("header", { class: "head" }, [
      h("span", { class: "head-avatar", "aria-hidden": "true", text: initials(S.name) }),
      h("div", { class: "head-text" }, [title, h("p", { class: "status" }, [statusDot, statusLine])]),
      closeButton
    ]);

    log = h("ol", { class: "log", "aria-label": t("conversation") });
    flowLine = h("p", { class: "flowline", role: "status", hidden: true });
    awayBox = h("div", { class: "away", hidden: true });
    body = h("div", { class: "body" }, [log, flowLine, awayBox]);
    reader = h("article", { class: "reader", hidden: true, "aria-label": t("article"), tabindex: "-1" });
    assist = buildAssist();
    typingText = h("span");
    typingRow = h("div", { class: "typing", hidden: true }, [
      h("span", { class: "dots", "aria-hidden": "true" }, [h("i"), h("i"), h("i")]), typingText
    ]);
    notice = h("div", { class: "notice", role: "alert", hidden: true });

    prechat = buildPrechat();
    composer = buildComposer();

    panel = h("section", {
      class: "panel", id: "hw-panel", role: "dialog", "aria-label": t("dialog", { name: S.name }),
      tabindex: "-1", hidden: true
    }, [header, body, reader, typingRow, notice, prechat, assist, composer]);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.stopPropagation(); if (!reader.hidden) closeReader(); else close(); }
    });

    badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    launcher = h("button", {
      type: "button", class: "launcher", "aria-controls": "hw-panel", "aria-expanded": "false",
      "aria-label": t("open"), onclick: function () { if (isOpen) close(); else open(); }
    }, [icon("chat"), badge]);

    wrap.appendChild(live);
    wrap.appendChild(panel);
    wrap.appendChild(launcher);
    root.appendChild(wrap);
    document.body.appendChild(host);
  }

  function buildPrechat() {
    var nameInput = h("input", { id: "hw-name", name: "name", autocomplete: "name", required: true, maxlength: "200" });
    var emailInput = h("input", { id: "hw-email", name: "email", type: "email", autocomplete: "email", required: true, maxlength: "254" });
    var privacy = h("p", { class: "privacy" }, [t("privacy")]);
    if (isHttpUrl(S.privacy_url)) {
      privacy.appendChild(document.createTextNode(" "));
      privacy.appendChild(h("a", { href: S.privacy_url, target: "_blank", rel: "noopener noreferrer", text: t("privacyLink") }));
    }
    return h("form", {
      class: "prechat", hidden: true,
      onsubmit: function (event) {
        event.preventDefault();
        var name = nameInput.value.trim();
        var email = emailInput.value.trim();
        if (!name || !emailInput.checkValidity()) return;
        profile = { name: name.slice(0, 200), email: email, sent: false };
        save("profile", profile);
        sendIdentity();
        render();
        textarea.focus();
      }
    }, [
      h("p", { text: t("prechatIntro") }),
      h("div", { class: "field" }, [h("label", { for: "hw-name", text: t("name") }), nameInput]),
      h("div", { class: "field" }, [h("label", { for: "hw-email", text: t("email") }), emailInput]),
      privacy,
      h("button", { type: "submit", class: "primary", text: t("start") })
    ]);
  }

  function buildComposer() {
    textarea = h("textarea", { id: "hw-text", rows: "1", "aria-label": t("message"), placeholder: t("placeholder"), enterkeyhint: "send" });
    sendButton = h("button", { type: "submit", class: "send", "aria-label": t("send"), disabled: true }, [icon("send")]);
    counter = h("p", { class: "count", hidden: true, "aria-live": "polite" });
    // Uploads wait for a server endpoint: the buttons show only when settings say so.
    fileInput = h("input", { type: "file", accept: "image/*,application/pdf", hidden: true, tabindex: "-1", onchange: pickedFiles });
    cameraInput = h("input", { type: "file", accept: "image/*", capture: "environment", hidden: true, tabindex: "-1", onchange: pickedFiles });
    var attach = h("button", { type: "button", class: "icon-btn attach", "aria-label": t("attach"), title: t("attach"), hidden: !S.uploads, onclick: function () { fileInput.click(); } }, [icon("clip")]);
    var camera = h("button", { type: "button", class: "icon-btn camera", "aria-label": t("camera"), title: t("camera"), hidden: !(S.uploads && isTouch()), onclick: function () { cameraInput.click(); } }, [icon("camera")]);

    textarea.addEventListener("input", function () { grow(); updateCounter(); typed(); typedQuestion(); });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    return h("form", { class: "composer", onsubmit: function (event) { event.preventDefault(); submit(); } }, [
      h("div", { class: "compose-row" }, [attach, camera, fileInput, cameraInput, textarea, sendButton]),
      counter
    ]);
  }

  function isTouch() {
    return !!(window.matchMedia && window.matchMedia("(pointer: coarse)").matches);
  }
  function isHttpUrl(value) {
    try { var u = new URL(value); return u.protocol === "http:" || u.protocol === "https:"; } catch (e) { return false; }
  }
  function initials(name) {
    var words = String(name || "").trim().split(/\s+/).filter(Boolean);
    var letters = words.slice(0, 2).map(function (w) { return Array.from(w)[0]; }).join("");
    return (letters || "?").toUpperCase();
  }

  function grow() {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight + 2, 128) + "px";
  }

  function updateCounter() {
    var n = codePoints(textarea.value);
    var over = n > MAX_CHARS;
    counter.hidden = n < MAX_CHARS - 500;
    counter.className = over ? "count over" : "count";
    counter.textContent = over ? t("tooLong", { n: n, max: MAX_CHARS }) : n + " / " + MAX_CHARS;
    sendButton.disabled = over || !textarea.value.trim();
  }

  // --- Links: text nodes, and <a> only for http(s) URLs ----------------------------------
  var URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  function linkify(text, parent) {
    var last = 0, match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(text))) {
      var url = match[0];
      // A sentence's full stop or closing bracket is not part of the link.
      while (/[.,;:!?'"\]}]$/.test(url) || (/\)$/.test(url) && count(url, "(") < count(url, ")"))) url = url.slice(0, -1);
      if (!isHttpUrl(url)) continue;
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      parent.appendChild(h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", text: url }));
      last = match.index + url.length;
      URL_RE.lastIndex = last;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function count(text, ch) { return text.split(ch).length - 1; }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    var today = date.toDateString() === new Date().toDateString();
    var options = today ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    try { return new Intl.DateTimeFormat(dateLocale, options).format(date); } catch (e) { return date.toLocaleString(); }
  }

  // --- Rendering ---------------------------------------------------------------------------
  function render() {
    var nearBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 80;
    log.textContent = "";
    log.appendChild(renderRow({ author: "agent", name: S.name, body: greetingText(), greeting: true }, true, ""));
    var lastVisitor = null;
    messages.forEach(function (m) { if (m.author === "visitor") lastVisitor = m; });
    var previous = null;
    messages.forEach(function (m) {
      var first = !previous || previous.author !== m.author || previous.name !== m.name || previous.greeting;
      var state = "";
      if (m.author === "visitor") {
        if (!m.id) state = m.stored ? t("sent") : t("sending");
        else if (m === lastVisitor) state = m.id <= seenUpTo ? t("seen") : t("sent");
      }
      log.appendChild(renderRow(m, first, state));
      previous = m;
      var offer = m.id && renderOffer(m.id);
      if (offer) {
        log.appendChild(offer);
        previous = { author: "agent", greeting: true };
      }
    });
    var showPrechat = !!S.prechat && !profile && !messages.length && !outbox.length;
    prechat.hidden = !showPrechat;
    composer.hidden = showPrechat || !reader.hidden;
    renderAssist();
    if (nearBottom || !isOpen) body.scrollTop = body.scrollHeight;
    updateLauncher();
    if (isOpen) markRead();
  }

  function renderRow(m, first, state) {
    var agent = m.author !== "visitor";
    var name = agent ? m.name || t("support") : t("you");
    var bubble = h("div", { class: "bubble" });
    linkify(String(m.body || ""), bubble);
    var up = m.upload;
    var files = (m.attachments || []).filter(function (a) { return a && (a.name || isHttpUrl(a.url)); });
    if (files.length || up) {
      var list = h("div", { class: "files" });
      files.forEach(function (a) {
        var label = a.name || t("attachment");
        // No link offered (an empty url): the name only.
        if (!isHttpUrl(a.url)) return list.appendChild(h("span", { text: label }));
        var link = h("a", { href: a.url, target: "_blank", rel: "noopener noreferrer nofollow" });
        if (/^image\/(jpeg|png|gif|webp)$/.test(a.content_type || "")) link.appendChild(h("img", { src: a.url, alt: label, loading: "lazy" }));
        else link.textContent = label;
        list.appendChild(link);
      });
      // A file on its way: a local preview (or its name) and the progress.
      if (up) {
        list.appendChild(up.preview ? h("img", { src: up.preview, alt: up.name }) : h("span", { text: up.name }));
        up.bar = h("progress", { max: "100", value: String(up.progress), "aria-label": t("sending") });
        list.appendChild(up.bar);
      }
      bubble.appendChild(list);
    }
    var stack = h("div", { class: "stack" }, [
      agent && first ? h("div", { class: "who", text: name }) : h("span", { class: "sr", text: name + ":" }),
      bubble,
      h("div", { class: "meta" }, [
        m.created_at ? h("time", { datetime: m.created_at, text: formatTime(m.created_at) }) : null,
        m.created_at && state ? " · " : null,
        state ? h("span", { class: "state", text: state }) : null
      ])
    ]);
    var cls = "row " + (agent ? "agent" : "visitor") + (first ? " first" : "") + (m.id || agent ? "" : " pending");
    var children = agent ? [h("span", { class: "avatar" + (first ? "" : " blank"), "aria-hidden": "true", text: initials(name) }), stack] : [stack];
    var row = h("li", { class: cls }, children);
    if (m.id) row.setAttribute("data-id", m.id);
    if (m.client_id) row.setAttribute("data-client-id", m.client_id);
    return row;
  }

  function unreadCount() {
    return messages.filter(function (m) { return m.author === "agent" && m.id > readMark; }).length;
  }

  function updateLauncher() {
    var n = isOpen ? 0 : unreadCount();
    badge.hidden = !n;
    badge.textContent = n > 9 ? "9+" : String(n);
    launcher.setAttribute("aria-expanded", String(isOpen));
    launcher.setAttribute("aria-label", isOpen ? t("close") : n ? t("unread", { n: n }) : t("open"));
    launcher.replaceChild(icon(isOpen ? "close" : "chat"), launcher.firstChild);
    wrap.classList.toggle("is-open", isOpen);
  }

  function setStatus() {
    // The HTTP fallback counts as connected only while its requests get answers.
    var connected = transport === "socket" || (transport === "http" && httpReachable);
    statusDot.className = "dot" + (connected && agentsOnline ? " on" : "");
    statusLine.textContent = transport === "refused" ? t("unavailable")
      : !connected && (token || isOpen) ? t("connecting") : agentsOnline ? t("online") : t("away");
  }

  var noticeTimer = null;
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { notice.hidden = true; }, 8000);
  }

  var typingTimer = null;
  function showTyping(state, name) {
    clearTimeout(typingTimer);
    typingRow.hidden = !state;
    typingText.textContent = name ? t("typing", { name: name }) : t("someoneTyping");
    // A lost "stopped typing" frame must not leave the indicator on for ever.
    if (state) typingTimer = setTimeout(function () { typingRow.hidden = true; }, 10000);
  }

  function announce(m) {
    live.textContent = t("announce", { name: m.name || t("support"), text: String(m.body || "").slice(0, 300) });
  }

  // --- Open and close ---------------------------------------------------------------------
  function open() {
    if (isOpen) return;
    isOpen = true;
    panel.hidden = false;
    var store = session();
    if (store) save("open", true, store);
    render();
    body.scrollTop = body.scrollHeight;
    connect();
    setStatus();
    // Into the panel: the first field, or on a phone the panel itself (no keyboard pop-up).
    var target = !prechat.hidden ? prechat.querySelector("input") : isTouch() ? panel : textarea;
    target.focus();
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    var store = session();
    if (store) save("open", false, store);
    updateLauncher();
    launcher.focus();
  }

  function markRead() {
    if (document.visibilityState === "hidden") return;
    var top = 0;
    messages.forEach(function (m) { if (m.author === "agent" && m.id > top) top = m.id; });
    if (top > readMark) {
      readMark = top;
      save("read", readMark);
      updateLauncher();
    }
    if (top > readSent && sendFrame({ type: "read", up_to: top })) readSent = top;
  }
  var readSent = 0;

  // --- Messages and the outbox -------------------------------------------------------------
  function lastId() {
    var top = 0;
    messages.forEach(function (m) { if (m.id > top) top = m.id; });
    return top;
  }

  function sortMessages() {
    // Stored ones by id, then the ones still on their way, in the order written.
    messages.sort(function (a, b) { return (a.id || Infinity) - (b.id || Infinity); });
  }

  function persist() {
    save("messages", messages.filter(function (m) { return m.id; }).slice(-KEEP_MESSAGES));
    save("outbox", outbox);
  }

  // A message from the server (frame, history or poll). Returns true when it is new.
  function upsert(raw) {
    if (!raw || typeof raw.id !== "number") return false;
    var m = {
      id: raw.id, body: String(raw.body || ""), author: raw.author === "visitor" ? "visitor" : "agent",
      name: String(raw.name || ""), created_at: raw.created_at || "", client_id: raw.client_id || undefined,
      attachments: Array.isArray(raw.attachments) ? raw.attachments : []
    };
    for (var i = 0; i < messages.length; i++) {
      if (messages[i].id === m.id) { messages[i] = m; return false; }
    }
    if (m.author === "visitor") {
      for (var j = 0; j < messages.length; j++) {
        var mine = messages[j];
        // The HTTP history has no client ids: a stored one that was never acked matches by text.
        if (!mine.id && (m.client_id ? mine.client_id === m.client_id : mine.stored && mine.body === m.body)) {
          messages[j] = m;
          dropFromOutbox(mine.client_id);
          return false;
        }
      }
    }
    messages.push(m);
    return true;
  }

  // The first sync of a visitor without a cache brings old messages: no announcing those.
  var synced = messages.length > 0;
  function receive(list) {
    var fresh = [];
    list.forEach(function (raw) { if (upsert(raw)) fresh.push(raw); });
    sortMessages();
    persist();
    render();
    fresh.forEach(function (m) {
      if (m.author !== "visitor") {
        if (synced) announce(m);
        showTyping(false);
        personAnswered();
      }
    });
    synced = true;
  }

  function acknowledge(clientId, id) {
    var pending = null;
    messages.forEach(function (m) { if (!m.id && m.client_id === clientId) pending = m; });
    dropFromOutbox(clientId);
    if (pending && typeof id === "number") {
      var known = messages.some(function (m) { return m.id === id; });
      if (known) messages.splice(messages.indexOf(pending), 1);
      else pending.id = id;
    } else if (pending) {
      pending.stored = true; // stored, its id comes with the next history
    }
    sortMessages();
    persist();
    render();
  }

  function dropFromOutbox(clientId) {
    outbox = outbox.filter(function (item) { return item.client_id !== clientId; });
  }

  // A refused message goes back into the composer with a note; it is not lost.
  function refuse(clientId, code, detail) {
    var item = null;
    outbox.forEach(function (o) { if (o.client_id === clientId) item = o; });
    if (code === "unavailable") {
      setTimeout(flush, 5000);
      return;
    }
    if (item) {
      dropFromOutbox(clientId);
      messages = messages.filter(function (m) { return m.id || m.client_id !== clientId; });
      persist();
      render();
      if (code !== "empty") {
        textarea.value = item.body + (textarea.value ? "\n" + textarea.value : "");
        grow();
        updateCounter();
      }
    }
    if (code === "too_large" || code === "rate_limited") showNotice(t(code));
    else if (code !== "empty" && item) showNotice(detail || t("failed"));
  }

  function submit() {
    var text = textarea.value;
    if (!text.trim()) return;
    if (codePoints(text) > MAX_CHARS) {
      showNotice(t("too_large"));
      return;
    }
    var item = selfServiceFields({ client_id: uuid(), body: text.trim(), created_at: new Date().toISOString() });
    suggestions = [];
    asked = "";
    if (flow === "write" || flow === "glad") setFlow("");
    if (profile && profile.name) item.name = profile.name;
    outbox.push(item);
    messages.push({ client_id: item.client_id, body: item.body, author: "visitor", name: "", created_at: item.created_at, attachments: [] });
    textarea.value = "";
    grow();
    updateCounter();
    notice.hidden = true;
    persist();
    body.scrollTop = body.scrollHeight;
    render();
    body.scrollTop = body.scrollHeight;
    stopTyping();
    connect();
    flush();
  }

  // A photo or file (POST upload_url, docs/widget-protocol.md). Checked here first for a
  // friendly notice; the server decides by the bytes. Shown at once with a preview and
  // the progress; not kept in the outbox: a failure says so and the visitor picks it again.
  var FILE_NAME = /\.(jpe?g|png|gif|webp|hei[cf]|pdf)$/i;
  function sendAttachment(file) {
    if (!S.upload_url) {
      showNotice(t("uploadsOff"));
      return Promise.resolve(false);
    }
    var max = S.upload_max_bytes || 10485760;
    if (file.size > max) {
      showNotice(t("fileTooBig", { mb: Math.round(max / 104857.6) / 10 }));
      return Promise.resolve(false);
    }
    var types = S.upload_types || [];
    // Some phones give no type (or an odd one) for HEIC photos: the name decides then.
    if (!file.size || (types.indexOf(file.type) < 0 && !FILE_NAME.test(file.name || ""))) {
      showNotice(t("fileType"));
      return Promise.resolve(false);
    }
    var preview = null;
    if (/^image\/(jpeg|png|gif|webp)$/.test(file.type) && window.URL && URL.createObjectURL) preview = URL.createObjectURL(file);
    var m = {
      client_id: uuid(), body: "", author: "visitor", name: "", created_at: new Date().toISOString(), attachments: [],
      upload: { name: file.name || t("attachment"), preview: preview, progress: 0 }
    };
    messages.push(m);
    notice.hidden = true;
    render();
    body.scrollTop = body.scrollHeight;
    var form = new FormData();
    form.append("file", file, file.name || "photo");
    form.append("client_id", m.client_id);
    if (profile && profile.name) form.append("name", profile.name);
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      function done(ok, data) {
        if (preview) URL.revokeObjectURL(preview);
        delete m.upload;
        if (data && data.visitor_token) {
          token = data.visitor_token;
          save("token", token);
        }
        if (ok) {
          if (Array.isArray(data.attachments) && !m.attachments.length) m.attachments = data.attachments;
          acknowledge(m.client_id, data.message);
        } else {
          messages = messages.filter(function (x) { return x !== m; });
          render();
          showNotice((data && data.detail) || t("fileFailed"));
        }
        resolve(ok);
      }
      xhr.open("POST", S.upload_url);
      if (token) xhr.setRequestHeader("X-Visitor-Token", token);
      xhr.upload.onprogress = function (event) {
        if (!event.lengthComputable) return;
        m.upload.progress = Math.round((event.loaded / event.total) * 100);
        if (m.upload.bar) m.upload.bar.value = m.upload.progress;
      };
      xhr.onload = function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText) || {}; } catch (e) { /* not JSON */ }
        done(xhr.status >= 200 && xhr.status < 300, data);
      };
      xhr.onerror = xhr.onabort = function () { done(false, null); };
      xhr.send(form);
    });
  }
  function pickedFiles(event) {
    Array.prototype.forEach.call(event.target.files || [], function (file) { api.sendAttachment(file); });
    event.target.value = "";
  }

  // --- Self-service first, a person on request, email when nobody is in ---------------------
  // As the visitor types, matching help-centre articles are offered (frame "suggest"); one
  // opens in the chat's reader. "Talk to a person" hands the chat over; a first question the
  // server holds for articles ("suggestions") is answered by them or handed over. When
  // nobody can answer live ("away") the visitor is told when to expect a reply and asked
  // for an email address to be answered at.
  var SUGGEST_AFTER_MS = 350;
  var selfService = !!S.self_service;
  var handedOver = !!load("handed", false);
  var held = !!load("held", false);
  var wantPerson = !!load("wantPerson", false);
  var shownIds = asArray(load("shown", []));
  var openedIds = asArray(load("opened", []));
  var offers = load("offers", {}) || {}; // message id -> the articles offered for it
  var away = load("away", null); // {reply_by, within_hours, email}
  var flow = load("flow", ""); // the line after the conversation: "handed", "glad", "write"
  var suggestions = [], asked = "", suggestTimer = null;

  function remember(list, name, id) {
    if (typeof id !== "number" || list.indexOf(id) >= 0) return;
    list.push(id);
    if (list.length > 10) list.shift();
    save(name, list);
  }
  function setFlow(value) { flow = value; save("flow", flow); renderFlow(); }
  function offering() { return selfService && !handedOver; }

  function buildAssist() {
    assistList = h("ul", { class: "articles" });
    // The person button first: always in view, however long the list.
    return h("div", { class: "assist", hidden: true, role: "region", "aria-label": t("suggested") }, [
      h("div", { class: "assist-head" }, [
        h("h3", { text: t("suggested"), "aria-hidden": "true" }),
        h("button", { type: "button", class: "person", text: t("talkToPerson"), onclick: talkToPerson })
      ]),
      assistList
    ]);
  }

  function articleButton(a) {
    return h("li", null, [h("button", { type: "button", class: "art", onclick: function () { openArticle(a); } }, [
      h("b", { text: String(a.title || "") }),
      a.excerpt ? h("span", { text: String(a.excerpt) }) : null
    ])]);
  }

  function renderAssist() {
    var show = offering() && !composer.hidden && reader.hidden;
    assist.hidden = !show;
    if (!show) return;
    assistList.textContent = "";
    suggestions.forEach(function (a) { assistList.appendChild(articleButton(a)); });
    assist.querySelector("h3").hidden = !suggestions.length;
    assistList.hidden = !suggestions.length;
    assist.classList.toggle("bare", !suggestions.length);
  }

  function typedQuestion() {
    if (!offering()) return;
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(function () {
      var q = textarea.value.trim().slice(0, 300);
      if (q === asked) return;
      asked = q;
      if (codePoints(q) < 4) { suggestions = []; renderAssist(); return; }
      if (sendFrame({ type: "suggest", q: q, language: lang }) || !S.articles_url) return;
      httpGet(S.articles_url + "?language=" + lang + "&q=" + encodeURIComponent(q), function (data) {
        gotSuggestions({ q: data.q, articles: data.articles });
      });
    }, SUGGEST_AFTER_MS);
  }

  function gotSuggestions(frame) {
    if (frame.q !== asked || !Array.isArray(frame.articles)) return;
    var before = suggestions.map(function (a) { return a.id; }).join();
    suggestions = frame.articles.slice(0, 3);
    suggestions.forEach(function (a) { remember(shownIds, "shown", a.id); });
    renderAssist();
    if (suggestions.length && suggestions.map(function (a) { return a.id; }).join() !== before) {
      live.textContent = t("suggested") + ": " + suggestions.map(function (a) { return a.title; }).join(", ");
    }
  }

  function openArticle(a) {
    remember(openedIds, "opened", a.id);
    reader.textContent = "";
    reader.appendChild(h("button", { type: "button", class: "backlink", text: "← " + t("back"), onclick: closeReader }));
    reader.appendChild(h("h3", { text: String(a.title || "") }));
    reader.setAttribute("data-article", a.id);
    body.hidden = true;
    reader.hidden = false;
    composer.hidden = true;
    renderAssist();
    reader.focus();
    if (sendFrame({ type: "article", id: a.id })) return;
    httpGet(S.articles_url + "/" + a.id, function (data) { gotArticle({ id: a.id, article: data.article }); });
  }

  // The HTTP fallback's GETs: JSON, or nothing (a failure just shows nothing new).
  function httpGet(url, then) {
    if (!window.fetch) return;
    fetch(url, { headers: headers(false), credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) then(data); })
      .catch(function () { /* offline */ });
  }

  function gotArticle(frame) {
    if (reader.hidden || String(frame.id) !== reader.getAttribute("data-article")) return;
    var a = frame.article;
    if (!a || !Array.isArray(a.paragraphs)) { closeReader(); return; }
    reader.querySelector("h3").textContent = String(a.title || "");
    a.paragraphs.forEach(function (part) {
      if (part && part.kind === "ul" && Array.isArray(part.items)) {
        reader.appendChild(h("ul", null, part.items.map(function (item) { return h("li", { text: String(item) }); })));
      } else if (part && part.text) {
        var p = h("p");
        linkify(String(part.text), p);
        reader.appendChild(p);
      }
    });
    reader.appendChild(h("div", { class: "ask" }, [
      h("p", { text: t("helped") }),
      h("div", { class: "actions" }, [
        h("button", { type: "button", class: "primary", text: t("yesThanks"), onclick: answered }),
        h("button", { type: "button", class: "secondary", text: t("talkToPerson"), onclick: talkToPerson })
      ])
    ]));
  }

  function closeReader() {
    if (reader.hidden) return;
    reader.hidden = true;
    body.hidden = false;
    render();
    textarea.focus();
  }

  // The article answered the question: a held chat is solved; an unsent question is dropped.
  function answered() {
    if (held) sendFrame({ type: "answered", articles: shownIds, opened: openedIds });
    else if (!messages.length) {
      textarea.value = "";
      grow();
      updateCounter();
      suggestions = [];
      asked = "";
    }
    setFlow("glad");
    closeReader();
  }

  var askedPerson = false;
  function talkToPerson() {
    if (messages.length && sendFrame({ type: "handoff", articles: shownIds, opened: openedIds })) {
      askedPerson = true;
      closeReader();
      return;
    }
    // Nothing sent yet (or no socket): the question being typed, else the next one, asks
    // for a person, with the articles seen.
    wantPerson = true;
    save("wantPerson", true);
    closeReader();
    if (textarea.value.trim() && composer.hidden === false) submit();
    else setFlow("write");
  }

  function handedTo(state, explicit) {
    if (state === "no_conversation") { talkToPersonLater(); return; }
    handedOver = true;
    held = false;
    wantPerson = false;
    save("handed", true);
    save("held", false);
    save("wantPerson", false);
    suggestions = [];
    if (explicit) setFlow("handed");
    render();
  }
  function talkToPersonLater() {
    wantPerson = true;
    save("wantPerson", true);
    setFlow("write");
  }

  // What a message tells the server about self-service (docs/widget-protocol.md).
  function selfServiceFields(item) {
    if (!selfService || handedOver) return item;
    if (wantPerson) item.handoff = true;
    if (shownIds.length) item.articles = shownIds.slice();
    if (openedIds.length) item.opened = openedIds.slice();
    item.language = lang;
    return item;
  }

  function renderOffer(messageId) {
    var list = offers[messageId];
    if (!Array.isArray(list) || !list.length) return null;
    var latest = Object.keys(offers).map(Number).sort(function (a, b) { return b - a; })[0] === messageId;
    var card = h("div", { class: "card" }, [
      h("p", { text: t("offerIntro") }),
      h("ul", { class: "articles" }, list.map(articleButton)),
      held && latest ? h("div", { class: "actions" }, [
        h("button", { type: "button", class: "secondary", text: t("answeredIt"), onclick: answered }),
        h("button", { type: "button", class: "primary", text: t("talkToPerson"), onclick: talkToPerson })
      ]) : null
    ]);
    return h("li", { class: "row agent first offer" }, [
      h("span", { class: "avatar", "aria-hidden": "true", text: initials(S.name) }),
      h("div", { class: "stack" }, [h("div", { class: "who", text: S.name }), card])
    ]);
  }

  function renderFlow() {
    var text = flow === "handed" ? t("handedOver") : flow === "glad" ? t("glad") : flow === "write" ? t("writeFirst") : "";
    flowLine.textContent = text;
    flowLine.hidden = !text;
  }

  // Built when the notice changes only: a re-render must not wipe an address being typed.
  function renderAway() {
    awayBox.textContent = "";
    awayBox.hidden = !away;
    if (!away) return;
    var text;
    if (away.reply_by) {
      var when = new Date(away.reply_by);
      var label = isNaN(when.getTime()) ? "" : (function () {
        try {
          return new Intl.DateTimeFormat(dateLocale, { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" }).format(when);
        } catch (e) { return when.toLocaleString(); }
      })();
      text = label ? t("awayUntil", { when: label }) : t("awayLater");
    } else if (away.within_hours) {
      text = t("awayWithin", { n: away.within_hours });
    } else {
      text = t("awayLater");
    }
    awayBox.appendChild(h("p", { text: text }));
    if (away.email) {
      awayBox.appendChild(h("p", { text: t("replyTo", { email: away.email }) }));
      return;
    }
    var input = h("input", { type: "email", name: "email", autocomplete: "email", required: true, maxlength: "254", "aria-label": t("email"), placeholder: t("email") });
    if (profile && profile.email) input.value = profile.email;
    awayBox.appendChild(h("p", { text: t("leaveEmail"), id: "hw-leave" }));
    awayBox.appendChild(h("form", {
      "aria-describedby": "hw-leave",
      onsubmit: function (event) {
        event.preventDefault();
        var email = input.value.trim();
        if (!email || !input.checkValidity()) { showNotice(t("emailInvalid")); return; }
        var frame = { type: "identify", email: email, reply_by_email: true };
        if (profile && profile.name) frame.name = profile.name;
        if (!sendFrame(frame)) showNotice(t("failed"));
      }
    }, [input, h("button", { type: "submit", class: "primary", text: t("emailSend") })]));
  }

  function gotAway(frame) {
    away = { reply_by: frame.reply_by || null, within_hours: frame.within_hours || null, email: frame.email || "" };
    save("away", away);
    renderAway();
    live.textContent = awayBox.firstChild ? awayBox.firstChild.textContent : "";
  }

  // No open chat (a new visitor, or the last chat was solved): articles first again.
  function startAfresh() {
    // Nothing written yet: nothing to forget (a "person, please" waits for the first question).
    if (!messages.length || (!handedOver && !held && !wantPerson && !away && !flow)) return;
    handedOver = held = wantPerson = false;
    away = null;
    offers = {};
    ["handed", "held", "wantPerson"].forEach(function (name) { save(name, false); });
    save("away", null);
    save("offers", offers);
    if (flow !== "glad") setFlow("");
    renderAway();
    render();
  }

  // Someone from the team wrote: the chat is with a person, and no longer away.
  function personAnswered() {
    if (!handedOver || held || away || flow) {
      handedOver = true;
      held = false;
      save("handed", true);
      save("held", false);
      if (away) { away = null; save("away", null); renderAway(); }
      if (flow) setFlow("");
      renderAssist();
    }
  }

  // --- Transport: websocket first, plain HTTP when it cannot connect -------------------------
  var transport = "none"; // "none" | "connecting" | "socket" | "http" | "refused"
  var socket = null, socketFailures = 0, reconnectTimer = null, started = false;
  var pollTimer = null, flushing = false, agentsOnline = false, httpReachable = false;
  var typingSent = 0, typingStopTimer = null;

  function setTransport(value) {
    transport = value;
    if (wrap) {
      wrap.setAttribute("data-transport", value);
      setStatus();
    }
  }

  function connect() {
    started = true;
    if (socket || reconnectTimer || transport === "refused") return;
    if (!("WebSocket" in window)) { startPolling(); return; }
    if (transport === "none") setTransport("connecting");
    var ready = false;
    var sock;
    try {
      sock = new WebSocket(S.socket_url + (token ? "?token=" + encodeURIComponent(token) : ""));
    } catch (e) {
      socketFailed();
      return;
    }
    socket = sock;
    // A proxy may accept the socket and never pass a frame: no session in time is a failure.
    var sessionTimer = null;
    sock.onopen = function () {
      sessionTimer = setTimeout(function () { if (!ready) sock.close(); }, SESSION_TIMEOUT_MS);
    };
    sock.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (!frame || typeof frame !== "object") return;
      if (frame.type === "session") {
        ready = true;
        socketFailures = 0;
        stopPolling();
        setTransport("socket");
      }
      onFrame(frame);
    };
    sock.onclose = function (event) {
      clearTimeout(sessionTimer);
      if (socket !== sock) return;
      socket = null;
      if (event.code === 4403 || event.code === 4404) {
        refused(event.code);
      } else if (ready) {
        setTransport(pollTimer ? "http" : "connecting");
        scheduleReconnect(1000);
      } else {
        socketFailed();
      }
    };
  }

  // The server said no for good (4403: this site is not an allowed origin of the
  // inbox; 4404: no such chat). Retrying, or the HTTP fallback, cannot help.
  function refused(code) {
    stopPolling();
    clearTimeout(reconnectTimer);
    setTransport("refused"); // and so it stays on this page
    if (window.console) {
      console.warn("Helpdesk chat: " + (code === 4403 ? "this site (" + location.origin + ") is not in the chat's allowed origins." : "no active chat has this key."));
    }
  }

  function socketFailed() {
    socketFailures += 1;
    // Three failed connects in a row: websockets are probably blocked here.
    if (socketFailures >= 3) startPolling();
    scheduleReconnect(Math.min(30000, 1000 * Math.pow(2, socketFailures - 1)));
  }

  function scheduleReconnect(delay) {
    clearTimeout(reconnectTimer);
    var jittered = Math.min(30000, delay * (0.75 + Math.random() * 0.5));
    reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, jittered);
  }

  function sendFrame(frame) {
    if (!socket || socket.readyState !== 1 || transport !== "socket") return false;
    try { socket.send(JSON.stringify(frame)); return true; } catch (e) { return false; }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "session":
        if (typeof frame.visitor_token === "string" && frame.visitor_token) {
          token = frame.visitor_token;
          save("token", token);
        }
        agentsOnline = !!frame.agents_online;
        if (typeof frame.self_service === "boolean" && frame.self_service !== selfService) {
          selfService = frame.self_service;
          renderAssist();
        }
        if (frame.conversation_open === false) startAfresh();
        applyInbox(frame.inbox);
        setStatus();
        // Resume: whatever came after the last message we have.
        requestHistory();
        sendIdentity();
        flush();
        if (isOpen) markRead();
        break;
      case "history":
        receive(Array.isArray(frame.messages) ? frame.messages : []);
        if (frame.has_more && frame.messages && frame.messages.length) requestHistory();
        break;
      case "message":
        synced = true;
        receive([frame.message]);
        break;
      case "ack":
        acknowledge(frame.client_id, frame.id);
        break;
      case "typing":
        showTyping(!!frame.state, frame.name);
        break;
      case "read":
        if (typeof frame.up_to === "number" && frame.up_to > seenUpTo) {
          seenUpTo = frame.up_to;
          save("seen", seenUpTo);
          render();
        }
        break;
      case "articles":
        gotSuggestions(frame);
        break;
      case "article":
        gotArticle(frame);
        break;
      case "suggestions":
        if (typeof frame.message === "number" && Array.isArray(frame.articles) && !handedOver) {
          offers[frame.message] = frame.articles.slice(0, 3);
          frame.articles.forEach(function (a) { remember(shownIds, "shown", a.id); });
          held = true;
          save("offers", offers);
          save("held", true);
          render();
          live.textContent = t("offerIntro") + " " + frame.articles.map(function (a) { return a.title; }).join(", ");
        }
        break;
      case "handoff":
        handedTo(frame.state, wantPerson || askedPerson);
        askedPerson = false;
        break;
      case "answered":
        if (frame.solved) {
          held = false;
          save("held", false);
          render();
        }
        break;
      case "away":
        gotAway(frame);
        break;
      case "reply_by_email":
        if (away && typeof frame.email === "string") {
          away.email = frame.email;
          save("away", away);
          renderAway();
          live.textContent = t("replyTo", { email: frame.email });
        }
        break;
      case "error":
        if (frame.client_id) refuse(frame.client_id, frame.code, frame.detail);
        else if (frame.code === "rate_limited" || frame.code === "too_large") showNotice(t(frame.code));
        break;
    }
  }

  function applyInbox(inbox) {
    if (!inbox || typeof inbox !== "object") return;
    if (typeof inbox.name === "string" && inbox.name) {
      S.name = inbox.name;
      title.textContent = inbox.name;
    }
    // Greeting and colour: the script's settings are validated per language already.
  }

  function requestHistory() {
    var after = lastId();
    sendFrame(after ? { type: "history", after: after } : { type: "history" });
  }

  function sendIdentity() {
    if (siteIdentity) {
      sendFrame({ type: "identify", email: siteIdentity.email, name: siteIdentity.name, hmac: siteIdentity.hmac });
    } else if (profile && profile.email && !profile.sent) {
      // Typed in the pre-chat form: the server keeps it as a claim only.
      if (sendFrame({ type: "identify", email: profile.email, name: profile.name })) {
        profile.sent = true;
        save("profile", profile);
      }
    }
  }

  function flush() {
    if (transport === "socket") {
      outbox.forEach(function (item) {
        sendFrame(messageFields({ type: "message" }, item));
      });
    } else if (transport === "http") {
      postOutbox();
    }
  }

  function messageFields(frame, item) {
    ["body", "client_id", "name", "handoff", "articles", "opened", "language"].forEach(function (key) {
      if (item[key] != null) frame[key] = item[key];
    });
    return frame;
  }

  function typed() {
    var now = Date.now();
    if (now - typingSent > TYPING_EVERY_MS && textarea.value.trim()) {
      if (sendFrame({ type: "typing", state: true })) typingSent = now;
    }
    clearTimeout(typingStopTimer);
    typingStopTimer = setTimeout(stopTyping, 3000);
  }
  function stopTyping() {
    clearTimeout(typingStopTimer);
    if (typingSent) sendFrame({ type: "typing", state: false });
    typingSent = 0;
  }

  // --- HTTP fallback -------------------------------------------------------------------------
  function reachable(value) {
    if (httpReachable === value) return;
    httpReachable = value;
    setStatus();
  }

  function startPolling() {
    if (transport === "socket" || transport === "refused") return;
    if (transport !== "http") httpReachable = false;
    setTransport("http");
    if (pollTimer) return;
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }
  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function headers(json) {
    var result = {};
    if (json) result["Content-Type"] = "application/json";
    if (token) result["X-Visitor-Token"] = token;
    return result;
  }

  function poll() {
    if (transport !== "http") return;
    postOutbox();
    // Without a token there is nothing to fetch, but the answer tells whether we are reachable.
    var after = lastId();
    fetch(S.messages_url + (after ? "?after=" + after : ""), { headers: headers(false), credentials: "omit", cache: "no-store" })
      .then(function (response) { reachable(true); return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || !Array.isArray(data.messages) || transport !== "http") return;
        if (data.messages.length) receive(data.messages);
        synced = true;
      })
      .catch(function () { reachable(false); /* the next tick tries again */ });
  }

  // One at a time, in order; a network failure leaves the rest for the next tick.
  function postOutbox() {
    if (flushing || !outbox.length) return;
    flushing = true;
    var item = outbox[0];
    var payload = messageFields({}, item);
    fetch(S.messages_url, { method: "POST", headers: headers(true), body: JSON.stringify(payload), credentials: "omit" })
      .then(function (response) {
        reachable(true);
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (data.visitor_token) {
            token = data.visitor_token;
            save("token", token);
          }
          if (response.ok) acknowledge(item.client_id, data.message);
          else if (response.status >= 500) throw new Error("retry");
          else refuse(item.client_id, data.error || (response.status === 413 ? "too_large" : response.status === 429 ? "rate_limited" : "failed"), data.detail);
        });
      })
      .then(function () {
        flushing = false;
        if (outbox.length && transport === "http") postOutbox();
      }, function (error) {
        flushing = false;
        if (!error || error.message !== "retry") reachable(false);
      });
  }

  // --- Start ---------------------------------------------------------------------------------
  var api = {
    key: S.key,
    version: 1,
    get transport() { return transport; },
    get language() { return lang; },
    open: open,
    close: close,
    // The site vouches for a signed-in visitor: hmac = hex(HMAC-SHA256(identity_secret, email)),
    // computed on the site's server.
    identify: function (identity) {
      if (!identity || !identity.email || !identity.hmac) return;
      siteIdentity = { email: String(identity.email), name: identity.name ? String(identity.name) : undefined, hmac: String(identity.hmac) };
      sendIdentity();
    },
    sendAttachment: sendAttachment
  };
  Object.defineProperty(window, "__helpdeskWidget", { value: api, configurable: true });

  function start() {
    build();
    outbox.forEach(function (item) {
      messages.push({ client_id: item.client_id, body: item.body, author: "visitor", name: "", created_at: item.created_at, attachments: [] });
    });
    sortMessages();
    render();
    renderFlow();
    renderAway();
    setTransport("none");
    // Only visitors with a conversation connect at once; others when they open the chat.
    if (token || outbox.length) connect();
    var store = session();
    if (store && load("open", false, store)) open();
    document.addEventListener("visibilitychange", function () { if (isOpen) markRead(); });
    window.addEventListener("online", function () {
      if (!socket) { clearTimeout(reconnectTimer); reconnectTimer = null; if (started) connect(); }
    });
    // Another tab of the same site wrote to the conversation.
    window.addEventListener("storage", function (event) {
      if (event.key === PREFIX + "messages" || event.key === PREFIX + "outbox") {
        var stored = asArray(load("messages", []));
        stored.forEach(function (m) { upsert(m); });
        sortMessages();
        render();
      }
    });
    try { window.dispatchEvent(new CustomEvent("helpdesk-widget:ready", { detail: api })); } catch (e) { /* old browser */ }
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
