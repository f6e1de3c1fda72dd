from tests.audit.conftest import purge_audit_events  # noqa: E402,F401  shared cleanup
