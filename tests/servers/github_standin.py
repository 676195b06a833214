#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""github_standin.py: a local STAND-IN for GitHub's OAuth endpoints, for tests.

This is not GitHub. It is a small test server that follows GitHub's
published OAuth device flow and token refresh API closely enough to test
kiwi-auth's `github` module against it: it listens on 127.0.0.1 only and
never talks to the real service.

  POST /login/device/code          form: client_id, scope
  POST /login/oauth/access_token   form: client_id, device_code, grant_type
                                   (device flow), or grant_type=refresh_token
  GET  /user                       Authorization: Bearer <token>

As GitHub does, it answers in JSON only when the request says
`Accept: application/json`, and form-encoded otherwise; errors of the token
endpoint come with HTTP 200 and an `error` field (authorization_pending,
slow_down with a new `interval`, expired_token, access_denied,
bad_refresh_token, incorrect_client_credentials). Polling faster than the
interval earns slow_down and 5 more seconds. Expiring user tokens carry
expires_in (28800) and refresh_token_expires_in; a refresh kills the old
access and refresh tokens at once. OAuth App tokens never expire.

Test controls (not part of the real API):
  POST /__standin/config   JSON merged into the settings below
  GET  /__standin/stats    counters
Settings: interval (1), approve_after (1: polls answered
authorization_pending before the person "approves"), slow_down_once (false), form (false: answer
form-encoded whatever Accept says), expiring (true), expires_in (28800),
deny (false), fail_count (0) / fail_status (500), scope ("repo,gist").

