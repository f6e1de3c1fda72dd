from deploychecks.core.errors import RunError


class SignalError(RunError):
    """Refused input for a go/no-go signal or reading (HTTP 400; the ingest API 422)."""
