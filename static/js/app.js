// Deploychecks: small progressive enhancements. No inline scripts (CSP);
// htmx itself is configured through <meta name="htmx-config"> (allowEval off).

// A 400/403/422 answer is a form or fragment shown again with its error (a bad
// reason, a refused override, the line a Markdown import fails on); a 409
// carries the current state of what the user tried to change (a stale tick, a
// status change refused with every unmet condition). htmx 2 does not swap 4xx
// answers by default, so the message would never appear: swap them.
const SWAP_STATUSES = new Set([400, 403, 409, 413, 422]);
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (!SWAP_STATUSES.has(xhr.status)) { return; }
  event.detail.isError = false;
  // A refusal that is not the fragment the form asked for (Django's bare "Bad
  // Request" for a post over DATA_UPLOAD_MAX_MEMORY_SIZE, say) would empty its
  // target: say it next to the form instead, and leave what was typed alone.
  // detail.elt is the swap's target here; the form that asked is the request's.
  const source = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
  const holder = source.closest ? source.closest("[hx-select]") : null;
  const wanted = holder ? holder.getAttribute("hx-select") : null;
  const answer = wanted ? new DOMParser().parseFromString(xhr.responseText, "text/html") : null;
  if (answer && !answer.querySelector(wanted)) {
    event.detail.shouldSwap = false;
    if (xhr.getResponseHeader("X-Input-Refused")) { return; }  // said by its banner (below)
    const text = answer.body.textContent.replace(/\s+/g, " ").trim();
    formAlert(source.closest("form") || source,
      "Not sent: " + (text || "the server refused it (" + xhr.status + ").") + " Your text is still in the form.");
    return;
  }
  event.detail.shouldSwap = true;
});

// One role=alert line at the top of a form, made on first use.
function formAlert(form, text) {
  let alert = form.querySelector(":scope > .form-alert");
  if (!alert) {
    alert = document.createElement("p");
    alert.className = "form-alert error";
    alert.setAttribute("role", "alert");
    form.prepend(alert);
  }
  alert.textContent = text;
  return alert;
}

// Text fields with a size limit the browser must not enforce by cutting
// (maxlength truncates a paste without a word):
// - data-max-chars: a live counter ("1,980 / 2,000", aria-live polite) in the
//   element named by aria-describedby; the server refuses a longer text and
//   gives it back with its reason.
// - data-max-bytes: a form whose field is larger is not sent at all (a 5 MB paste
//   would be refused by the server as a whole request); the message says so and
//   the text stays in the field.
const NUMBER = new Intl.NumberFormat("en");

function updateCounter(field) {
  // The counter is the described-by element whose id ends in "-count" (an error
  // may describe the field too).
  const ids = (field.getAttribute("aria-describedby") || "").split(/\s+/);
  const counter = document.getElementById(ids.find((id) => id.endsWith("-count")) || ids[0] || "");
  const limit = Number(field.dataset.maxChars);
  if (!counter || !limit) { return; }
  const length = field.value.length;
  let text = NUMBER.format(length) + " / " + NUMBER.format(limit);
  if (length > limit) { text += ": " + NUMBER.format(length - limit) + " over the limit"; }
  if (counter.textContent !== text) { counter.textContent = text; }
  counter.classList.toggle("over", length > limit);
}

document.addEventListener("input", (event) => {
  if (event.target.matches && event.target.matches("textarea[data-max-chars]")) {
    updateCounter(event.target);
  }
});

function oversized(form) {
  for (const field of form.querySelectorAll("[data-max-bytes]")) {
    const limit = Number(field.dataset.maxBytes);
    const size = new Blob([field.value]).size;
    if (limit && size > limit) { return [field, size, limit]; }
  }
  return null;
}

// Capture phase on the document: before htmx (listening on the form) sends it.
document.addEventListener("submit", (event) => {
  const found = oversized(event.target);
  if (!found) { return; }
  const [field, size, limit] = found;
  event.preventDefault();
  event.stopImmediatePropagation();
  formAlert(event.target, "Not sent: the text is " + NUMBER.format(size) + " bytes; the limit is " +
    NUMBER.format(limit) + " bytes. Your text is still in the field: shorten it, or split the checklist.");
  field.focus();
}, true);

// Relative times ({% reltime %} in templates/runs): the server writes the
// absolute time, so a rendered checklist stays right however long it is
// cached; here it becomes "5 minutes ago" (as Django's timesince words it)
// and is kept current. New content (htmx swaps, live updates) is formatted as
// it arrives.
const TIME_UNITS = [
  [365 * 24 * 3600, "year"], [30 * 24 * 3600, "month"], [7 * 24 * 3600, "week"],
  [24 * 3600, "day"], [3600, "hour"], [60, "minute"],
];

