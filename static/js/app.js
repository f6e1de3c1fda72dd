// Deploychecks: small progressive enhancements. No inline scripts (CSP);
// htmx itself is configured through <meta name="htmx-config"> (allowEval off).
