"""The secret of an `Authorization: Bearer <secret>` header, read the same way
by the ingest view, the gate in front of Django and the API's long poll; and
the headers of an ASGI scope, for the wrappers in front of Django."""


def bearer_secret(header: str) -> str:
    """'Bearer abc' -> 'abc'; '' for another scheme or no secret."""
    scheme, _, secret = (header or "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def scope_header(scope, name: bytes) -> bytes | None:
    """An ASGI scope's first header `name` (lower case, as ASGI gives them), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def scope_bearer(scope) -> str:
    """The bearer secret of an ASGI scope's first Authorization header, or ''."""
    value = scope_header(scope, b"authorization")
    return bearer_secret(value.decode("latin-1")) if value is not None else ""
