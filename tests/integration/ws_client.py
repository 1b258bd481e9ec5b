#!/usr/bin/env python3
"""A minimal WebSocket client (standard library only) for the proxy's tunnel test.

  ws_client.py PORT MESSAGE...

Sends the handshake and, in the same write, its first frame (masked, as a client must), then
the other messages one by one; prints each echo it gets, then closes (close frame, the echo of
it, the server's FIN). Exits 0 only if the handshake's accept key and every echo were right.
"""
import base64
import hashlib
import os
import socket
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode]) + (
        bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    )
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Reader:
    def __init__(self, sock):
        self.sock, self.data = sock, b""

    def take(self, n):
        while len(self.data) < n:
            more = self.sock.recv(65536)
            if not more:
                raise EOFError("connection closed")
            self.data += more
        out, self.data = self.data[:n], self.data[n:]
        return out

    def head(self):
        while b"\r\n\r\n" not in self.data:
            more = self.sock.recv(65536)
            if not more:
                raise EOFError("closed before the head")
            self.data += more
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        return head.decode()

    def frame(self):
        b0, b1 = self.take(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self.take(2), "big")
        return b0 & 0x0F, self.take(n)


def main():
    port, messages = int(sys.argv[1]), [m.encode() for m in sys.argv[2:]]
    key = base64.b64encode(os.urandom(16))
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    request = (b"GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    sock.sendall(request + frame(1, messages[0]))  # an early frame, before the 101
    r = Reader(sock)
    head = r.head()
    print(head.splitlines()[0])
    fields = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
              for l in head.splitlines()[1:]}
    expected = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    ok = head.startswith("HTTP/1.1 101") and fields.get("sec-websocket-accept") == expected
    ok = ok and fields.get("upgrade", "").lower() == "websocket"
    ok = ok and "upgrade" in fields.get("connection", "").lower()
    for i, m in enumerate(messages):
        if i > 0:
            sock.sendall(frame(1, m))
        opcode, payload = r.frame()
        print("got: %s" % payload.decode())
        ok = ok and opcode == 1 and payload == b"echo: " + m
    sock.sendall(frame(8, b"\x03\xe8bye"))
    opcode, payload = r.frame()
    print("close: %d %r" % (opcode, payload))
    ok = ok and opcode == 8
    ok = ok and sock.recv(1) == b""  # the server's FIN, relayed
    sock.close()
    print("ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
