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
    import uvicorn

    from postino.cli.server import uvicorn_config
    from postino.settings import Settings

    settings = Settings(port=int(sys.argv[1]), log_level="warning")
    uvicorn.Server(uvicorn_config(app, settings)).run()


if __name__ == "__main__":
    main()
