#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""supabase_standin.py: a local STAND-IN for Supabase Auth (GoTrue), for tests.

This is not Supabase and not GoTrue. It is a small test server that follows
the published Supabase Auth API closely enough to test kiwi-auth's
`supabase` module against it: it listens on 127.0.0.1 only and never talks
to the real service.

  POST /auth/v1/token?grant_type=password       JSON {email, password}
  POST /auth/v1/token?grant_type=refresh_token  JSON {refresh_token}
  POST /auth/v1/logout[?scope=local]            Authorization: Bearer <access>
  GET  /auth/v1/user                            Authorization: Bearer <access>

Every /auth/v1 request needs the headers `apikey: <anon key>` and
`Authorization: Bearer ...`, as the hosted API gateway does. Sessions
answer {access_token, token_type, expires_in, expires_at, refresh_token,
user}. Refresh tokens rotate: a used one is rejected with HTTP 400
error_code refresh_token_already_used, and reusing it ends the session.
Errors use the shape {"code":400,"error_code":...,"msg":...}, or the
older {"error":"invalid_grant","error_description":...} when the test
asks for it.

Test controls (not part of the real API):
  POST /__standin/config   JSON merged into the settings below
  GET  /__standin/stats    counters
Settings: expires_in (3600), fail_count (0) and fail_status (500) to fail
the next requests, legacy_errors (false).

