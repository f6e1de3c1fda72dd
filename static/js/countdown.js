// Rollback countdown on the run page: ticks the server-rendered times once a
// second. The server's clock decides (data-server-now, seconds since epoch),
// so a wrong clock in the browser does not change the countdown.
(function () {
  "use strict";
  var offsets = new WeakMap();

  function serverNow(el) {
    // The page's clock offset is fixed when the element is first seen.
    if (!offsets.has(el)) {
      var server = parseInt(el.dataset.serverNow, 10) * 1000;
      offsets.set(el, isNaN(server) ? 0 : server - Date.now());
    }
    return Date.now() + offsets.get(el);
  }

  function format(ms) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + "h " + pad(m) + "m " : m + "m ") + pad(s) + "s";
  }

  function tick() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.dataset.deadline) - serverNow(el);
      el.textContent = format(left) + (left >= 0 ? " left" : " over budget");
      el.classList.toggle("overrun", left < 0);
    });
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var elapsed = serverNow(el) - Date.parse(el.dataset.since);
      var budget = parseInt(el.dataset.budget, 10) * 60000;
      el.textContent = format(Math.max(0, elapsed));
      var row = el.closest("tr");
      if (row) { row.classList.toggle("overrun", elapsed > budget); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });
})();
