from deploychecks.realtime.broadcast import held_broadcasts


class HoldBroadcastsMiddleware:
    """Send a request's broadcasts once its response is ready (`held_broadcasts`).

    Near the top of MIDDLEWARE, inside ServerTimingMiddleware: the sends are
    part of the request's measured time.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with held_broadcasts():
            return self.get_response(request)
