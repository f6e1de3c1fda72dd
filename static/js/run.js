// The live run page: one websocket per page, the database is the truth.
// Messages carry the deployment's sequence number; on a gap or a reconnect the
// page fetches the whole checklist from the server (resync), so it always ends
// equal to the database.
(function () {
  "use strict";
  var root, statusEl, lastSeq, socket, retry = 0, heartbeat = null, resyncing = false, queued = [];
  var reconnectTimer = null;

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
    root.dataset.ws = state;
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
      // Keep an open <details> (note or N/A form being typed) open, and do not
      // clobber text the user is typing in this row.
      var active = document.activeElement;
      if (active && old.contains(active) && (active.tagName === "TEXTAREA")) {
        var field = fresh.querySelector("#" + CSS.escape(active.id));
        if (field) { field.value = active.value; }
      }
      // Keep what the reader opened or closed (phases, details, forms) as it was.
      // Unless the page switched mode (rollback mode opens the rollback phase
      // and collapses the others for everyone): then the server's choice wins.
      old.querySelectorAll("details[id]").forEach(function (d) {
        var twin = fresh.querySelector("#" + CSS.escape(d.id));
        if (twin && twin.dataset.mode === d.dataset.mode) { twin.open = d.open; }
      });
      if (old.tagName === "DETAILS" && fresh.tagName === "DETAILS") { fresh.open = old.open; }
      keepEntries(old, fresh);
      fresh.removeAttribute("hx-swap-oob");
      old.replaceWith(fresh);
      if (window.htmx) { htmx.process(fresh); }
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
    fetch(root.dataset.resyncUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        replaceById(html);
        var fresh = document.getElementById("checklist");
        lastSeq = parseInt(fresh.dataset.seq, 10);
        root.dataset.seq = String(lastSeq);
        resyncing = false;
        var pending = queued; queued = [];
        pending.forEach(apply);
        refreshPresence();
        refreshTimeline();
      })
      .catch(function () { resyncing = false; setTimeout(resync, 2000); });
  }

  function refreshPresence() {
    fetch(root.dataset.resyncUrl.replace(/checklist\/$/, "presence/"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { if (html) { replaceById(html); } });
  }

  function refreshTimeline() {
    var panel = document.getElementById("timeline-panel");
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
      if (e.code === 4401 || e.code === 4403 || e.code === 4404) {
        setStatus("closed", "Not connected: you no longer have access. Reload the page.");
        return;
      }
      setStatus("reconnecting", "Reconnecting…");
      retry += 1;
      reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); },
                                  Math.min(1000 * Math.pow(2, retry - 1), 15000));
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("run");
    if (!root) { return; }
    statusEl = document.getElementById("live-status");
    lastSeq = parseInt(root.dataset.seq, 10);
    connect();
    // An open socket can outlive the network by minutes (until TCP gives up):
    // when the browser knows it is offline, say so and reconnect once back.
    window.addEventListener("offline", function () {
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
