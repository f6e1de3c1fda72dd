// The retrospective's forms are plain POSTs that reload the page: saving one
// section (or adding a follow-up) would drop what was typed, not yet saved, in
// the other sections. Before a form leaves, the other sections' unsaved texts are
// kept for this tab (sessionStorage) and put back after the reload, marked as not
// saved yet.
(function () {
  "use strict";
  var KEY = "retro-drafts:" + location.pathname;

  function sectionFields() {
    return Array.from(document.querySelectorAll(".retro-section textarea[id]"));
  }

  document.addEventListener("submit", function (evt) {
    var drafts = {};
    sectionFields().forEach(function (field) {
      if (evt.target.contains(field)) { return; }  // this one is being saved
      if (field.value !== field.defaultValue) { drafts[field.id] = field.value; }
    });
    try {
      if (Object.keys(drafts).length) { sessionStorage.setItem(KEY, JSON.stringify(drafts)); }
    } catch (e) { /* storage off: the reload drops them, as without this script */ }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var drafts;
    try {
      drafts = JSON.parse(sessionStorage.getItem(KEY) || "{}");
      sessionStorage.removeItem(KEY);
    } catch (e) { return; }
    Object.keys(drafts).forEach(function (id) {
      var field = document.getElementById(id);
      if (!field || field.value === drafts[id]) { return; }
      field.value = drafts[id];
      var note = document.createElement("p");
      note.className = "muted small retro-draft";
      note.id = id + "-draft";
      note.textContent = "Not saved yet: your text from before the page reloaded.";
      field.insertAdjacentElement("afterend", note);
      field.setAttribute("aria-describedby", note.id);
    });
  });
})();
