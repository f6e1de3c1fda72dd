// Deploychecks: small progressive enhancements. No inline scripts (CSP);
// htmx itself is configured through <meta name="htmx-config"> (allowEval off).

// A 422 answer is a form shown again with its errors (for example the line a
// Markdown import fails on). htmx 2 does not swap 4xx answers by default, so
// the message would never appear: let 422 swap like a success.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
