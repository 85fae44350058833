#!/usr/bin/env python3
# The VMM's side of the hybrid vsock handshake, in front of an agent running on
# the host (build/guest/flashpan-agent --listen-unix PREFIX listens on
# PREFIX_5000 and PREFIX_5002), for tests of the CLI verbs and libflashpan
# without a guest (tests/cli-agent.t.sh):
#
#   vsock_proxy.py UDS PREFIX
#
# A client connects to UDS and writes "CONNECT <port>\n"; the proxy connects to
# PREFIX_<port> and answers "OK <hostport>\n" before any byte of the agent, then
# copies both ways; half-closes are passed on. When nothing listens on the port
# the client's socket is closed without an answer, as flashpan's VMM does.
# Counts the connections it served in UDS.count (one line per CONNECT) so a test
# can tell that the handshake was used.
import os, socket, sys, threading

uds, prefix = sys.argv[1], sys.argv[2]
hostport = [1023]
lock = threading.Lock()


def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(c):
    line = b""
    while not line.endswith(b"\n") and len(line) < 64:
        d = c.recv(1)
        if not d:
            c.close()
            return
        line += d
    words = line.decode(errors="replace").split()
    if len(words) != 2 or words[0] != "CONNECT" or not words[1].isdigit():
        c.close()
        return
    g = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        g.connect("%s_%s" % (prefix, words[1]))
    except OSError:
        c.close()
        g.close()
        return
    with lock:
        hostport[0] += 1
        port = hostport[0]
        with open(uds + ".count", "a") as f:
            f.write(words[1] + "\n")
    c.sendall(b"OK %d\n" % port)
    t = threading.Thread(target=pump, args=(g, c), daemon=True)
    t.start()
    pump(c, g)
    t.join()
    c.close()
    g.close()


if os.path.exists(uds):
    os.unlink(uds)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(uds)
srv.listen(64)
print("ready", flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
