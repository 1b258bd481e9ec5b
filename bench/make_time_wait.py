#!/usr/bin/env python3
"""Makes COUNT client-side TIME_WAIT sockets on loopback, spread over several listener ports.

Run it inside a network namespace made for the benchmark (see stat_vs_ss.sh): each connection
is opened, closed by the client first, then by the server, so the client holds the TIME_WAIT.
"""
import socket
import sys


def main() -> int:
    count = int(sys.argv[1])
    per_port = int(sys.argv[2]) if len(sys.argv) > 2 else 15000
    made = 0
    while made < count:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)
        address = listener.getsockname()
        for _ in range(min(per_port, count - made)):
            client = socket.create_connection(address)
            server, _ = listener.accept()
            client.close()
            server.recv(1)  # the client's FIN
            server.close()
            made += 1
        listener.close()
    print(f"time_wait_made: {made}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
