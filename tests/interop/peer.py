#!/usr/bin/env python3
"""The Linux side of tests/linux_interop.rs: one TCP connection through the
kernel's own stack, with hashes of what went each way.

  peer.py listen --port P [--send N] [--seed S] [--rst-after B] [--hold-ms T] [--oob]
      Accepts one connection; reads until the peer's FIN (or, with
      --rst-after, until B bytes arrived, then closes with SO_LINGER 0: a
      RST), sends N bytes, waits T ms, closes. With --oob it then reads the
      out-of-band byte (recv MSG_OOB) and prints `oob HEX` (or `oob none`).
  peer.py connect --to IP:PORT [--send N] [--seed S] [--hold-ms T] [--oob U]
      Connects, reads in a thread until the peer's FIN while sending N bytes
      (the last U of them with MSG_OOB: urgent data), shuts down its write
      side after them, waits for the FIN, waits T ms, closes.

Both print `received M sha256 HEX sent N sha256 HEX` (and `error: ...` with
exit status 1 when the connection fails). The data is the generator of
examples/tun.rs: block i = SHA-256(seed as u64 LE || i as u64 LE).
"""
import argparse
import array
import fcntl
import hashlib
import socket
import struct
import sys
import threading
import time


def generate(seed, n):
    """Yields the first n bytes of the generator, in chunks."""
    i = 0
    chunk = []
    left = n
    while left > 0:
        b = hashlib.sha256(struct.pack("<QQ", seed, i)).digest()
        i += 1
        chunk.append(b[:left] if left < 32 else b)
        left -= len(chunk[-1])
        if len(chunk) == 2048 or left == 0:
            yield b"".join(chunk)
            chunk = []


def say(line):
    print(line, flush=True)


SIOCATMARK = 0x8905


def at_mark(sock):
    b = array.array("i", [0])
    fcntl.ioctl(sock, SIOCATMARK, b)
    return b[0] != 0


class Reader(threading.Thread):
    def __init__(self, sock, limit=None, oob=False):
        super().__init__(daemon=True)
        self.sock, self.limit, self.oob = sock, limit, oob
        self.n, self.h, self.error = 0, hashlib.sha256(), None
        self.oob_byte = None

    def take_oob(self):
        # Linux stops a read before the urgent byte; it must be read out of
        # band before the next read passes it (then it is gone).
        for _ in range(2000):
            if not at_mark(self.sock):
                return
            try:
                self.oob_byte = self.sock.recv(1, socket.MSG_OOB)
                return
            except BlockingIOError:
                time.sleep(0.001)

    def run(self):
        try:
            while self.limit is None or self.n < self.limit:
                if self.oob and self.oob_byte is None:
                    self.take_oob()
                b = self.sock.recv(1 << 18)
                if not b:
                    break
                self.n += len(b)
                self.h.update(b)
        except OSError as e:
            self.error = e


def send_all(sock, n, seed, oob=0):
    h = hashlib.sha256()
    sent = 0
    data = b"".join(generate(seed, n)) if oob else None
    if oob:
        # The last `oob` bytes in one MSG_OOB send: Linux marks its last
        # byte as the urgent byte (tcp_stdurg=0).
        sock.sendall(data[: n - oob])
        sock.send(data[n - oob:], socket.MSG_OOB)
        h.update(data)
        return n, h
    for chunk in generate(seed, n):
        sock.sendall(chunk)
        h.update(chunk)
        sent += len(chunk)
    return sent, h


def finish(sock, reader, sent, sh, hold_ms):
    reader.join()
    if hold_ms:
        time.sleep(hold_ms / 1000)
    sock.close()
    say("received %d sha256 %s sent %d sha256 %s"
        % (reader.n, reader.h.hexdigest(), sent, sh.hexdigest()))
    if reader.error:
        say("error: %s" % reader.error)
        sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["listen", "connect"])
    p.add_argument("--port", type=int)
    p.add_argument("--to")
    p.add_argument("--send", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rst-after", type=int)
    p.add_argument("--hold-ms", type=int, default=0)
    p.add_argument("--oob", nargs="?", type=int, const=-1, default=0)
    a = p.parse_args()
    try:
        if a.cmd == "listen":
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("0.0.0.0", a.port))
            ls.listen(8)
            say("listening %d" % a.port)
            s, peer = ls.accept()
            say("accepted %s:%d" % peer)
            reader = Reader(s, a.rst_after, a.oob != 0)
            reader.start()
            reader.join()
            if a.rst_after is not None:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                say("reset after %d" % reader.n)
                return
            sent, sh = send_all(s, a.send, a.seed)
            if a.oob:
                b = reader.oob_byte
                say("oob %s" % (b.hex() if b else "none"))
            if a.send:
                s.shutdown(socket.SHUT_WR)
            finish(s, reader, sent, sh, a.hold_ms)
        else:
            host, port = a.to.rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=60)
            s.settimeout(None)
            say("connected %s:%d" % s.getsockname())
            reader = Reader(s)
            reader.start()
            sent, sh = send_all(s, a.send, a.seed, max(a.oob, 0))
            s.shutdown(socket.SHUT_WR)
            finish(s, reader, sent, sh, a.hold_ms)
    except OSError as e:
        say("error: %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
