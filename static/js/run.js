// The live run page: one websocket per page, the database is the truth.
// Messages carry the deployment's sequence number; on a gap or a reconnect the
// page fetches the whole checklist from the server (resync), so it always ends
// equal to the database.
//
// Nothing is ever shown as saved that is not: while the socket is not open,
// every control that sends a change is disabled ("Offline: changes paused"),
// and an item change whose request fails (network, 5xx, timeout) puts the
// control back as the server last had it and says so next to the item.
(function () {
  "use strict";
  var root, statusEl, lastSeq, socket, retry = 0, heartbeat = null, resyncing = false, queued = [];
  var reconnectTimer = null, refocusRow = null;
  var checklistSwaps = 0;  // htmx answers that replaced the whole #checklist
  var OFFLINE_TEXT = "Offline: changes paused. Reconnecting…";
  var PAUSED_STATES = { reconnecting: true, closed: true, ended: true };
  // Controls that send a change: checkboxes (a tick sends on change) and buttons.
  var SENDING_CONTROLS = ["form[hx-post]", "form[method=post]"].map(function (form) {
    return form + " button, " + form + " input[type=checkbox], " + form + " input[type=submit]";
  }).join(", ");

  // link: optional {href, text}, shown after the text (e.g. "Log in again").
  function setStatus(state, text, link) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      statusEl.append(" ", a);
    }
    root.dataset.ws = state;
    if (state !== "open") { delete root.dataset.synced; }  // until the next resync
    if (isPaused()) { pauseWithin(root); } else { resumeChanges(); }
  }

  function isPaused() { return PAUSED_STATES[root.dataset.ws] === true; }

  // Really disabled (not focusable, not clickable, announced as unavailable);
  // marked, so that only what was disabled here is enabled again. Text fields
  // stay usable: typing a note changes nothing until it is sent.
  function pauseWithin(container) {
    container.querySelectorAll(SENDING_CONTROLS).forEach(function (el) {
      if (el.disabled) { return; }  // disabled by the server (read only, N/A): stays so
      el.disabled = true;
      el.dataset.paused = "1";
    });
  }

  function resumeChanges() {
    root.querySelectorAll("[data-paused]").forEach(function (el) {
      el.disabled = false;
      delete el.dataset.paused;
    });
  }

  // --- Item changes that fail -------------------------------------------------

  function itemRowOf(detail) {
    var target = detail.target;
    return target && /^item-\d+$/.test(target.id) && root.contains(target) ? target : null;
  }

  // Back to the server's state (the browser toggled the box before sending),
  // with the reason next to the item (role=alert: announced).
  function notSaved(row, text) {
    row.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      box.checked = box.defaultChecked;
    });
    var error = row.querySelector(".item-error");
    if (error) { error.textContent = text; }
  }

  function failureText(xhr) {
    if (xhr.responseURL && xhr.responseURL.indexOf(root.dataset.loginUrl) !== -1) {
      return "Not saved: your session has ended. Log in again.";
    }
    if (xhr.status >= 500) {
      return "Not saved: the server failed (error " + xhr.status + "). Try again.";
    }
    return "Not saved: unexpected answer from the server (" + xhr.status + "). Reload the page.";
  }

  function watchItemRequests() {
    // An item's answer is its row as the server has it now: after a change, or
    // with the reason of a refusal (400, 403, 409, 422; htmx swaps no 4xx by
    // itself). Anything else (a 5xx, a login page) is not the row: keep the
    // row, undo the control.
    document.addEventListener("htmx:beforeSwap", function (evt) {
      var row = itemRowOf(evt.detail);
      if (!row) { return; }
      var xhr = evt.detail.xhr;
      evt.detail.isError = false;  // handled here
      if (xhr.getResponseHeader("X-Input-Refused")) {
        // Refused before any view read it (a NUL, an upload over the limit):
        // the row and what was typed stay, and the reason is said at the item.
        evt.detail.shouldSwap = false;
        xhr.saidAtItem = true;  // app.js's banner leaves it to the item
        var said = new DOMParser().parseFromString(xhr.responseText, "text/html").body.textContent;
        notSaved(row, said.replace(/\s+/g, " ").trim() || failureText(xhr));
        return;
      }
      var isRow = xhr.responseText.indexOf('id="' + row.id + '"') !== -1;
      var refusal = [400, 403, 409, 422].indexOf(xhr.status) !== -1;
      if (isRow && (xhr.status < 300 || refusal)) {
        evt.detail.shouldSwap = true;
      } else {
        evt.detail.shouldSwap = false;
        notSaved(row, failureText(xhr));
      }
    });
    // The row is replaced by its answer, and the focus would fall back to the
    // page: put it back on the item (its checkbox, or the row when N/A) after a
    // tick, a note or an N/A, unless the answer focused a field itself (a
    // refused reason comes back with autofocus).
    // The item's line stays open (its details, notes and N/A) if the person had
    // opened it: the server renders it closed unless it gives back typed text.
    var reopenRow = null;
    document.addEventListener("htmx:beforeSwap", function (evt) {
      var row = itemRowOf(evt.detail);
      var active = document.activeElement;
      refocusRow = row && evt.detail.shouldSwap && active && row.contains(active) ? row.id : null;
      var more = row && evt.detail.shouldSwap && row.querySelector("details.item-more");
      reopenRow = more && more.open ? row.id : null;
    });
    document.addEventListener("htmx:afterSwap", function (evt) {
      var row = evt.target;
      if (reopenRow) {  // (on an outerHTML swap the event's target may be the old row)
        var fresh = document.getElementById(reopenRow);
        var more = fresh && fresh.querySelector("details.item-more");
        if (more) { more.open = true; }
        reopenRow = null;
      }
      if (!refocusRow || row.id !== refocusRow) { return; }
      refocusRow = null;
      if (row.contains(document.activeElement)) { return; }
      var box = row.querySelector("form.tick input[type=checkbox]:not(:disabled)");
      if (box) { box.focus(); return; }
      row.tabIndex = -1;
      row.focus();
    });
    document.addEventListener("htmx:sendError", function (evt) {
      var row = itemRowOf(evt.detail);
      if (row) { notSaved(row, "Not saved: the server could not be reached. Try again when the page is live."); }
    });
    document.addEventListener("htmx:timeout", function (evt) {
      var row = itemRowOf(evt.detail);
      if (row) { notSaved(row, "Not saved: no answer from the server in time. If it did go through, it will show here."); }
    });
    document.addEventListener("htmx:sendAbort", function (evt) {
      var row = itemRowOf(evt.detail);
      if (row) { notSaved(row, ""); }
    });
    // Belt and braces: nothing is sent while paused, whatever control it came from.
    document.addEventListener("htmx:beforeRequest", function (evt) {
      var verb = (evt.detail.requestConfig && evt.detail.requestConfig.verb) || "get";
      if (isPaused() && verb !== "get" && root.contains(evt.detail.elt)) { evt.preventDefault(); }
    });
    // New content (an answer that arrived after the socket dropped) pauses too.
    document.addEventListener("htmx:load", function (evt) {
      if (isPaused() && root.contains(evt.target)) { pauseWithin(evt.target.parentNode || evt.target); }
    });
  }

  // On a phone, what sits above the checklist (the gates) starts folded to its
  // summary line; the server renders it open, for wider screens.
  var NARROW = "(max-width: 47.99rem)";
  function foldForPhone(container, except) {
    if (!window.matchMedia(NARROW).matches) { return; }
    container.querySelectorAll("details[data-fold-narrow]").forEach(function (d) {
      if (!except || !except.querySelector("#" + CSS.escape(d.id))) { d.open = false; }
    });
  }

  // `el` (inside `old`) in `fresh`: by its id, or else by its place under its
  // nearest ancestor with an id (a phase's <summary>: the first child of
  // #phase-N, wherever panels before it come and go), with the same tag.
  function twinOf(old, fresh, el) {
    var path = [], node = el;
    while (node !== old && !node.id) {
      path.unshift(Array.prototype.indexOf.call(node.parentElement.children, node));
      node = node.parentElement;
    }
    var twin = node === old ? fresh : fresh.querySelector("#" + CSS.escape(node.id));
    for (var i = 0; i < path.length && twin; i++) { twin = twin.children[path[i]]; }
    return twin && twin.tagName === el.tagName ? twin : null;
  }

  function replaceById(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    Array.from(tpl.content.children).forEach(function (fresh) {
      if (!fresh.id) { return; }
      var old = document.getElementById(fresh.id);
      if (!old) { return; }
      // This row has a request of our own in flight: its response (rendered
      // after commit, so at least as fresh) will replace it.
      if (old.classList.contains("htmx-request") || old.querySelector(".htmx-request")) { return; }
      // Keep what the person has typed in this row (a note, an N/A reason),
      // and the field they are typing in focused, whatever the update.
      var active = document.activeElement, focusTwin = null;
      old.querySelectorAll("textarea[id]").forEach(function (field) {
        var twin = fresh.querySelector("#" + CSS.escape(field.id));
        if (!twin) { return; }
        if (field.value) { twin.value = field.value; }
        if (field === active) { focusTwin = twin; }
      });
      // A refusal or failure message stays until the item changes again.
      var oldError = old.querySelector(".item-error"), freshError = fresh.querySelector(".item-error");
      if (oldError && freshError && oldError.textContent.trim() && !freshError.textContent.trim() &&
          old.dataset.version === fresh.dataset.version) {
        freshError.textContent = oldError.textContent;
      }
      // Keep what the reader opened or closed (phases, details, forms) as it was.
      // Unless the page switched mode (rollback mode opens the rollback phase
      // and collapses the others for everyone): then the server's choice wins.
      old.querySelectorAll("details[id]").forEach(function (d) {
        var twin = fresh.querySelector("#" + CSS.escape(d.id));
        if (twin && twin.dataset.mode === d.dataset.mode) { twin.open = d.open; }
      });
      if (old.tagName === "DETAILS" && fresh.tagName === "DETAILS") { fresh.open = old.open; }
      foldForPhone(fresh, old);  // new ones; those the reader saw keep their state
      keepEntries(old, fresh);
      fresh.removeAttribute("hx-swap-oob");
      var selection = focusTwin ? [active.selectionStart, active.selectionEnd] : null;
      // Any other control (or the row itself) that had the focus keeps it: a
      // phase's <summary> has no id, so it is found by its place instead.
      var keepFocus = !focusTwin && active && old.contains(active) ? twinOf(old, fresh, active) : null;
      if (keepFocus && active.tabIndex === -1) { keepFocus.tabIndex = -1; }
      old.replaceWith(fresh);
      if (focusTwin) {
        focusTwin.focus();
        focusTwin.setSelectionRange(selection[0], selection[1]);
      } else if (keepFocus) {
        keepFocus.focus();
      }
      if (window.htmx) { htmx.process(fresh); }
      if (isPaused()) { pauseWithin(fresh); }
    });
  }

  // Forms marked data-preserve (the sign-off form) keep what the user has
  // chosen or typed, password included, when a resync replaces them.
  function keepEntries(old, fresh) {
    old.querySelectorAll("form[data-preserve][id]").forEach(function (form) {
      var twin = fresh.querySelector("#" + CSS.escape(form.id));
      if (!twin) { return; }
      Array.from(form.elements).forEach(function (el) {
        if (!el.name || el.type === "hidden" || el.type === "submit") { return; }
        var selector = "[name='" + CSS.escape(el.name) + "']";
        if (el.type === "radio") { selector += "[value='" + CSS.escape(el.value) + "']"; }
        var same = twin.querySelector(selector);
        if (!same) { return; }
        if (el.type === "radio" || el.type === "checkbox") { same.checked = el.checked; }
        else { same.value = el.value; }
      });
    });
  }

  function resync() {
    if (resyncing) { return; }
    resyncing = true;
    delete root.dataset.synced;
    var swapsBefore = checklistSwaps;
    // With the page's query: a filtered view ("My items", ?mine=1) stays filtered.
    fetch(root.dataset.resyncUrl + location.search, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        // An htmx answer that replaced the checklist meanwhile (a refused go-live,
        // say) was rendered after this fetch left: it is the fresher, and this
        // one would wipe what it says. Its seq is taken instead.
        if (checklistSwaps === swapsBefore) { replaceById(html); }
        var fresh = document.getElementById("checklist");
        lastSeq = parseInt(fresh.dataset.seq, 10);
        root.dataset.seq = String(lastSeq);
        resyncing = false;
        var pending = queued; queued = [];
        pending.forEach(apply);
        // data-synced: the checklist and who is here are the server's (the
        // timeline's refresh is htmx's own request); tests wait for it.
        refreshPresence().then(function () { if (!resyncing) { root.dataset.synced = "1"; } });
        refreshTimeline();
      })
      .catch(function () { resyncing = false; setTimeout(resync, 2000); });
  }

  function refreshPresence() {
    return fetch(root.dataset.resyncUrl.replace(/checklist\/$/, "presence/"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; },
            function () { return ""; })  // unreachable: who is here shows at the next resync
      .then(function (html) { if (html) { replaceById(html); } });
  }

  function refreshTimeline() {
    var panel = document.getElementById("timeline-panel");
    // Not while offline: the resync once back refreshes it (htmx would log the failure).
    if (isPaused() || navigator.onLine === false) { return; }
    if (panel && panel.open && window.htmx) { htmx.trigger("#timeline", "refresh"); }
  }

  function apply(msg) {
    if (resyncing) { queued.push(msg); return; }
    if (msg.seq <= lastSeq) { return; }            // already shown
    if (msg.resync || msg.seq !== lastSeq + 1) {   // status change, or missed events
      resync();
      return;
    }
    replaceById(msg.html);
    lastSeq = msg.seq;
    root.dataset.seq = String(lastSeq);
    refreshTimeline();
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.dataset.wsUrl);
    socket.onopen = function () {
      var reconnect = retry > 0 || root.dataset.opened === "1";
      retry = 0;
      root.dataset.opened = "1";
      setStatus("open", "Live");
      // Events may have happened between page render (or the drop) and now.
      resync();
      clearInterval(heartbeat);
      heartbeat = setInterval(function () {
        if (socket.readyState === 1) { socket.send(JSON.stringify({ type: "ping" })); }
      }, 25000);
      if (reconnect) { root.dispatchEvent(new CustomEvent("run:reconnected")); }
      root.dispatchEvent(new CustomEvent("run:open"));
    };
    socket.onmessage = function (e) {
      var msg = JSON.parse(e.data);
      if (msg.type === "event") { apply(msg); }
      else if (msg.type === "presence") { refreshPresence(); }
      // Reminder toasts and centre refreshes (static/js/reminders.js); no seq.
      else if (msg.type === "toast" || msg.type === "reminders") {
        root.dispatchEvent(new CustomEvent("run:reminder", { detail: msg }));
      }
    };
    socket.onclose = function (e) {
      clearInterval(heartbeat);
      if (e.code === 4403 || e.code === 4404) {
        setStatus("closed", "Not connected: you no longer have access. Reload the page.");
        return;
      }
      setStatus("reconnecting", OFFLINE_TEXT);
      // 4401: this socket's session has ended (logout, expiry, password change).
      // Ask before saying so: after a password change in this browser it is
      // still logged in, under a new session. From the third failed attempt
      // ask too: a socket refused at its handshake looks like a network error.
      scheduleReconnect(e.code === 4401 || retry >= 2);
    };
  }

  // Reconnect after a growing delay (1 s, 2 s, 4 s… 15 s); with `askFirst`,
  // first ask over HTTP whether this browser is still logged in.
  function scheduleReconnect(askFirst) {
    retry += 1;
    reconnectTimer = setTimeout(function () {
      reconnectTimer = null;
      if (askFirst) { checkSession(); } else { connect(); }
    }, Math.min(1000 * Math.pow(2, retry - 1), 15000));
  }

  function checkSession() {
    fetch(root.dataset.resyncUrl, {
      headers: { "HX-Request": "true" }, credentials: "same-origin", redirect: "manual",
    })
      .then(function (r) {
        // A redirect is the way to the login page.
        if (r.type === "opaqueredirect" || r.status === 401) { sessionEnded(); } else { connect(); }
      })
      .catch(function () { scheduleReconnect(false); });  // unreachable: keep trying
  }

  function sessionEnded() {
    var next = encodeURIComponent(location.pathname + location.search);
    setStatus("ended", "Your session has ended: changes paused.",
              { href: root.dataset.loginUrl + "?next=" + next, text: "Log in again" });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("run");
    if (!root) { return; }
    statusEl = document.getElementById("live-status");
    lastSeq = parseInt(root.dataset.seq, 10);
    watchItemRequests();
    foldForPhone(root);
    // A status change answered by htmx renders the next gates. The control that
    // sent it is gone with the old checklist: the focus (and the view) would fall
    // to the page's body, or where the browser anchors its scroll (the bottom).
    // It goes to the same field if it is still there, to the refused gate, or to
    // the header that shows the new status.
    var statusFocus = null;
    document.addEventListener("htmx:beforeSwap", function (evt) {
      var active = document.activeElement;
      statusFocus = evt.detail.target && evt.detail.target.id === "checklist" &&
        active && evt.detail.target.contains(active) ? (active.id || (active.form && active.form.id) || "") : null;
    });
    document.addEventListener("htmx:afterSwap", function (evt) {
      if (evt.target.id !== "checklist") { return; }
      checklistSwaps += 1;
      var checklist = evt.target;
      foldForPhone(checklist);
      if (statusFocus === null) { return; }
      var was = statusFocus ? document.getElementById(statusFocus) : null;
      statusFocus = null;
      if (document.activeElement && document.activeElement !== document.body &&
          document.activeElement.isConnected) { return; }  // the answer focused a field itself
      if (was && was.tagName === "FORM") { was = was.querySelector("button[type=submit]"); }
      if (!was) { was = checklist.querySelector(".gate.refused > summary"); }
      if (!was) {
        was = document.getElementById("run-header");
        was.tabIndex = -1;
      }
      was.focus();
    });
    connect();
    // An open socket can outlive the network by minutes (until TCP gives up):
    // when the browser knows it is offline, pause at once and reconnect once back.
    window.addEventListener("offline", function () {
      if (root.dataset.ws !== "closed" && root.dataset.ws !== "ended") {
        setStatus("reconnecting", OFFLINE_TEXT);
      }
      if (socket && socket.readyState <= 1) { socket.close(); }
    });
    window.addEventListener("online", function () {
      if (reconnectTimer !== null) {
        clearTimeout(reconnectTimer);
        reconnectTimer = null;
        connect();
      }
    });
  });
})();
