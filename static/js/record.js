// The record page's Print button: shown only where JavaScript runs (without
// it, the browser's own Print command gives the same printout).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