Usage: github_standin.py PORTFILE LOGFILE
The client id is CLIENT_ID below. LOGFILE gets one JSON line per request
(path, grant, result, accept, time); token values are never logged.
"""
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from loopback_server import serve
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "Iv1.standin0client"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOCK = threading.Lock()
SETTINGS = {"interval": 1, "approve_after": 1, "slow_down_once": False,
            "form": False, "expiring": True, "expires_in": 28800,
            "deny": False, "fail_count": 0, "fail_status": 500,
            "scope": "repo,gist"}
STATS = {"device": 0, "polls": 0, "refresh": 0, "failed": 0}
DEVICES = {}   # device_code -> {"polls", "interval", "last", "slowed"}
REFRESH = {}   # refresh token -> live
ACCESS = {}    # access token -> live


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_event(self, **kw):
        kw["t"] = time.time()
        with open(self.server.logfile, "a", encoding="utf-8") as f:
            f.write(json.dumps(kw) + "\n")

    def wants_json(self):
        return ("application/json" in (self.headers.get("Accept") or "")
                and not SETTINGS["form"])

    def reply(self, code, obj):
        if self.wants_json():
            data, ctype = json.dumps(obj).encode(), "application/json"
        else:
            data = urlencode(obj).encode()
            ctype = "application/x-www-form-urlencoded"
        self.send_response(code)
        self.send_header("Content-Type", ctype + "; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode() if n > 0 else ""
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def tokens(self):
        at = ("ghu_" if SETTINGS["expiring"] else "gho_") + secrets.token_hex(18)
        ACCESS[at] = True
        ans = {"access_token": at, "token_type": "bearer",
               "scope": SETTINGS["scope"]}
        if SETTINGS["expiring"]:
            rt = "ghr_" + secrets.token_hex(30)
            REFRESH[rt] = True
            ans.update(expires_in=int(SETTINGS["expires_in"]),
                       refresh_token=rt, refresh_token_expires_in=15811200)
        return ans

    # ---- routes ---------------------------------------------------------

    def control(self, url):
        if url.path == "/__standin/config" and self.command == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            with LOCK:
                SETTINGS.update(json.loads(self.rfile.read(n) or b"{}"))
            data = json.dumps(SETTINGS).encode()
        else:
            with LOCK:
                data = json.dumps(STATS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def device_code(self, f):
        STATS["device"] += 1
        if f.get("client_id") != CLIENT_ID:
            self.log_event(path="device", result="bad_client")
            return self.reply(200, {"error": "incorrect_client_credentials",
                                    "error_description": "The client_id "
                                    "and/or client_secret passed are "
                                    "incorrect."})
        dc = secrets.token_hex(20)
        DEVICES[dc] = {"polls": 0, "interval": int(SETTINGS["interval"]),
                       "last": 0.0, "slowed": False}
        port = self.server.server_address[1]
        self.log_event(path="device", result="ok", scope=f.get("scope", ""),
                       accept=self.headers.get("Accept"))
        return self.reply(200, {
            "device_code": dc, "user_code": "WDJB-MJHT",
            "verification_uri": "http://127.0.0.1:%d/login/device" % port,
            "expires_in": 900, "interval": int(SETTINGS["interval"])})

    def poll(self, f):
        STATS["polls"] += 1
        d = DEVICES.get(f.get("device_code"))
        if d is None:
            return self.reply(200, {"error": "incorrect_device_code"})
        now = time.time()
        d["polls"] += 1
        early = d["last"] and now - d["last"] < d["interval"] - 0.2
        if early or (SETTINGS["slow_down_once"] and not d["slowed"]):
            d["slowed"] = True
            d["interval"] += 5
            d["last"] = now
            self.log_event(path="poll", result="slow_down",
                           accept=self.headers.get("Accept"))
            return self.reply(200, {"error": "slow_down",
                                    "error_description": "Too many "
                                    "requests have been made in the same "
                                    "timeframe.",
                                    "interval": d["interval"]})
        d["last"] = now
        if SETTINGS["deny"]:
            self.log_event(path="poll", result="access_denied")
            return self.reply(200, {"error": "access_denied"})
        d["pending"] = d.get("pending", 0) + 1
        if d["pending"] <= int(SETTINGS["approve_after"]):
            self.log_event(path="poll", result="pending")
            return self.reply(200, {"error": "authorization_pending"})
        del DEVICES[f["device_code"]]
        self.log_event(path="poll", result="ok",
                       accept=self.headers.get("Accept"))
        return self.reply(200, self.tokens())

    def refresh(self, f):
        STATS["refresh"] += 1
        rt = f.get("refresh_token")
        if f.get("client_id") != CLIENT_ID:
            self.log_event(path="refresh", result="bad_client")
            return self.reply(200, {"error": "incorrect_client_credentials"})
        if not REFRESH.get(rt):
            self.log_event(path="refresh", result="bad_refresh_token")
            return self.reply(200, {"error": "bad_refresh_token",
                                    "error_description": "The refresh "
                                    "token passed is incorrect or "
                                    "expired."})
        REFRESH[rt] = False
        ACCESS.clear()   # the old access token dies with it
        self.log_event(path="refresh", result="ok")
        return self.reply(200, self.tokens())

    def handle_any(self):
        url = urlsplit(self.path)
        if url.path.startswith("/__standin/"):
            return self.control(url)
        with LOCK:
            if SETTINGS["fail_count"] > 0 and url.path.startswith("/login/"):
                SETTINGS["fail_count"] -= 1
                STATS["failed"] += 1
                self.log_event(path=url.path, result="injected_failure")
                data = b"<html>Unicorn!</html>"
                self.send_response(int(SETTINGS["fail_status"]))
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None
            if url.path == "/login/device/code" and self.command == "POST":
                return self.device_code(self.form())
            if (url.path == "/login/oauth/access_token"
                    and self.command == "POST"):
                f = self.form()
                if f.get("grant_type") == DEVICE_GRANT:
                    return self.poll(f)
                if f.get("grant_type") == "refresh_token":
                    return self.refresh(f)
                return self.reply(200, {"error": "unsupported_grant_type"})
            if url.path == "/user" and self.command == "GET":
                a = self.headers.get("Authorization") or ""
                ok = ACCESS.get(a.split(" ", 1)[-1])
                return self.reply(200 if ok else 401,
                                  {"login": "standin"} if ok else
                                  {"message": "Bad credentials"})
            return self.reply(404, {"message": "Not Found"})

    do_GET = handle_any
    do_POST = handle_any


def main():
    serve(Handler, "github_standin.py")


if __name__ == "__main__":
    main()
