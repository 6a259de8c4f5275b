"""Echo server on Python's websockets (with its C speed-ups), for the end-to-end comparison."""
import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(port):
    async with serve(echo, "127.0.0.1", port, max_size=2**26, ping_interval=None, compression=None) as server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9021))
