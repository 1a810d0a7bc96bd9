#!/usr/bin/env python3
"""One TCP transfer for the relay lab, content checked with SHA-256.

  tcp_xfer.py serve  PORT  send|recv BYTES SEED
  tcp_xfer.py connect ADDR PORT send|recv BYTES SEED

The sender streams BYTES pseudo-random bytes from SEED; both ends print
`bytes N sha256 HEX` when done. The server prints `listening` once it accepts.
"""
import hashlib
import random
import socket
import sys

CHUNK = 64 * 1024
TIMEOUT_S = 120


def send(sock, total, seed):
    rng = random.Random(seed)
    h = hashlib.sha256()
    sent = 0
    while sent < total:
        block = rng.randbytes(min(CHUNK, total - sent))
        sock.sendall(block)
        h.update(block)
        sent += len(block)
    sock.shutdown(socket.SHUT_WR)
    # Wait for the receiver to close: everything arrived.
    while sock.recv(CHUNK):
        pass
    return sent, h.hexdigest()


def recv(sock):
    h = hashlib.sha256()
    got = 0
    while True:
        block = sock.recv(CHUNK)
        if not block:
            break
        h.update(block)
        got += len(block)
    sock.shutdown(socket.SHUT_WR)
    return got, h.hexdigest()


def transfer(sock, mode, total, seed):
    sock.settimeout(TIMEOUT_S)
    n, digest = send(sock, total, seed) if mode == "send" else recv(sock)
    print(f"bytes {n} sha256 {digest}", flush=True)


def main(argv):
    if len(argv) == 6 and argv[1] == "serve":
        _, _, port, mode, total, seed = argv
        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("::", int(port)))
        srv.listen(1)
        srv.settimeout(TIMEOUT_S)
        print("listening", flush=True)
        conn, _ = srv.accept()
        transfer(conn, mode, int(total), int(seed))
        return 0
    if len(argv) == 7 and argv[1] == "connect":
        _, _, addr, port, mode, total, seed = argv
        sock = socket.create_connection((addr, int(port)), timeout=TIMEOUT_S)
        transfer(sock, mode, int(total), int(seed))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
