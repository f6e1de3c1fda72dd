"""ASGI entry point: HTTP through Django, websockets through Channels.

Run with `uvicorn deploychecks.asgi:application`.
"""

import gc
import os
import warnings

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deploychecks.settings")
# WhiteNoise serves static files with a synchronous iterator; under ASGI Django
# warns for every file. Harmless here (small files), so keep the log readable.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from deploychecks.core.asgi_handler import ThreadedASGIHandler  # noqa: E402

django_asgi_app = ThreadedASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from deploychecks.accounts.middleware import WebsocketSessionLifetime  # noqa: E402
from deploychecks.api.longpoll import with_gate_long_poll  # noqa: E402
from deploychecks.core.lifespan import with_lifespan  # noqa: E402
from deploychecks.evidence.upload_limit import with_evidence_limit  # noqa: E402
from deploychecks.gonogo.ingest_gate import with_ingest_gate  # noqa: E402
from deploychecks.routing import websocket_urlpatterns  # noqa: E402

application = with_lifespan(
    ProtocolTypeRouter(
        {
            # Gate long polls wait without a thread (api/longpoll.py); a flood of
            # readings and an oversized evidence upload are refused before Django
            # reads them (gonogo/ingest_gate.py, evidence/upload_limit.py); the rest: Django.
            "http": with_evidence_limit(with_ingest_gate(with_gate_long_poll(django_asgi_app))),
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(WebsocketSessionLifetime(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)

# Garbage collection: what was loaded at start-up (Django, the URL conf, the
# templates) lives as long as the process, so move it out of the collector's
# way, and collect the youngest generation less often than every 700
# allocations. A request allocates tens of thousands of objects, and with the
# defaults the collections landed in the requests' time (bench/fanout.py, 100
# viewers: tick server p95 37-39 ms, 29-33 ms with this).
# The older generations every 10 collections of the younger (Python's own
# ratio; 50 and 100 left more cyclic garbage in the process under load, issue
# 13), and a full collection once the process is idle (core/asgi_handler).
gc.freeze()
gc.set_threshold(10_000, 10, 10)
