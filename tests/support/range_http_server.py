#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test-only HTTP server on 127.0.0.1 for `kvbench data fetch` (tests/unit/test_data_cli.cpp).

Serves the files under ROOT with single-range support (Range: bytes=A- or bytes=A-B -> 206 with
Content-Range; a start at or past the end -> 416 with "bytes */SIZE"), and can misbehave on
purpose:
  --drop PATH:BYTES:TIMES  the first TIMES GET requests of PATH send the full headers but close
                           the connection after BYTES body bytes (an interrupted download);
  --ignore-range           answer every GET with 200 and the whole file (a server without ranges).
Each finished request is appended to --log as one JSON line:
  {"path", "range" (the Range header or null), "status", "sent" (body bytes), "dropped"}.
The bound port is written to --port-file once the server listens (port 0: any free port).
"""
import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse_range(header, size):
    """(start, end_inclusive) for a single 'bytes=' range, 'unsatisfiable', or None (no/ignored)."""
    if not header or not header.startswith("bytes="):
        return None
    spec = header[len("bytes="):]
    if "," in spec or "-" not in spec:
        return None
    first, last = spec.split("-", 1)
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        return (max(size - n, 0), size - 1) if n > 0 else "unsatisfiable"
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kvbench-test-range-server"

    def log_message(self, fmt, *args):  # quiet: the JSON log is what the test reads
        pass

    def record(self, status, sent, dropped=False):
        entry = {"path": self.path, "range": self.headers.get("Range"), "status": status,
                 "sent": sent, "dropped": dropped}
        with self.server.log_lock:
            with open(self.server.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")

    def send_error_page(self, status, extra_headers=()):
        body = f"{status}\n".encode()
        self.send_response(status)
        for key, value in extra_headers:
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.record(status, 0)

    def do_GET(self):
        rel = self.path.split("?", 1)[0].lstrip("/")
        full = os.path.realpath(os.path.join(self.server.root, rel))
        if not full.startswith(self.server.root + os.sep) or not os.path.isfile(full):
            self.send_error_page(404)
            return
        with open(full, "rb") as f:
            data = f.read()
        size = len(data)
        wanted = None if self.server.ignore_range else parse_range(self.headers.get("Range"), size)
        if wanted == "unsatisfiable":
            self.send_error_page(416, [("Content-Range", f"bytes */{size}")])
            return
        if wanted is None:
            status, start, end = 200, 0, size - 1
        else:
            status, (start, end) = 206, wanted
        body = data[start:end + 1]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "none" if self.server.ignore_range else "bytes")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        limit = None
        with self.server.drop_lock:
            rule = self.server.drops.get("/" + rel)
            if rule and rule["times"] > 0:
                rule["times"] -= 1
                limit = rule["bytes"]
        if limit is not None and limit < len(body):
            self.wfile.write(body[:limit])
            self.wfile.flush()
            self.close_connection = True
            self.record(status, limit, dropped=True)
            self.connection.shutdown(2)  # SHUT_RDWR: the client sees a short body
            return
        self.wfile.write(body)
        self.record(status, len(body))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--drop", action="append", default=[], help="PATH:BYTES:TIMES")
    parser.add_argument("--ignore-range", action="store_true")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.root = os.path.realpath(args.root)
    server.log_path = args.log
    server.log_lock = threading.Lock()
    server.drop_lock = threading.Lock()
    server.ignore_range = args.ignore_range
    server.drops = {}
    for rule in args.drop:
        path, nbytes, times = rule.rsplit(":", 2)
        server.drops[path] = {"bytes": int(nbytes), "times": int(times)}
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
