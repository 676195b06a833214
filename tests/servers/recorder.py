#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""recorder.py: a small HTTP/1.1 test server for tests/cli/test-request.sh.

Listens on 127.0.0.1 only, on a free port it writes to PORTFILE, and
appends one JSON line per request it receives to LOGFILE:
{"method", "path", "headers": [[name, value], ...], "body", "peer"} where
peer is the client's port (two requests on one connection share it).

Routes:
  /redirect?to=URL&code=N  answers N (default 302) with Location: URL
  /leak?to=URL             302 to URL?t=<the request's X-Kiwi-Key or
                           Authorization>, as a careless server might
  /loop                    302 to /loop, for ever
  /big?n=N                 200 with N bytes of body
  /trickle?n=N             200 announcing N bytes, sent one every 0.2 s
  /status/N                answers status N with a short text body
  /echo                    echoes the request headers (body, and X-Echo)
  anything else            200, body "hello from PORT PATH" (text/plain)

Python standard library only. Usage: recorder.py PORTFILE LOGFILE
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from loopback_server import serve
from urllib.parse import parse_qs, quote, urlsplit

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def record(self, body):
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
            "peer": self.client_address[1],
        }
        with LOCK, open(self.server.logfile, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def answer(self, code, body, extra=()):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Recorder", "yes")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        self.record(body)
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if url.path == "/redirect":
            code = int(q.get("code", ["302"])[0])
            self.answer(code, "moved\n", [("Location", q["to"][0])])
        elif url.path == "/leak":
            cred = self.headers.get("X-Kiwi-Key") or self.headers.get("Authorization") or ""
            self.answer(302, "moved\n", [("Location", q["to"][0] + "?t=" + quote(cred))])
        elif url.path == "/loop":
            self.answer(302, "again\n", [("Location", "/loop")])
        elif url.path == "/big":
            self.answer(200, "x" * int(q["n"][0]))
        elif url.path == "/trickle":
            n = int(q["n"][0])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            try:
                for _ in range(n):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        elif url.path == "/echo":
            # Echoes the request headers back, in the body and in one
            # response header, as some debugging endpoints do.
            lines = "".join("%s: %s\n" % (k, v) for k, v in self.headers.items())
            auth = " | ".join(v for k, v in self.headers.items()
                              if k.lower().startswith("x-kiwi") or k.lower() == "authorization")
            self.answer(200, lines, [("X-Echo", auth)])
        elif url.path.startswith("/status/"):
            self.answer(int(url.path[8:]), "status page\n")
        else:
            port = self.server.server_address[1]
            self.answer(200, "hello from %d %s\n" % (port, url.path))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def main():
    serve(Handler, "recorder.py")


if __name__ == "__main__":
    main()
