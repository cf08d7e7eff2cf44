"""permessage-deflate against a hyperbun server with Python `websockets`, a client whose
compression is on by default (it offers `permessage-deflate; client_max_window_bits`, like
browsers), run by tests/python_interop.rs.

Usage: deflate_client.py ws://127.0.0.1:PORT

The server must have the routes of tests/python_interop.rs: `/shared` (shared compressor and
decompressor; echoes compressed; `publish:TEXT` publishes TEXT compressed to `news`, which
every socket joins), `/dedicated` (context takeover both ways; echoes compressed) and
`/limited` (max_payload_length 1 KiB).

Prints one JSON object: per scenario, the extension the server answered and how many frames
went each way compressed (RSV1), counted by wrapping websockets' own permessage-deflate
codec. Exits 1 with the reason on the first thing that goes wrong; every wait is bounded.
"""

import asyncio
import json
import os
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.frames import DATA_OPCODES

TIMEOUT = 10

# Frames that carried compressed data (RSV1 on a message's first frame), both ways.
counts = {"sent_compressed": 0, "received_compressed": 0}
_encode, _decode = PerMessageDeflate.encode, PerMessageDeflate.decode


def counting_encode(self, frame):
    encoded = _encode(self, frame)
    if encoded.rsv1:
        counts["sent_compressed"] += 1
    return encoded


def counting_decode(self, frame, *, max_size=None):
    if frame.rsv1 and frame.opcode in DATA_OPCODES:
        counts["received_compressed"] += 1
    return _decode(self, frame, max_size=max_size)


PerMessageDeflate.encode = counting_encode
PerMessageDeflate.decode = counting_decode


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), TIMEOUT)


async def open_socket(url, factory=None):
    """Connects offering `factory` (websockets' default offer when None) and checks that the
    server accepted permessage-deflate."""
    options = {"max_size": 16 * 2**20, "open_timeout": TIMEOUT, "close_timeout": TIMEOUT}
    if factory is not None:
        options.update(compression=None, extensions=[factory])
    ws = await connect(url, **options)
    answer = ws.response.headers.get("Sec-WebSocket-Extensions")
    check(answer is not None, f"{url}: no Sec-WebSocket-Extensions in the 101 answer")
    check(
        any(isinstance(e, PerMessageDeflate) for e in ws.protocol.extensions),
        f"{url}: websockets did not enable permessage-deflate (answer: {answer!r})",
    )
    return ws, answer


def messages():
    """Text and binary messages: empty, tiny, below and above every threshold, repetitive and
    not, up to 1 MiB."""
    prose = "the quick brown fox jumps over the lazy dog; "
    out = ["", "a", "héllo wörld ☕", prose * 3, prose * 300]
    out.append(os.urandom(200))  # incompressible
    out.append(bytes(range(256)) * 4096)  # 1 MiB, compressible
    out.append((prose * 25_000)[: 2**20 - 3] + "é")  # 1 MiB of text ending in a 2-byte char
    return out


async def echo_all(ws, rounds=1):
    for _ in range(rounds):
        for message in messages():
            await ws.send(message)
            echoed = await recv(ws)
            check(type(echoed) is type(message), f"echo of a {type(message).__name__} came back as {type(echoed).__name__}")
            check(echoed == message, f"echo of {len(message)} bytes differs")


async def scenario(name, body):
    before = dict(counts)
    details = await body()
    result = {k: counts[k] - before[k] for k in counts}
    result.update(details)
    return name, result


async def shared_default(base):
    ws, answer = await open_socket(f"{base}/shared")
    async with ws:
        await echo_all(ws)
    return {"extension": answer}


async def shared_small_windows_no_takeover(base):
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=9,
        client_max_window_bits=9,
    )
    ws, answer = await open_socket(f"{base}/shared", factory)
    async with ws:
        await echo_all(ws)
    return {"extension": answer}


async def dedicated_context_takeover(base):
    ws, answer = await open_socket(f"{base}/dedicated")
    async with ws:
        # Many similar messages: each later one refers back into the previous ones, both ways.
        for i in range(300):
            message = f"message {i}: the quick brown fox jumps over the lazy dog {i % 7}"
            await ws.send(message)
            check(await recv(ws) == message, f"echo {i} differs")
        await echo_all(ws, rounds=2)
    return {"extension": answer}


async def fragmented(base):
    ws, answer = await open_socket(f"{base}/shared")
    async with ws:
        parts = ["first part, ", "second part, ", "x" * 5000, "é☕ end"]
        await ws.send(parts)  # one message in four frames, compressed as one
        check(await recv(ws) == "".join(parts), "fragmented text echo differs")
        blobs = [b"\x00" * 70_000, bytes(range(256)), b"tail"]
        await ws.send(blobs)
        check(await recv(ws) == b"".join(blobs), "fragmented binary echo differs")
    return {"extension": answer}


async def publish(base):
    publisher, answer = await open_socket(f"{base}/shared")
    subscriber, _ = await open_socket(f"{base}/shared")
    async with publisher, subscriber:
        # Both joined `news` in `open`; a round trip on each proves the server ran it.
        for ws in (publisher, subscriber):
            await ws.send("ready?")
            check(await recv(ws) == "ready?", "round trip before publishing")
        text = "breaking: " + "the quick brown fox " * 50
        await publisher.send("publish:" + text)
        check(await recv(subscriber) == text, "the subscriber got another message")
    return {"extension": answer}


async def bomb(base):
    ws, answer = await open_socket(f"{base}/limited")
    # 1 MiB of zeros compresses to about 1 KiB: within the limit on the wire, far past it inflated.
    await ws.send(b"\x00" * 2**20)
    try:
        reply = await recv(ws)
        raise Failure(f"/limited answered a 1 MiB message with {len(reply)} bytes instead of closing")
    except ConnectionClosedError as closed:
        code = closed.rcvd.code if closed.rcvd else None
        check(code == 1009, f"/limited closed with {code}, not 1009")
    return {"extension": answer, "close_code": 1009}


async def main(base):
    report = {}
    for name, body in [
        ("shared_default", shared_default),
        ("shared_small_windows_no_takeover", shared_small_windows_no_takeover),
        ("dedicated_context_takeover", dedicated_context_takeover),
        ("fragmented", fragmented),
        ("publish", publish),
        ("bomb", bomb),
    ]:
        try:
            name, result = await scenario(name, lambda: body(base))
        except Exception as error:  # the scenario's name and what went wrong, then exit 1
            print(json.dumps({"ok": False, "scenario": name, "error": f"{type(error).__name__}: {error}"}))
            sys.exit(1)
        report[name] = result
    print(json.dumps({"ok": True, "scenarios": report}))


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].startswith("ws://127.0.0.1:"):
        sys.exit("usage: deflate_client.py ws://127.0.0.1:PORT")
    asyncio.run(main(sys.argv[1]))
