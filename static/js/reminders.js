// Reminders on the run page: toasts and the notification centre (the bell).
// run.js owns the websocket and re-dispatches reminder messages as a
// "run:reminder" event on #run. The centre is always re-read from the server,
// so a lost message only loses its toast; a toast shown once is never shown
// again on this page (a delivery retried after a crash is harmless).
(function () {
  "use strict";
  var shown = {};
  var refreshing = null;

  function bell() { return document.getElementById("reminders-bell"); }

  function refreshCentre() {
    var root = bell();
    if (!root) { return; }
    if (refreshing) { refreshing.again = true; return; }
    refreshing = { again: false };
    fetch(root.dataset.centreUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        var old = document.getElementById("reminder-centre");
        var tpl = document.createElement("template");
        tpl.innerHTML = html.trim();
        var fresh = tpl.content.firstElementChild;
        if (old && fresh) {
          // Keep the panel as the reader left it, and a note being typed.
          fresh.open = old.open;
          var active = document.activeElement, twin = null;
          if (active && old.contains(active) && active.id) {
            twin = fresh.querySelector("#" + CSS.escape(active.id));
            if (twin) { twin.value = active.value; }
          }
          old.replaceWith(fresh);
          if (twin) { twin.focus(); }
          if (window.htmx) { htmx.process(fresh); }
        }
      })
      .catch(function () {})
      .finally(function () {
        var again = refreshing && refreshing.again;
        refreshing = null;
        if (again) { refreshCentre(); }
      });
  }

  function showToast(msg) {
    var area = document.getElementById("toasts");
    if (!area || shown[msg.key]) { return; }
    shown[msg.key] = true;
    var tpl = document.createElement("template");
    tpl.innerHTML = msg.html.trim();
    var toast = tpl.content.firstElementChild;
    if (!toast) { return; }
    area.appendChild(toast);
    // Leave it up for a minute; the centre keeps the reminder until acknowledged.
    setTimeout(function () { toast.remove(); }, 60000);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-dismiss]")) {
      target.closest(".toast").remove();
    } else if (target.closest("[data-open-centre]")) {
      var centre = document.getElementById("reminder-centre");
      if (centre) { centre.open = true; }
      target.closest(".toast").remove();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var run = document.getElementById("run");
    if (!run) { return; }
    run.addEventListener("run:reminder", function (event) {
      var msg = event.detail;
      if (msg.type === "toast") { showToast(msg); }
      refreshCentre();
    });
    // Reminders may have gone out between the page render (or a drop) and now.
    run.addEventListener("run:open", refreshCentre);
  });
})();
