from tests.audit.conftest import purge_audit_events  # noqa: F401  shared cleanup
