#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A LOCAL STAND-IN, on 127.0.0.1 only, for the servers the bridges are
tested against: a Kubernetes API server (mode "kube": GET /api answers an
APIVersions object) or a git smart-HTTP server (mode "git": the real
git-http-backend run as a CGI program). Both demand a credential first:
a request without the right one gets 401 with a WWW-Authenticate
challenge. The right one is the token in TOKENFILE, read on every request
(a record JSON's access_token, or the first line of a plain file), so a
refreshed token is the right one at once: "Authorization: Bearer TOKEN",
or Basic with TOKEN as the password (git).

Usage: bearer_standin.py MODE PORTFILE LOGFILE TOKENFILE [EXTRA]

EXTRA is the repositories' directory (git), or a PEM file with a
certificate and its key (kube): then the stand-in speaks TLS, as kubectl
sends a user's credentials only to an https server.

LOGFILE gets one JSON line per request: path, the scheme of the
credential and whether it matched, never the credential.
"""
import base64
import hmac
import http.server
import json
import os
import ssl
import subprocess
import sys

MODE, PORTFILE, LOGFILE, TOKENFILE = sys.argv[1:5]
EXTRA = sys.argv[5] if len(sys.argv) > 5 else None
PROJECT_ROOT = EXTRA if MODE == "git" else None
CERT = EXTRA if MODE == "kube" else None
BACKEND = "/usr/lib/git-core/git-http-backend"


def expected():
    with open(TOKENFILE) as f:
        text = f.read()
    if TOKENFILE.endswith(".json"):
        return json.loads(text).get("access_token", "")
    return text.split("\n", 1)[0]


def presented(header):
    """(scheme, secret) of an Authorization header, or (None, None)."""
    if not header or " " not in header:
        return None, None
    scheme, value = header.split(" ", 1)
    if scheme.lower() == "bearer":
        return "bearer", value.strip()
    if scheme.lower() == "basic":
        try:
            user_pass = base64.b64decode(value.strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return "basic", None
        return "basic", user_pass.split(":", 1)[1] if ":" in user_pass else None
    return scheme.lower(), None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def log_event(self, **kw):
        with open(LOGFILE, "a") as f:
            f.write(json.dumps(kw) + "\n")

    def authorized(self):
        scheme, secret = presented(self.headers.get("Authorization"))
        want = expected()
        ok = bool(secret) and bool(want) and hmac.compare_digest(
            secret.encode(), want.encode())
        self.log_event(path=self.path.split("?", 1)[0], scheme=scheme,
                       user_agent=self.headers.get("User-Agent", "")[:40],
                       result="ok" if ok else ("bad" if scheme else "none"))
        if not ok:
            body = b'{"kind":"Status","status":"Failure","code":401}'
            self.send_response(401)
            self.send_header("WWW-Authenticate",
                             'Basic realm="stand-in"' if MODE == "git"
                             else 'Bearer realm="stand-in"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        return ok

    def kube(self):
        if self.path != "/api":
            self.send_error(404)
            return
        body = json.dumps({"kind": "APIVersions", "versions": ["v1"],
                           "serverAddressByClientCIDRs": [
                               {"clientCIDR": "0.0.0.0/0",
                                "serverAddress": "127.0.0.1"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def git(self):
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "GIT_PROJECT_ROOT": PROJECT_ROOT, "GIT_HTTP_EXPORT_ALL": "1",
               "REQUEST_METHOD": self.command, "PATH_INFO": path,
               "QUERY_STRING": query, "REMOTE_USER": "stand-in",
               "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(data)),
               "GIT_PROTOCOL": self.headers.get("Git-Protocol", "")}
        out = subprocess.run([BACKEND], input=data, env=env,
                             capture_output=True, check=False).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        if not _:
            head, _, body = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split(" ", 1)[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        if not self.authorized():
            return
        if MODE == "kube":
            self.kube()
        else:
            self.git()

    do_GET = handle_any
    do_POST = handle_any


def main():
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    if CERT:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERT)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, PORTFILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
