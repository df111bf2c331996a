"""The floor: the cheapest HTTP/1.1 keep-alive server we can write, answering `{}` to any request.

Not an emulator: it shows how fast the boto3 client itself can go on this machine, so a server's
figures can be read against what no server can beat. An asyncio protocol that finds the end of
the headers and the Content-Length, skips the body and sends a canned reply.

    python floor_server.py PORT
"""

from __future__ import annotations

import asyncio
import sys

_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
    b"x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nContent-Length: 2\r\n\r\n{}"
)


class Floor(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            self.transport.write(_REPLY)


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Floor, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
