// Deploychecks: small progressive enhancements. No inline scripts (CSP);
// htmx itself is configured through <meta name="htmx-config"> (allowEval off).

// A 422 answer is a form shown again with its errors (for example the line a
// Markdown import fails on); a 409 carries the current state of what the user
// tried to change (a stale tick, a refused status change). htmx 2 does not swap
// 4xx answers by default, so the message would never appear: swap them.
const SWAP_STATUSES = new Set([409, 422]);
document.addEventListener("htmx:beforeSwap", (event) => {
  if (SWAP_STATUSES.has(event.detail.xhr.status)) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
