"""Django's ASGI handler, with each HTTP request in one thread from end to end."""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse


class ThreadedASGIHandler(ASGIHandler):
    """Run the middleware chain and the view synchronously, in the request's thread.

    Django's own handler runs the chain in async mode: a synchronous
    middleware, each `process_view` and the view then each cross between
    the event loop and the request's thread, about six crossings per request
    here. Every crossing waits for the loop, and the loop is also the one
    fanning broadcasts out to this process's websockets, so a tick's request
    waited for other people's updates several times over (bench/fanout.py).
    All of this project's middleware and views are synchronous: here a
    request crosses once, in and out. Websockets are unaffected (Channels).
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def run_get_response(self, request):
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__
        # As Django's: the server does the chunking of files.
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response
