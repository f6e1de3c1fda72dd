"""Fail fast, with a how-to, when PostgreSQL or Redis is not reachable."""

import os
import socket
import sys
from urllib.parse import urlparse

HINT = (
    "Start them with `docker compose up -d postgres redis`, or on this machine:\n"
    "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
    "  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no\n"
    "or point DATABASE_URL / REDIS_URL at running servers."
)


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=3
        ):
            return True
    except OSError:
        return False


def main() -> int:
    down = []
    for name, port in (("DATABASE_URL", 5432), ("REDIS_URL", 6379)):
        url = os.environ[name]
        if not reachable(url, port):
            down.append(f"{name}={url}")
    if down:
        print(
            "make test needs PostgreSQL and Redis; not reachable: " + ", ".join(down),
            file=sys.stderr,
        )
        print(HINT, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
