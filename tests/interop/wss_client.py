"""`wss://` against a hyperbun server with Python `websockets`, run by tests/tls.rs: the
server's certificate is verified against a CA made for the test (the name in the URL must be
in the certificate), and messages go both ways.

Usage: wss_client.py wss://127.0.0.1:PORT/echo CA.pem

The route must send a greeting on open and echo every message. Prints one JSON object: the
greeting, the echoes, the TLS version and cipher, the extension the server answered. Exits 1
with the reason on the first thing that goes wrong; every wait is bounded.
"""

import asyncio
import json
import ssl
import sys

from websockets.asyncio.client import connect

TIMEOUT = 10


async def main(url, ca):
    context = ssl.create_default_context(cafile=ca)  # verifies the chain and the name
    async with connect(
        url, ssl=context, open_timeout=TIMEOUT, close_timeout=TIMEOUT
    ) as ws:
        greeting = await asyncio.wait_for(ws.recv(), TIMEOUT)
        sent = ["hello over TLS", "☕ " * 500, b"\x00\x01\xfe\xff"]
        echoes = []
        for message in sent:
            await ws.send(message)
            echo = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if echo != message:
                raise SystemExit(f"sent {message!r:.60}, got back {echo!r:.60}")
            echoes.append(len(echo))
        tls = ws.transport.get_extra_info("ssl_object")
        report = {
            "ok": True,
            "greeting": greeting,
            "echo_lengths": echoes,
            "tls_version": tls.version(),
            "cipher": tls.cipher()[0],
            "extension": ws.response.headers.get("Sec-WebSocket-Extensions"),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
