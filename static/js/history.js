// The history list (/deployments/): keep keyboard focus in place across htmx swaps.
// The sort and page links are replaced with the results they load, and the focus
// would fall back to the start of the page. After a sort link, focus its new copy
// (same id); after a page link ("Next ›" may be gone on the last page), the results
// count, which says which page is now shown ("120 deployments · page 2 of 3").
document.addEventListener("htmx:afterSettle", (event) => {
  // Fired once per swapped element; the results are the request's own target.
  if (event.target.id !== "history-results") { return; }
  const link = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!link || link.isConnected) { return; }
  let next = null;
  if (link.closest(".pagination")) {
    next = document.getElementById("history-count");
  } else if (link.id) {
    next = document.getElementById(link.id);
  }
  if (next) { next.focus(); }
});
