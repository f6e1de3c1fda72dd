// A note's Edit and Delete are offered to its author, the deployment lead and
// admins working on it (lead or engineer). Item rows are rendered once for every editor (cached and broadcast), so
// the server renders them for all and this hides them on notes that are not the
// reader's own; the server refuses anyone else anyway (runs.services).
(function () {
  "use strict";

  function hideOthers(root, user, scope) {
    scope.querySelectorAll("li[data-author]").forEach(function (note) {
      var own = note.dataset.author === user;
      ["-edit", "-delete"].forEach(function (suffix) {
        var control = document.getElementById(note.id + suffix);
        if (control) { control.hidden = !own; }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("run");
    if (!root || root.dataset.anyNote === "1") { return; }
    var user = root.dataset.user;
    hideOthers(root, user, root);
    // Rows arrive by htmx answers and by live updates (run.js replaces them).
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) {
          if (node.nodeType === 1) { hideOthers(root, user, node.parentNode || node); }
        });
      });
    }).observe(root, { childList: true, subtree: true });
  });
})();
