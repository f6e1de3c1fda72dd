"""ASGI entry point: HTTP through Django, websockets through Channels.

Run with `uvicorn deploychecks.asgi:application`.
"""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deploychecks.settings")
# WhiteNoise serves static files with a synchronous iterator; under ASGI Django
# warns for every file. Harmless here (small files), so keep the log readable.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402

from deploychecks.accounts.middleware import WebsocketSessionLifetime  # noqa: E402
from deploychecks.core.lifespan import with_lifespan  # noqa: E402
from deploychecks.routing import websocket_urlpatterns  # noqa: E402

application = with_lifespan(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(WebsocketSessionLifetime(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)
