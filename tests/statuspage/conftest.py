from tests.audit.conftest import purge_audit_events  # noqa: F401  shared cleanup
from tests.gonogo.conftest import live_deployment  # noqa: F401
from tests.realtime.conftest import private_channel_prefix  # noqa: F401
