#!/usr/bin/env python3
"""Idle keep-alive clients for bench/proxy_vs_peers.sh.

Usage: hold_connections.py PORT COUNT HOLD_SECONDS

Opens COUNT connections to 127.0.0.1:PORT one after another, sends one request on each and
reads its whole response (Content-Length framed), prints `held: N`, keeps them all open and idle
for HOLD_SECONDS, then resets them (SO_LINGER 0, so no TIME_WAIT is left behind) and prints
`closed`. Bounded in time: each step has a 5 s timeout, opening stops after 60 s, and the first
failure ends the opening (`stopped: REASON`); what is held by then is held and reported.
"""
import socket
import struct
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
RESET = struct.pack("ii", 1, 0)


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(4096)
        if not more:
            raise OSError("closed before a response")
        data += more
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        more = sock.recv(4096)
        if not more:
            raise OSError("closed in a response body")
        body += more
    if not head.startswith(b"HTTP/1.1 200"):
        raise OSError("answer: " + head.split(b"\r\n")[0].decode(errors="replace"))


def main():
    port, count, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    deadline = time.monotonic() + 60
    held = []
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                raise OSError("60 s passed")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
            sock.settimeout(5)
            try:
                sock.connect(("127.0.0.1", port))
                sock.sendall(REQUEST)
                read_response(sock)
            except OSError:
                sock.close()
                raise
            held.append(sock)
    except OSError as error:
        print(f"stopped: {error or type(error).__name__}", flush=True)
    print(f"held: {len(held)}", flush=True)
    time.sleep(hold)
    for sock in held:
        sock.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
