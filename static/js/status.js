// Public status page: a websocket brings each new state; without JavaScript
// a <noscript> meta refresh reloads the page every 30 seconds instead.
(function () {
  "use strict";
  var retry = 0;

  function connect(main) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + main.dataset.wsUrl);
    socket.onopen = function () { retry = 0; main.dataset.ws = "open"; };
    socket.onmessage = function (e) {
      var msg = JSON.parse(e.data);
      if (msg.type !== "status") { return; }
      var tpl = document.createElement("template");
      tpl.innerHTML = msg.html;
      var fresh = tpl.content.firstElementChild, old = document.getElementById("public-status");
      if (fresh && old) { old.replaceWith(fresh); document.title = fresh.querySelector("h1").textContent + ": " + fresh.querySelector(".state-label").textContent; }
    };
    socket.onclose = function (e) {
      main.dataset.ws = "closed";
      if (e.code === 4404) { location.reload(); return; }  // turned off or a new URL
      retry += 1;
      // Reload rather than reconnect after a drop: the page is small and then certainly current.
      setTimeout(function () { location.reload(); }, Math.min(1000 * Math.pow(2, retry), 30000));
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var main = document.getElementById("main");
    if (main && main.dataset.wsUrl && window.WebSocket) { connect(main); }
  });
})();
