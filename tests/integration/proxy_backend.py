#!/usr/bin/env python3
"""A backend for the proxy's tests: records every request it gets and answers by path.

  GET  /big?n=N[&chunked=1]  N bytes of a fixed pattern, with Content-Length or chunked
  POST /sha                  the sha256 (hex) of the request body (Content-Length or chunked)
  GET  /peer                 the port the request came from (the proxy's local port)
  anything else              the request line and fields as received, as text

Prints "listening: 127.0.0.1:PORT"; with --log FILE appends "METHOD TARGET" per request.
"""
import hashlib
import http.server
import socketserver
import sys
import urllib.parse

LOG = None
PATTERN = bytes(range(256)) * 256  # 64 KiB


def pattern(n):
    out = bytearray()
    while len(out) < n:
        out += PATTERN[: n - len(out)]
    return bytes(out)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def answer(self, body, chunked=False):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "keep-alive, X-Backend-Hop")
        self.send_header("X-Backend-Hop", "should not pass")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for at in range(0, len(body), 65536):
                piece = body[at : at + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    def handle_any(self):
        if LOG:
            with open(LOG, "a") as f:
                f.write("%s %s\n" % (self.command, self.path))
        body = self.read_body()
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/big":
            n = int(query["n"][0])
            self.answer(pattern(n), chunked=query.get("chunked") == ["1"])
        elif url.path == "/peer":
            self.answer(str(self.client_address[1]).encode())
        elif url.path == "/sha":
            self.answer(hashlib.sha256(body).hexdigest().encode())
        else:
            text = "%s\n%sbody-length: %d\n" % (self.requestline, str(self.headers), len(body))
            self.answer(text.encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    global LOG
    if "--log" in sys.argv:
        LOG = sys.argv[sys.argv.index("--log") + 1]
    server = Server(("127.0.0.1", 0), Handler)
    print("listening: 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
