# A viewer behind a slow link, for the ?quality=auto tests: an HTTP GET on a socket whose
# receive buffer is small (SO_RCVBUF set before connect, which also turns off Linux's receive
# autotuning), read no faster than a rate that stdin changes ("RATE <bit/s>" lines). The
# small window is what a real bottleneck gives a sender: bytes the link has not carried stay
# unacknowledged at the server, where its viewer queue sees them. Node cannot set SO_RCVBUF on
# a TCP socket, hence this helper. Body bytes go to stdout.
import socket, sys, threading, time

host, port, path, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
state = {"rate": rate}

def control():
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 2 and parts[0] == "RATE":
            state["rate"] = float(parts[1])
    sys.exit(0)

threading.Thread(target=control, daemon=True).start()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.connect((host, port))
s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
out = sys.stdout.buffer
head = b""
while b"\r\n\r\n" not in head:
    d = s.recv(4096)
    if not d:
        sys.exit(1)
    head += d
body = head.split(b"\r\n\r\n", 1)[1]
chunked = b"chunked" in head.lower()
# De-chunk incrementally.
buf = body
def emit(data):
    out.write(data)
    out.flush()
budget = 0.0
last = time.monotonic()
while True:
    while chunked:
        i = buf.find(b"\r\n")
        if i < 0:
            break
        size = int(buf[:i].split(b";")[0] or b"0", 16)
        if len(buf) < i + 2 + size + 2:
            break
        emit(buf[i + 2:i + 2 + size])
        buf = buf[i + 2 + size + 2:]
    if not chunked and buf:
        emit(buf)
        buf = b""
    now = time.monotonic()
    budget = min(budget + (now - last) * state["rate"] / 8, 4096)
    last = now
    if budget < 1024:
        time.sleep((1024 - budget) * 8 / state["rate"])
        continue
    d = s.recv(int(budget))
    if not d:
        break
    budget -= len(d)
    buf += d
