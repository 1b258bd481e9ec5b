#!/usr/bin/env python3
"""A backend that answers badly on purpose, by path, for the proxy's tests (requests without
bodies only):

  /conflict  two different Content-Length fields
  /garbage   bytes that are no HTTP response
  /close     closes without answering
  /extra     a whole response followed by bytes nobody asked for
  anything else: 200 "ok\\n"

Prints "listening: 127.0.0.1:PORT".
"""
import socketserver

GOOD = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        pending = b""
        while True:
            while b"\r\n\r\n" not in pending:
                data = self.request.recv(65536)
                if not data:
                    return
                pending += data
            head, pending = pending.split(b"\r\n\r\n", 1)
            path = head.split(b" ")[1]
            if path == b"/conflict":
                self.request.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
            elif path == b"/garbage":
                self.request.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
            elif path == b"/close":
                return
            elif path == b"/extra":
                self.request.sendall(GOOD + b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
            else:
                self.request.sendall(GOOD)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print("listening: 127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
