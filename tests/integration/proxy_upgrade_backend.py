#!/usr/bin/env python3
"""A backend for the proxy's upgrade, 1xx and trailer tests (standard library only).

  GET  /ws (Upgrade: websocket)  101 with Sec-WebSocket-Accept, then echoes text frames as
                                 "echo: PAYLOAD" until a close frame, answered, then closes
  GET  /ws-sink                  101, then reads nothing (a slow side) until the peer goes
  GET  /refuse                   403 with an Upgrade field, whatever the request asked
  GET  /sneaky101                101 to a request that did not ask for one
  GET  /hints                    103 Early Hints (Link), then 200
  POST /continue                 100 Continue (X-Interim: backend) when asked, then 200 with
                                 the body's length
  GET  /trailers                 a chunked 200 with trailer fields, some that may not be ones
  POST /trailers-in              200 with the trailer fields of its chunked body as text
  anything else                  200 "plain"

Prints "listening: 127.0.0.1:PORT"; with --log FILE appends "open PORT", "PORT METHOD TARGET"
and "close PORT" lines (PORT: the client's, one per connection).
"""
import base64
import hashlib
import socketserver
import sys
import threading
import time

LOG = None
LOCK = threading.Lock()
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def log(line):
    if LOG:
        with LOCK, open(LOG, "a") as f:
            f.write(line + "\n")


class Handler(socketserver.StreamRequestHandler):
    def read_head(self):
        line = self.rfile.readline()
        if not line:
            return None
        while line in (b"\r\n",):
            line = self.rfile.readline()
        method, target, version = line.decode().split()
        fields = []
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode().partition(":")
            fields.append((name.strip(), value.strip()))
        return method, target, version, fields

    def field(self, fields, name):
        for n, v in fields:
            if n.lower() == name:
                return v
        return None

    def read_body(self, fields):
        """The body and the trailer lines of a chunked one."""
        if "chunked" in (self.field(fields, "transfer-encoding") or "").lower():
            body, trailers = b"", []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while True:
                        line = self.rfile.readline()
                        if line in (b"\r\n", b""):
                            return body, trailers
                        trailers.append(line.decode().strip())
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.field(fields, "content-length") or "0")), []

    def answer(self, status, body, extra=""):
        self.wfile.write(
            ("HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" % (status, len(body), extra)).encode()
            + body
        )

    def handle(self):
        port = self.client_address[1]
        log("open %d" % port)
        try:
            while self.serve_one(port):
                pass
        finally:
            log("close %d" % port)

    def serve_one(self, port):
        head = self.read_head()
        if head is None:
            return False
        method, target, version, fields = head
        log("%d %s %s" % (port, method, target))
        if target == "/ws":
            return self.websocket(fields)
        if target == "/ws-sink":
            self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\n\r\n")
            self.wfile.flush()
            time.sleep(30)
            return False
        if target == "/continue" and (self.field(fields, "expect") or "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\nX-Interim: backend\r\n\r\n")
            self.wfile.flush()
        body, trailers = self.read_body(fields)
        if target == "/refuse":
            self.answer("403 Forbidden", b"no upgrade here\n", "Upgrade: websocket\r\n")
        elif target == "/sneaky101":
            self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: upgrade\r\n\r\n")
            return False
        elif target == "/hints":
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            self.wfile.flush()
            self.answer("200 OK", b"hinted\n")
        elif target == "/continue":
            self.answer("200 OK", b"%d bytes\n" % len(body))
        elif target == "/trailers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                             b"Trailer: X-Checksum\r\n\r\n"
                             b"5\r\nhello\r\n6\r\n world\r\n0\r\n"
                             b"X-Checksum: abc123\r\nSet-Cookie: no=1\r\nX-Other: kept\r\n\r\n")
        elif target == "/trailers-in":
            self.answer("200 OK", ("\n".join(trailers) + "\n").encode())
        else:
            self.answer("200 OK", b"plain\n")
        self.wfile.flush()
        return True

    def websocket(self, fields):
        key = self.field(fields, "sec-websocket-key")
        if (self.field(fields, "upgrade") or "").lower() != "websocket" or not key:
            self.answer("400 Bad Request", b"not a websocket handshake\n")
            return False
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        self.wfile.flush()
        while True:
            opcode, payload = self.read_frame()
            if opcode is None:
                return False
            if opcode == 8:  # close: answered, then the server closes first (RFC 6455 7.1.1)
                self.send_frame(8, payload)
                return False
            if opcode == 1:
                self.send_frame(1, b"echo: " + payload)

    def read_frame(self):
        head = self.rfile.read(2)
        if len(head) < 2:
            return None, None
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(self.rfile.read(2), "big")
        elif length == 127:
            length = int.from_bytes(self.rfile.read(8), "big")
        mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = self.rfile.read(length)
        return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    def send_frame(self, opcode, payload):
        n = len(payload)
        head = bytes([0x80 | opcode]) + (
            bytes([n]) if n < 126 else bytes([126]) + n.to_bytes(2, "big")
        )
        self.wfile.write(head + payload)
        self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global LOG
    if "--log" in sys.argv:
        LOG = sys.argv[sys.argv.index("--log") + 1]
    server = Server(("127.0.0.1", 0), Handler)
    print("listening: 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
