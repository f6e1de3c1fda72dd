"""The secret of an `Authorization: Bearer <secret>` header, read the same way
by the ingest view, the gate in front of Django and the API's long poll."""


def bearer_secret(header: str) -> str:
    """'Bearer abc' -> 'abc'; '' for another scheme or no secret."""
    scheme, _, secret = (header or "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def scope_bearer(scope) -> str:
    """The bearer secret of an ASGI scope's first Authorization header, or ''."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bearer_secret(value.decode("latin-1"))
    return ""