function timesince(seconds) {
  seconds = Math.max(0, seconds);
  const parts = [];
  for (const [size, name] of TIME_UNITS) {
    const count = Math.floor(seconds / size);
    if (parts.length === 0 && count === 0) { continue; }
    if (count > 0) { parts.push(count + " " + name + (count === 1 ? "" : "s")); }
    seconds -= count * size;
    if (parts.length === 2 || (parts.length === 1 && count === 0)) { break; }
  }
  return parts.length ? parts.join(", ") : "0 minutes";
}

function showRelativeTimes(root) {
  const now = Date.now();
  root.querySelectorAll("time[data-relative]").forEach((el) => {
    const at = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(at)) { return; }
    // "from now" marks a due time: "in 5 minutes" ahead of it, "5 minutes ago" past it
    // (the clamp to 0 made every future time "0 minutes from now").
    const text = el.dataset.relative === "from now"
      ? (at >= now ? "in " + timesince((at - now) / 1000) : timesince((now - at) / 1000) + " ago")
      : timesince((now - at) / 1000) + " " + el.dataset.relative;
    if (el.textContent !== text) { el.textContent = text; }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  showRelativeTimes(document);
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      mutation.addedNodes.forEach((node) => {
        if (node.nodeType !== Node.ELEMENT_NODE) { return; }
        if (node.matches("time[data-relative]")) { showRelativeTimes(node.parentNode); }
        else { showRelativeTimes(node); }
      });
    }
  }).observe(document.body, { childList: true, subtree: true });
  setInterval(() => showRelativeTimes(document), 30000);
});

// Idempotency keys (deploychecks/runs/idempotency.py): a form that adds a row
// each time (a note, a reading, a new deployment) carries a random key, made
// when it is first submitted and kept while the form is unchanged, so sending
// it again after an error page or a lost answer never stores it twice. Editing
// the form makes it a new submission. Made here, not by the server: the run
// page's rows are cached and broadcast to everyone.
function newIdempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);  // unlike randomUUID, also on plain http
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function idempotencyInput(form) {
  return form ? form.querySelector('input[name="idempotency_key"]') : null;
}

// Capture phase: before htmx (listening on the form) reads its fields.
document.addEventListener("submit", (event) => {
  const input = idempotencyInput(event.target);
  if (input && !input.value) { input.value = newIdempotencyKey(); }
}, true);

for (const type of ["input", "change"]) {
  document.addEventListener(type, (event) => {
    const input = idempotencyInput(event.target.form);
    if (input && event.target !== input) { input.value = ""; }
  });
}

// While the database is out of reach the server answers 503 and a short notice
// (templates/core/unavailable.html), or 200 and "saved" when the change was
// stored just before; both carry `X-Unavailable`. htmx swaps neither, so show
// the notice at the top of the page until a request succeeds again.
document.addEventListener("htmx:afterRequest", (event) => {
  const xhr = event.detail.xhr;
  const state = xhr ? xhr.getResponseHeader("X-Unavailable") : null;
  let banner = document.getElementById("unavailable-banner");
  if (!state) {
    if (banner && event.detail.successful) { banner.remove(); }
    return;
  }
  if (!banner) {
    banner = document.createElement("p");
    banner.id = "unavailable-banner";
    banner.className = "unavailable-banner";
    banner.setAttribute("role", "alert");
    document.getElementById("main").prepend(banner);
  }
  banner.textContent = new DOMParser()
    .parseFromString(xhr.responseText, "text/html").body.textContent.trim();
  // A tick that was not saved: put its checkbox back as it was.
  const form = state === "not-saved" && event.detail.elt.closest
    ? event.detail.elt.closest("form.tick") : null;
  const box = form ? form.querySelector('input[type="checkbox"]') : null;
  if (box) { box.checked = !box.checked; }
});

// A request refused before any view read it (a NUL character in what was sent,
// deploychecks/core/nul.py) answers 400 with `X-Input-Refused` and
// `HX-Reswap: none`: nothing was saved and the form keeps what was typed. Say
// why at the top of the page until a request succeeds; for a checklist item,
// run.js says it at the item instead (marking the request `saidAtItem`), where
// the person is: a long page's top is out of sight.
document.addEventListener("htmx:afterRequest", (event) => {
  const xhr = event.detail.xhr;
  let banner = document.getElementById("refused-banner");
  if (!xhr || !xhr.getResponseHeader("X-Input-Refused")) {
    if (banner && event.detail.successful) { banner.remove(); }
    return;
  }
  if (xhr.saidAtItem) { return; }  // set by run.js, which said it at the item
  if (!banner) {
    banner = document.createElement("p");
    banner.id = "refused-banner";
    banner.className = "unavailable-banner";
    banner.setAttribute("role", "alert");
    document.getElementById("main").prepend(banner);
  }
  banner.textContent = new DOMParser()
    .parseFromString(xhr.responseText, "text/html").body.textContent.trim();
});
