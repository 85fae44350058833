#!/usr/bin/env python3
# A stand-in for `flashpan run` in the Machine API's unit tests: it takes the
# VMM's arguments, makes the hybrid vsock socket (--vsock cid=C,uds=PATH) and
# answers as the guest agent would (GUEST-CONTRACT.md): port 5002 accepts and
# closes, port 5000 speaks the exec frames. FAKE_VMM_MODE picks a behaviour:
#   ok (default)   ready after FAKE_VMM_BOOT_MS (default 50) ms
#   panic          print a kernel panic on the console and exit 5
#   never          never ready (the guest never listens)
# Commands it understands: "echo X", "exit N", "sleep N" (until killed or the
# host closes; writes FAKE_VMM_KILLED_FILE when the host closed), "cat" (stdin
# to stdout, ExecPipe), "env" (the request's env as NAME=VALUE lines), "fail".
import base64, json, os, signal, socket, struct, sys, threading, time

args = sys.argv[1:]
uds = None
for i, a in enumerate(args):
    if a == "--vsock":
        uds = dict(kv.split("=", 1) for kv in args[i + 1].split(","))["uds"]
mode = os.environ.get("FAKE_VMM_MODE", "ok")
print("fake-vmm: args " + " ".join(args), flush=True)
if mode == "panic":
    print("Kernel panic - not syncing: VFS: Unable to mount root fs", flush=True)
    sys.exit(5)
signal.signal(signal.SIGTERM, lambda *a: (os.path.exists(uds) and os.unlink(uds), os._exit(143)))
t0 = time.monotonic() + int(os.environ.get("FAKE_VMM_BOOT_MS", "50")) / 1000.0
time.sleep(0.02)  # the socket appears a little after the process
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
if os.path.exists(uds):
    os.unlink(uds)
srv.bind(uds)
srv.listen(64)


def send(c, t, p=b""):
    c.sendall(struct.pack(">BI", t, len(p)) + p)


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def recv(c):
    t, n = struct.unpack(">BI", recv_exact(c, 5))
    return t, recv_exact(c, n)


files = {}


def serve_exec(c):
    t, body = recv(c)
    req = json.loads(body)
    if t in (14, 15, 16):
        path = req["path"]
        if t == 14:
            files[path] = base64.b64decode(req["content"] or "")
            send(c, 17, b"{}")
        elif t == 15:
            if path not in files:
                send(c, 17, json.dumps({"error": "open %s: no such file or directory" % path}).encode())
            else:
                send(c, 17, json.dumps({"content": base64.b64encode(files[path]).decode()}).encode())
        else:
            ents = sorted(p[len(path.rstrip("/")) + 1:] for p in files if p.startswith(path.rstrip("/") + "/"))
            send(c, 17, json.dumps({"files": [{"name": n, "size": len(files[path.rstrip("/") + "/" + n]),
                                               "mode": 0o644, "mod_time": "2024-01-01T00:00:00Z",
                                               "is_dir": False} for n in ents]}).encode())
        return
    cmd = req["command"]
    out, code, err = b"", 0, ""
    stream = t in (11, 12, 9)
    if cmd.startswith("echo "):
        out = cmd[5:].encode() + b"\n"
    elif cmd.startswith("exit "):
        code = int(cmd[5:])
    elif cmd == "env":
        out = "".join("%s=%s\n" % kv for kv in sorted(req.get("env", {}).items())).encode()
    elif cmd == "fail":
        code, err = 127, "exec: \"nope\": executable file not found"
    elif cmd.startswith("sleep"):
        c.settimeout(None)
        try:
            d = c.recv(1)  # the host closing the connection is the cancel
        except OSError:
            d = b""
        if not d and os.environ.get("FAKE_VMM_KILLED_FILE"):
            open(os.environ["FAKE_VMM_KILLED_FILE"], "w").write("killed\n")
        return
    elif cmd == "cat":
        while True:
            tt, p = recv(c)
            if tt == 7 and not p:
                break
            if tt == 7:
                send(c, 3, p)
        send(c, 10, struct.pack(">I", 0))
        return
    if t == 9:
        send(c, 3, out.replace(b"\n", b"\r\n"))
        send(c, 10, struct.pack(">i", code))
        return
    if t == 12:
        send(c, 3, out)
        send(c, 10, struct.pack(">i", code))
        return
    if stream:
        send(c, 3, out)
        send(c, 4, b"warn\n")
        res = {"exit_code": code}
    else:
        res = {"exit_code": code}
        if out:
            res["stdout"] = base64.b64encode(out).decode()
    if err:
        res["error"] = err
    send(c, 2, json.dumps(res).encode())


def conn(c):
    try:
        line = b""
        while not line.endswith(b"\n"):
            d = c.recv(1)
            if not d:
                return
            line += d
        port = int(line.split()[1])
        if mode == "never" or time.monotonic() < t0 or port not in (5000, 5002):
            return  # nothing listens yet: the VMM closes the connection
        c.sendall(b"OK 1073741824\n")
        if port == 5000:
            serve_exec(c)
    except (EOFError, OSError):
        pass
    finally:
        c.close()


while True:
    c, _ = srv.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
