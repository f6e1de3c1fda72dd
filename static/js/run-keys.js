// The run page for many items (issue 16): keyboard shortcuts (j/k move between
// items, x ticks, n writes a note, o opens an item, ? lists them), the skip link
// landing on the first item, and where the timeline goes: a live side panel on
// wide screens (opened, so it loads and run.js refreshes it), a view of its own
// on phones (the "Checklist" / "Timeline" switch).
(function () {
  "use strict";
  var WIDE = "(min-width: 68.75rem)";
  var root;

  function rows() {
    return Array.from(root.querySelectorAll("#checklist-items .run-item")).filter(function (li) {
      return li.getClientRects().length > 0;  // not inside a closed phase, not filtered out
    });
  }

  function currentRow() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("#checklist-items .run-item") : null;
    if (row) { return row; }
    var marked = root.querySelector("#checklist-items .run-item.kb-current");
    return marked && document.getElementById(marked.id) === marked ? marked : null;
  }

  function focusRow(row) {
    root.querySelectorAll(".run-item.kb-current").forEach(function (li) { li.classList.remove("kb-current"); });
    row.classList.add("kb-current");
    var box = row.querySelector("form.tick input[type=checkbox]:not(:disabled)");
    if (box) {
      box.focus();
    } else {
      row.tabIndex = -1;
      row.focus();
    }
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    var at = list.indexOf(currentRow());
    var next = at === -1 ? (step > 0 ? 0 : list.length - 1) : Math.min(Math.max(at + step, 0), list.length - 1);
    focusRow(list[next]);
  }

  function expand(row, open) {
    var more = row.querySelector("details.item-more");
    if (more) { more.open = open === undefined ? !more.open : open; }
    return more;
  }

  function writeNote(row) {
    expand(row, true);
    var form = row.querySelector("details[id$='-note']");
    if (!form) { return; }
    form.open = true;
    var field = form.querySelector("textarea");
    if (field) { field.focus(); }
  }

  function tick(row) {
    var box = row.querySelector("form.tick input[type=checkbox]");
    if (box && !box.disabled) { box.click(); }  // a change: htmx sends it (run.js)
  }

  function typing(el) {
    if (!el) { return false; }
    if (el.isContentEditable) { return true; }
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") { return true; }
    if (el.tagName !== "INPUT") { return false; }
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(el.type) === -1;
  }

  function onKey(evt) {
    if (evt.defaultPrevented || evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    if (typing(evt.target)) { return; }
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) { return; }  // Esc closes it (the browser does)
    var row;
    switch (evt.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x": row = currentRow(); if (!row) { return; } tick(row); break;
      case "n": row = currentRow(); if (!row) { return; } writeNote(row); break;
      case "o": row = currentRow(); if (!row) { return; } expand(row); break;
      case "?": openShortcuts(); break;
      default: return;
    }
    evt.preventDefault();
  }

  // The shortcuts dialog; closing it (Esc, its button) puts the focus back.
  var focusBefore = null;
  function openShortcuts() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog || dialog.open) { return; }
    focusBefore = document.activeElement;
    dialog.showModal();
  }

  // --- The timeline: beside the checklist, or a view of its own -------------------

  function showView(view) {
    root.dataset.view = view;
    ["checklist", "timeline"].forEach(function (name) {
      var button = document.getElementById("view-" + name);
      if (button) { button.setAttribute("aria-pressed", String(name === view)); }
    });
    if (view === "timeline") { openTimeline(); }
  }

  function openTimeline() {
    var panel = document.getElementById("timeline-panel");
    if (panel && !panel.open) { panel.open = true; }  // its toggle loads it once
  }

  function layout(wide) {
    var views = document.getElementById("run-views");
    if (wide) {
      if (views) { views.hidden = true; }
      delete root.dataset.view;
      openTimeline();
    } else {
      if (views) { views.hidden = false; }
      showView(root.dataset.view || "checklist");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("run");
    if (!root) { return; }
    document.addEventListener("keydown", onKey);
    var hint = document.getElementById("shortcuts-hint");
    if (hint) { hint.hidden = false; }
    var opener = document.getElementById("shortcuts-open");
    if (opener) {
      opener.addEventListener("click", openShortcuts);
    }
    var dialog = document.getElementById("shortcuts");
    if (dialog) {
      dialog.addEventListener("close", function () {
        // The row may have been replaced meanwhile (a live update): its fresh twin.
        var back = focusBefore && focusBefore.id ? document.getElementById(focusBefore.id) : focusBefore;
        focusBefore = null;
        if (back && back.focus) { back.focus(); }
      });
    }
    // The skip link lands on the first item's checkbox, ready for j/k/x.
    document.querySelectorAll("a.skip-link[href='#checklist-items']").forEach(function (link) {
      link.addEventListener("click", function (evt) {
        var first = rows()[0];
        if (!first) { return; }
        evt.preventDefault();
        focusRow(first);
      });
    });
    ["checklist", "timeline"].forEach(function (name) {
      var button = document.getElementById("view-" + name);
      if (button) { button.addEventListener("click", function () { showView(name); }); }
    });
    var wide = window.matchMedia(WIDE);
    layout(wide.matches);
    wide.addEventListener("change", function (e) { layout(e.matches); });
  });
})();
