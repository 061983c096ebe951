"""ASGI entry point: HTTP through Django, /ws through the realtime consumer."""

from __future__ import annotations

import logging
import os
import threading
import warnings

from django.core.asgi import get_asgi_application

# whitenoise hands Django a synchronous file iterator for each static file; under ASGI
# Django reads it in a worker thread, which is correct (just not async-native), and would
# otherwise print this warning for every file the page loads.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")



class QuietSocketLines(logging.Filter):
    """Drops uvicorn's INFO lines for each WebSocket opened and closed ('"WebSocket /ws"
    [accepted]', "connection open", "connection closed"): thousands of sockets coming
    back after a restart would each write them, in the handshake's path. /ws/stats and
    the metrics count sockets; refusals (403) and errors are still logged."""

    SKIP = frozenset({'%s - "WebSocket %s" [accepted]', "connection open", "connection closed"})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or record.msg not in self.SKIP


logging.getLogger("uvicorn.error").addFilter(QuietSocketLines())

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockgate.settings")
# Set up Django (and its app registry) before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from marketgate.calendar import warm_up  # noqa: E402
from stockgate.realtime.auth import auth_stack  # noqa: E402
from stockgate.realtime.origin import origin_validated  # noqa: E402
from stockgate.realtime.routing import websocket_urlpatterns  # noqa: E402

# The KRX calendar takes seconds to build the first time on a machine; build it now, in
# the background, rather than in the first request that shows a gate.
threading.Thread(target=warm_up, name="calendar-warm-up", daemon=True).start()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_validated(auth_stack(URLRouter(websocket_urlpatterns))),
    }
)
