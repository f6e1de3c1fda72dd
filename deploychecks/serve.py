"""Serve Deploychecks with uvicorn: `python -m deploychecks.serve [uvicorn options]`.

What the Dockerfile, docker-compose.yml and `make run` start. It adds the
options every deployment needs (the app, lifespan on, no per-message deflate)
and takes uvicorn's proxy trust from TRUSTED_PROXIES, the setting the login
throttle and the audit log read (accounts.people.client_ip): with it set,
uvicorn believes X-Forwarded-For and -Proto from those addresses only; unset,
from nobody (`--no-proxy-headers`). uvicorn on its own believes them from
127.0.0.1, so anything that reaches it through the loopback (a sidecar, a
port forward, another process) could choose its address for each password
guess. Other options (--host, --port, --workers…) are passed through.
"""

import sys

from deploychecks.env import envnetworks

APP = ["deploychecks.asgi:application", "--lifespan", "on", "--ws-per-message-deflate", "false"]
PROXY_OPTIONS = ("--proxy-headers", "--no-proxy-headers", "--forwarded-allow-ips")


def uvicorn_args(argv: list[str]) -> list[str]:
    """uvicorn's command line for these arguments and the environment."""
    given = [arg for arg in argv if arg.split("=", 1)[0] in PROXY_OPTIONS]
    if given:
        raise SystemExit(
            f"deploychecks.serve: {given[0]} is set from TRUSTED_PROXIES; set that instead"
        )
    proxies = envnetworks("TRUSTED_PROXIES")
    if proxies:
        proxy = ["--proxy-headers", "--forwarded-allow-ips", ",".join(proxies)]
    else:
        proxy = ["--no-proxy-headers"]
    return [*APP, *proxy, *argv]


def main() -> None:
    from uvicorn.main import main as uvicorn_main

    uvicorn_main.main(args=uvicorn_args(sys.argv[1:]), prog_name="uvicorn")


if __name__ == "__main__":
    main()
