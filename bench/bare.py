"""The bare ASGI app of figure 1: reads the body, answers a fixed addsms-like JSON.

Served by ``postino serve``'s own uvicorn settings (``uvicorn_config``), so the ratio
measures Postino's work, not a difference in server settings.
"""

from __future__ import annotations

import sys

ANSWER = b'{"error":0,"sms_id":1,"message":"Sms has been saved successfully","sms_ids":[1]}'


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": ANSWER})


def main() -> None:
    """``python -m bench.bare PORT [--workers N]``: with N, N processes on the port through
    ``postino serve --workers``' own supervisor and SO_REUSEPORT sockets (``--listen-fd`` in each)."""
    import socket

    import uvicorn

    from postino import supervisor
    from postino.cli.server import uvicorn_config
    from postino.settings import Settings

    args = sys.argv[1:]
    settings = Settings(port=int(args[0]), log_level="warning")
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 1
    if workers > 1:
        sockets = supervisor.listening_sockets(settings.host, settings.port, workers)
        commands = [[sys.executable, "-m", "bench.bare", args[0], "--listen-fd", str(s.fileno())] for s in sockets]
        raise SystemExit(supervisor.supervise(commands, sockets))
    server = uvicorn.Server(uvicorn_config(app, settings))
    if "--listen-fd" in args:
        server.run(sockets=[socket.socket(fileno=int(args[args.index("--listen-fd") + 1]))])
    else:
        server.run()


if __name__ == "__main__":
    main()
