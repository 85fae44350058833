#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The host side of the net-basic test kernel (tests/kernels/net_basic.c).

Creates the guest's network descriptor, starts flashpan on it, and answers:
every frame of ethertype 0x88b5 comes back with the addresses swapped and the
payload bytes (after the Ethernet header) inverted. A frame whose payload
starts with "BYE" makes the peer close its end (for a TAP: delete the
interface). Frames longer than MTU + 14 must never arrive (the device drops
them).

  peer.py --kind dgram|stream|tap [--tap NAME] [--mtu N] --out FILE --err FILE -- FLASHPAN ARGS...

--kind dgram|stream: a socketpair; flashpan gets `--net fd=N[,mtu=M]` on the
other end. --kind tap: the TAP interface NAME must exist (ip tuntap add) in the
current network namespace; flashpan gets `--net tap=NAME`, the peer reads and
writes the interface with an AF_PACKET socket. --kind tapfd: the same, but the
peer attaches to NAME itself (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) and flashpan
inherits that descriptor (`--net fd=N`).

Prints "peer: ok <n> frames" or "peer: FAIL <why>" and exits with flashpan's
status (99 when the peer itself failed).
"""
import argparse
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys
import time

ETHERTYPE = 0x88B5
HOST_MAC = bytes([0x02, 0, 0, 0, 0, 1])
PACKET_OUTGOING = 4


class Stream:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def recv(self):
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return frame
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buf += data

    def send(self, frame):
        self.sock.sendall(struct.pack(">I", len(frame)) + frame)


class Dgram:
    def __init__(self, sock):
        self.sock = sock

    def recv(self):
        return self.sock.recv(65536)

    def send(self, frame):
        self.sock.send(frame)


class Packet:
    def __init__(self, sock):
        self.sock = sock

    def recv(self):
        while True:
            frame, addr = self.sock.recvfrom(65536)
            if addr[2] != PACKET_OUTGOING:  # our own sends show up too
                return frame

    def send(self, frame):
        self.sock.send(frame)


def echo(frame):
    return frame[6:12] + HOST_MAC + frame[12:14] + bytes(b ^ 0xFF for b in frame[14:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", required=True, choices=["dgram", "stream", "tap", "tapfd"])
    ap.add_argument("--tap")
    ap.add_argument("--mtu", type=int, default=1500)
    ap.add_argument("--net-extra", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--err", required=True)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    extra = (",mtu=%d" % a.mtu if a.mtu != 1500 else "") + a.net_extra

    pass_fds = []
    if a.kind in ("tap", "tapfd"):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        s.bind((a.tap, 0))
        peer = Packet(s)
        if a.kind == "tap":
            cmd += ["--net", "tap=%s%s" % (a.tap, extra)]
        else:
            # Attach here and hand the descriptor over, as the runtime does.
            theirs = open("/dev/net/tun", "r+b", buffering=0)
            ifr = struct.pack("16sH", a.tap.encode(), 0x0002 | 0x1000 | 0x4000)  # TAP|NO_PI|VNET_HDR
            fcntl.ioctl(theirs, 0x400454CA, ifr)  # TUNSETIFF
            pass_fds = [theirs.fileno()]
            cmd += ["--net", "fd=%d%s" % (theirs.fileno(), extra)]
    else:
        typ = socket.SOCK_DGRAM if a.kind == "dgram" else socket.SOCK_STREAM
        mine, theirs = socket.socketpair(socket.AF_UNIX, typ)
        pass_fds = [theirs.fileno()]
        peer = Dgram(mine) if a.kind == "dgram" else Stream(mine)
        s = mine
        cmd += ["--net", "fd=%d%s" % (theirs.fileno(), extra)]

    with open(a.out, "wb") as out, open(a.err, "wb") as err:
        vm = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=pass_fds)
    if pass_fds:
        theirs.close()

    why, frames, deadline = None, 0, time.monotonic() + a.timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], min(left, 0.5))[0]:
                if vm.poll() is not None:
                    why = "flashpan exited before BYE"
                    break
                if left <= 0:
                    why = "timed out waiting for frames"
                    break
                continue
            frame = peer.recv()
            if len(frame) < 14 or struct.unpack(">H", frame[12:14])[0] != ETHERTYPE:
                continue  # a TAP's host stack chatter
            frames += 1
            if len(frame) > a.mtu + 14:
                why = "got a %d-byte frame, over MTU %d + 14" % (len(frame), a.mtu)
                break
            if frame[14:17] == b"BYE":
                break
            peer.send(echo(frame))
    except EOFError:
        why = "flashpan closed the stream before BYE"
    # The peer goes away: the guest must see its link go down.
    s.close()
    if a.kind in ("tap", "tapfd"):
        subprocess.run(["ip", "link", "del", a.tap], check=False)
    try:
        rc = vm.wait(timeout=max(5, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        vm.kill()
        rc = vm.wait()
        why = why or "flashpan did not exit after the peer closed"
    print("peer: FAIL %s" % why if why else "peer: ok %d frames" % frames)
    sys.exit(99 if why else rc)


if __name__ == "__main__":
    main()