Usage: supabase_standin.py PORTFILE LOGFILE
The test users are user@example.com with password "correct horse" and
odd@example.com with a password full of JSON escapes (see USERS); the anon
key is ANON_KEY below. LOGFILE gets one JSON line per request (path, grant,
result); token values are never logged.
"""
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from loopback_server import serve
from urllib.parse import parse_qs, urlsplit

ANON_KEY = "standin-anon-key.eyJyb2xlIjoiYW5vbiJ9.sig"
USERS = {"user@example.com": "correct horse",
         "odd@example.com": "q\"uo\\te\tp\u00e4ss"}
LOCK = threading.Lock()
SETTINGS = {"expires_in": 3600, "fail_count": 0, "fail_status": 500,
            "legacy_errors": False}
STATS = {"password": 0, "refresh": 0, "logout": 0, "failed": 0,
         "requests": 0}
# refresh token -> {"session": id, "used": bool}; access token -> session
REFRESH = {}
ACCESS = {}
SESSIONS = {}  # id -> {"email", "active"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_event(self, **kw):
        kw["t"] = time.time()
        with open(self.server.logfile, "a", encoding="utf-8") as f:
            f.write(json.dumps(kw) + "\n")

    def reply(self, code, obj=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(code)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, msg):
        if SETTINGS["legacy_errors"] and status == 400:
            self.reply(400, {"error": "invalid_grant",
                             "error_description": msg})
        else:
            self.reply(status, {"code": status, "error_code": code,
                                "msg": msg})

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if ctype.strip().lower() != "application/json":
            return None, ctype
        try:
            obj = json.loads(raw or b"{}")
        except ValueError:
            return None, ctype
        return obj if isinstance(obj, dict) else None, ctype

    def bearer(self):
        a = self.headers.get("Authorization") or ""
        return a[7:] if a.startswith("Bearer ") else None

    def session(self, sid, email):
        at = "sbat-" + secrets.token_hex(16)
        rt = "sbrt-" + secrets.token_hex(12)
        ACCESS[at] = sid
        REFRESH[rt] = {"session": sid, "used": False}
        exp = int(SETTINGS["expires_in"])
        return {"access_token": at, "token_type": "bearer",
                "expires_in": exp, "expires_at": int(time.time()) + exp,
                "refresh_token": rt,
                "user": {"id": "standin-" + sid, "aud": "authenticated",
                         "role": "authenticated", "email": email}}

    # ---- routes ---------------------------------------------------------

    def control(self, url):
        if url.path == "/__standin/config" and self.command == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            with LOCK:
                SETTINGS.update(json.loads(self.rfile.read(n) or b"{}"))
            return self.reply(200, SETTINGS)
        if url.path == "/__standin/stats":
            with LOCK:
                active = sum(1 for s in SESSIONS.values() if s["active"])
                return self.reply(200, dict(STATS, sessions_active=active))
        return self.reply(404, {"msg": "no such control"})

    def token(self, grant):
        body, ctype = self.body_json()
        if body is None:
            self.log_event(path="token", grant=grant, result="not_json",
                           content_type=ctype)
            return self.error(400, "bad_json",
                              "Could not parse request body as JSON")
        if grant == "password":
            STATS["password"] += 1
            email, pw = body.get("email"), body.get("password")
            if not isinstance(email, str) or USERS.get(email) != pw:
                self.log_event(path="token", grant=grant,
                               result="invalid_credentials")
                return self.error(400, "invalid_credentials",
                                  "Invalid login credentials")
            sid = secrets.token_hex(4)
            SESSIONS[sid] = {"email": email, "active": True}
            self.log_event(path="token", grant=grant, result="ok",
                           content_type=ctype)
            return self.reply(200, self.session(sid, email))
        if grant == "refresh_token":
            STATS["refresh"] += 1
            rt = body.get("refresh_token")
            ent = REFRESH.get(rt) if isinstance(rt, str) else None
            if ent is None:
                self.log_event(path="token", grant=grant, result="not_found")
                return self.error(400, "refresh_token_not_found",
                                  "Invalid Refresh Token: Refresh Token "
                                  "Not Found")
            sess = SESSIONS[ent["session"]]
            if ent["used"]:
                # Reuse detected: the whole session is revoked.
                sess["active"] = False
                self.log_event(path="token", grant=grant, result="reused")
                return self.error(400, "refresh_token_already_used",
                                  "Invalid Refresh Token: Already Used")
            if not sess["active"]:
                self.log_event(path="token", grant=grant,
                               result="session_not_found")
                return self.error(400, "session_not_found",
                                  "Session from session_id claim in JWT "
                                  "does not exist")
            ent["used"] = True
            for at, sid in list(ACCESS.items()):
                if sid == ent["session"]:
                    del ACCESS[at]
            self.log_event(path="token", grant=grant, result="ok",
                           content_type=ctype)
            return self.reply(200, self.session(ent["session"],
                                                sess["email"]))
        self.log_event(path="token", grant=grant, result="bad_grant")
        return self.error(400, "validation_failed",
                          "unsupported_grant_type")

    def logout(self):
        STATS["logout"] += 1
        at = self.bearer()
        sid = ACCESS.get(at)
        if sid is None:
            self.log_event(path="logout", result="bad_jwt")
            return self.error(401, "bad_jwt", "invalid JWT")
        SESSIONS[sid]["active"] = False
        for t, s in list(ACCESS.items()):
            if s == sid:
                del ACCESS[t]
        self.log_event(path="logout", result="ok")
        return self.reply(204)

    def handle_any(self):
        url = urlsplit(self.path)
        if url.path.startswith("/__standin/"):
            return self.control(url)
        with LOCK:
            STATS["requests"] += 1
            if self.headers.get("apikey") != ANON_KEY:
                self.log_event(path=url.path, result="no_apikey")
                return self.reply(401, {"message": "Invalid API key"})
            if SETTINGS["fail_count"] > 0:
                SETTINGS["fail_count"] -= 1
                STATS["failed"] += 1
                self.log_event(path=url.path, result="injected_failure")
                return self.reply(int(SETTINGS["fail_status"]),
                                  {"message": "stand-in failure"})
            q = parse_qs(url.query)
            if url.path == "/auth/v1/token" and self.command == "POST":
                return self.token(q.get("grant_type", [""])[0])
            if url.path == "/auth/v1/logout" and self.command == "POST":
                return self.logout()
            if url.path == "/auth/v1/user" and self.command == "GET":
                sid = ACCESS.get(self.bearer())
                if sid is None:
                    return self.error(401, "bad_jwt", "invalid JWT")
                return self.reply(200, {"email": SESSIONS[sid]["email"]})
            return self.reply(404, {"msg": "not found"})

    do_GET = handle_any
    do_POST = handle_any


def main():
    serve(Handler, "supabase_standin.py")


if __name__ == "__main__":
    main()
