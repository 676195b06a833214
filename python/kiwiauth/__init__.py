# SPDX-License-Identifier: MIT
"""kiwiauth: the executor API of libkiwiauth for Python.

A tool executor opens one Broker and hands it each tool's HTTP request;
the library authorizes it (origin, scope, a fresh token, refreshed if need
be), sends it, follows redirects under the origin rules, masks any echo of
the credential, and gives back the answer. The token never becomes a
Python object: it goes from the library's secure memory into the request
header inside libcurl, and nothing here can read it.

    import kiwiauth
    broker = kiwiauth.Broker()
    chain = [{"name": "list_items", "required_scope": "items:read"},
             {"name": "items", "auth_service": "internal-api"}]
    r = broker.perform(chain, "GET", "https://api.kiwi.example/items")
    print(r.status, r.metadata)

Errors are KiwiAuthError subclasses mirroring the library's statuses
(AuthenticationRequired, Denied, SourceUnavailable, ConfigError, ...),
each with the library's message (which never holds a token).
"""
from __future__ import annotations

import asyncio
import ctypes
import functools
import json
import math
import threading
import time
from ctypes import byref, c_char_p, c_int, c_size_t, c_void_p
from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Tuple, Union)

from . import _lib

__all__ = ["Broker", "Response", "ToolScope", "KiwiAuthError",
           "AuthenticationRequired", "Denied", "InsufficientScope",
           "SourceUnavailable", "ConfigError", "InvalidRequest",
           "RequestError", "Timeout", "library_version"]

__version__ = "0.1.0"

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], Iterable[str]]
Chain = Union[None, str, "ToolScope", Sequence[Mapping[str, Any]], bytes]


# ---- exceptions ----------------------------------------------------------

class KiwiAuthError(Exception):
    """A failure reported by libkiwiauth.

    str(e) is the library's message, written for a person (it says what
    to do) and never holding a token. status is the C status code
    (enum ka_status), status_name its name, auth_required whether a person
    must sign in, and metadata what an executor copies into the tool's
    result (auth_required, service, scope, injected).
    """

    def __init__(self, message: str, status: int = 0,
                 auth_required: bool = False,
                 metadata: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.status_name = _strerror(status) if status else "error"
        self.auth_required = auth_required
        self.metadata: Dict[str, Any] = dict(metadata or {})
        self.metadata["auth_required"] = auth_required


class AuthenticationRequired(KiwiAuthError):
    """Nobody is signed in (or the token expired and cannot be refreshed):
    the message names the command that fixes it; auth_required is True."""


class Denied(KiwiAuthError):
    """The URL's origin or the required scope is not allowed."""


class InsufficientScope(Denied, AuthenticationRequired):
    """The server asked for scopes the token lacks (step-up): the message
    names them and the `kiwi-auth signin SERVICE --add-scope` command."""


class SourceUnavailable(KiwiAuthError):
    """A source of the service's stack could not be consulted."""


class ConfigError(KiwiAuthError):
    """The configuration is broken (the message has file:line), a module
    would not load, or the service is not configured."""


class InvalidRequest(KiwiAuthError, ValueError):
    """An argument was refused: a malformed chain, URL or header."""


class RequestError(KiwiAuthError):
    """The request could not be completed: network, protocol, size."""


class Timeout(RequestError, TimeoutError):
    """The request ran past its deadline."""


_BY_STATUS = {
    _lib.ERR_NOT_FOUND: AuthenticationRequired,
    _lib.ERR_EXPIRED: AuthenticationRequired,
    _lib.ERR_DENIED: Denied,
    _lib.ERR_UNAVAILABLE: SourceUnavailable,
    _lib.ERR_TRY_AGAIN: SourceUnavailable,
    _lib.ERR_CORRUPT: SourceUnavailable,
    _lib.ERR_PERMISSION: SourceUnavailable,
    _lib.ERR_CONFIG: ConfigError,
    _lib.ERR_MODULE: ConfigError,
    _lib.ERR_NO_SERVICE: ConfigError,
    _lib.ERR_INVALID: InvalidRequest,
    _lib.ERR_NETWORK: RequestError,
    _lib.ERR_PROTOCOL: RequestError,
    _lib.ERR_TIMEOUT: Timeout,
}


def _strerror(status: int) -> str:
    return _lib.text(_lib.lib().ka_strerror(status)) or "error"


def _raise(st: int, err: _lib.KaError,
           metadata: Optional[Dict[str, Any]] = None) -> None:
    msg = _lib.text(err.text) or _strerror(st)
    auth = bool(err.auth_required)
    cls = _BY_STATUS.get(st, KiwiAuthError)
    if auth and cls is Denied:
        cls = InsufficientScope
    elif auth and not issubclass(cls, AuthenticationRequired):
        cls = AuthenticationRequired
    raise cls(msg, st, auth, metadata)


def library_version() -> str:
    """Where the library was loaded from (the path ctypes opened)."""
    return str(_lib.lib()._name)


# ---- tool chains ---------------------------------------------------------

class ToolScope:
    """The scope and service a tool needs, from its chain of manifests.

    chain is a list of manifests (dicts), the tool first and its outermost
    parent last, or that list as JSON text. The first required_scope and
    auth_service found from the tool outwards win: a tool overrides its
    parents. No required_scope anywhere: a public tool (scope None).
    """

    def __init__(self, chain: Union[str, bytes,
                                    Sequence[Mapping[str, Any]]]) -> None:
        if isinstance(chain, str):
            data = chain.encode("utf-8")
        elif isinstance(chain, (bytes, bytearray)):
            data = bytes(chain)
        else:
            data = json.dumps(list(chain)).encode("utf-8")
        L = _lib.lib()
        self._ts = c_void_p()
        err = _lib.KaError()
        st = L.ka_tool_scope_new(data, len(data), byref(self._ts), byref(err))
        if st != _lib.OK:
            _raise(st, err)
        self.scope: Optional[str] = _lib.text(L.ka_tool_scope_scope(self._ts))
        self.service: Optional[str] = _lib.text(
            L.ka_tool_scope_service(self._ts))
        self.tool: Optional[str] = _lib.text(L.ka_tool_scope_tool(self._ts))

    @property
    def public(self) -> bool:
        """True for a tool that needs no credential."""
        return self.scope is None

    def __del__(self) -> None:
        ts = getattr(self, "_ts", None)
        if ts:
            _lib.lib().ka_tool_scope_free(ts)
            self._ts = c_void_p()

    def __repr__(self) -> str:
        return "ToolScope(tool=%r, scope=%r, service=%r)" % (
            self.tool, self.scope, self.service)


# ---- responses -----------------------------------------------------------

class Response:
    """The final answer of a performed request, copied out of the library.

    status: the HTTP status; headers: (name, value) pairs in the order
    received; body: bytes; url: the final hop's URL; redirects: how many
    were followed; metadata: {auth_required, service, account, scope,
    injected, masked} for the tool's result (every echo of the credential
    in headers and body was masked by the library: '*'s, see libkiwiauth(3)).
    """

    def __init__(self, status: int, headers: List[Tuple[str, str]],
                 body: bytes, url: str, redirects: int,
                 metadata: Dict[str, Any]) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url
        self.redirects = redirects
        self.metadata = metadata

    def header(self, name: str) -> Optional[str]:
        """The first header called name (any case), or None."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return self.status < 400

    def __repr__(self) -> str:
        return "<Response %d %s>" % (self.status, self.url)


def _response(L: ctypes.CDLL, r: c_void_p) -> Response:
    n = c_size_t()
    p = L.ka_response_body(r, byref(n))
    body = ctypes.string_at(p, n.value) if p else b""
    headers = [(_lib.text(L.ka_response_header_name(r, i)) or "",
                _lib.text(L.ka_response_header_value(r, i)) or "")
               for i in range(L.ka_response_header_count(r))]
    meta = {
        "auth_required": False,
        "service": _lib.text(L.ka_response_service(r)),
        "account": _lib.text(L.ka_response_account(r)),
        "scope": _lib.text(L.ka_response_scope(r)),
        "injected": bool(L.ka_response_injected(r)),
        "masked": int(L.ka_response_masked(r)),
    }
    return Response(int(L.ka_response_status(r)), headers, body,
                    _lib.text(L.ka_response_url(r)) or "",
                    int(L.ka_response_redirects(r)), meta)


def _header_lines(headers: Optional[Headers]) -> List[bytes]:
    if headers is None:
        return []
    items: Iterable[Any] = (headers.items() if isinstance(headers, Mapping)
                            else headers)
    out = []
    for h in items:
        if isinstance(h, str):
            line = h
        else:
            k, v = h
            line = "%s: %s" % (k, v)
        out.append(line.encode("utf-8"))
    return out


def _body_bytes(body: Union[None, bytes, bytearray, memoryview, str]) -> \
        Optional[bytes]:
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


# ---- the broker ----------------------------------------------------------

class Broker:
    """A libkiwiauth context: the configuration, its services and modules.

    config: a file, or a directory holding kiwi-auth.conf and services.d/;
    None means $KIWI_AUTH_CONFIG, else the system and user configuration.
    module_dir: None means $KIWI_AUTH_MODULE_DIR, else the installed one.
    lenient: open even with broken stanzas (those services fail closed).

    One Broker is meant to be shared by every executor thread: the library
    is thread-safe for one context and the GIL is released during each
    call. close() (or leaving a with block) waits for calls in progress.
    """

    def __init__(self, config: Optional[str] = None,
                 module_dir: Optional[str] = None,
                 lenient: bool = False) -> None:
        L = _lib.lib()
        opts = _lib.KaOptions()
        opts.config = _lib.arg(None if config is None else str(config))
        opts.module_dir = _lib.arg(None if module_dir is None
                                   else str(module_dir))
        opts.flags = _lib.CTX_LENIENT if lenient else 0
        ctx = c_void_p()
        err = _lib.KaError()
        st = L.ka_ctx_new(byref(opts), byref(ctx), byref(err))
        if st != _lib.OK:
            _raise(st, err)
        self._ctx: Optional[c_void_p] = ctx
        self._cond = threading.Condition()
        self._busy = 0

    # A call holds the context open; close() waits until none is left.
    def _enter(self) -> c_void_p:
        with self._cond:
            if self._ctx is None:
                raise ValueError("the Broker is closed")
            self._busy += 1
            return self._ctx

    def _leave(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def close(self) -> None:
        """Free the context, once no call is in progress. Idempotent."""
        with self._cond:
            while self._busy:
                self._cond.wait()
            ctx, self._ctx = self._ctx, None
        if ctx:
            _lib.lib().ka_ctx_free(ctx)

    def __enter__(self) -> "Broker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_ctx", None) is not None:
            self.close()

    # ---- services and status -------------------------------------------

    def diagnostics(self) -> List[str]:
        """Problems found while opening ("file:line: message")."""
        L = _lib.lib()
        ctx = self._enter()
        try:
            return [_lib.text(L.ka_ctx_diag(ctx, i)) or ""
                    for i in range(L.ka_ctx_diag_count(ctx))]
        finally:
            self._leave()

    def services(self) -> List[Dict[str, Any]]:
        """Every configured service: name, description, origin
        ("file:line"), hosts, scopes, refresh (module or None), error (why
        it is disabled, or None)."""
        L = _lib.lib()
        ctx = self._enter()
        try:
            out = []
            for i in range(L.ka_service_count(ctx)):
                s = L.ka_service_at(ctx, i)
                out.append({
                    "name": _lib.text(L.ka_service_name(s)),
                    "description": _lib.text(L.ka_service_description(s)),
                    "origin": _lib.text(L.ka_service_origin(s)),
                    "hosts": [_lib.text(L.ka_service_host(s, k))
                              for k in range(L.ka_service_host_count(s))],
                    "scopes": [_lib.text(L.ka_service_scope(s, k))
                               for k in range(L.ka_service_scope_count(s))],
                    "refresh": _lib.text(L.ka_service_refresh_module(s)),
                    "error": _lib.text(L.ka_service_error(s)),
                })
            return out
        finally:
            self._leave()

    def status(self, service: Optional[str] = None,
               account: Optional[str] = None) -> List[Dict[str, Any]]:
        """The facts `kiwi-auth status --json` prints, one dict per
        (service, account): service, account, default (the account a
        call without one uses) and default_from, state (signed-in,
        unusable, not-signed-in, unavailable, error), source, expires_in,
        expires_at, scopes, refreshable, message, auth. Never a token.
        Without account: the default account and every account a source
        can list. An unknown service raises ConfigError."""
        L = _lib.lib()
        ctx = self._enter()
        try:
            if service is not None:
                s = L.ka_service_find(ctx, _lib.arg(service))
                if not s:
                    raise ConfigError(
                        "no service '%s' is configured: run 'kiwi-auth "
                        "services' to list them" % service,
                        _lib.ERR_NO_SERVICE)
                svcs = [s]
            else:
                svcs = [L.ka_service_at(ctx, i)
                        for i in range(L.ka_service_count(ctx))]
            now = int(time.time())
            rows: List[Dict[str, Any]] = []
            for s in svcs:
                rows.extend(self._status_service(L, ctx, s, account, now))
            return rows
        finally:
            self._leave()

    def _status_service(self, L: ctypes.CDLL, ctx: c_void_p, s: int,
                        account: Optional[str],
                        now: int) -> List[Dict[str, Any]]:
        name = _lib.text(L.ka_service_name(s)) or ""
        bad = _lib.text(L.ka_service_error(s))
        if bad is not None:
            return [self._row(ctx, name, account or "default", "error",
                              message=bad)]
        why: Optional[str] = None
        if account is not None:
            accounts = [account]
        else:
            # The default account first, as ka_account_pick chooses it.
            buf = ctypes.create_string_buffer(257)
            how = c_char_p()
            err = _lib.KaError()
            first = "default"
            if L.ka_account_pick(ctx, _lib.arg(name), None, buf,
                                 ctypes.sizeof(buf), byref(how),
                                 byref(err)) == _lib.OK:
                first = buf.value.decode("utf-8", "replace")
                why = _lib.text(how.value)
                if why == "only" and first == "default":
                    why = "default"
            why = why or "default"
            accounts = [first]

            def add(a: Optional[bytes], data: Any) -> None:
                t = _lib.text(a)
                if t is not None and t not in accounts:
                    accounts.append(t)
            err = _lib.KaError()
            L.ka_accounts(ctx, _lib.arg(name), _lib.ACCOUNT_FN(add), None,
                          byref(err))
        rows = [self._status_account(L, ctx, s, name, a, now)
                for a in accounts]
        if why is not None:
            rows[0]["default"], rows[0]["default_from"] = True, why
        return rows

    def _status_account(self, L: ctypes.CDLL, ctx: c_void_p, s: int,
                        name: str, account: str,
                        now: int) -> Dict[str, Any]:
        rec = c_void_p()
        err = _lib.KaError()
        st = L.ka_load(ctx, _lib.arg(name), _lib.arg(account), byref(rec),
                       byref(err))
        try:
            if st == _lib.OK and rec:
                return self._row_signed_in(L, ctx, s, name, account, rec,
                                           now)
            st = st if st != _lib.OK else _lib.ERR_NOT_FOUND
            if err.auth_required or st in (_lib.ERR_NOT_FOUND,
                                           _lib.ERR_EXPIRED):
                state = "not-signed-in"
            elif st in (_lib.ERR_UNAVAILABLE, _lib.ERR_PERMISSION,
                        _lib.ERR_TRY_AGAIN, _lib.ERR_TIMEOUT,
                        _lib.ERR_CORRUPT):
                state = "unavailable"
            else:
                state = "error"
            return self._row(ctx, name, account, state,
                             message=_lib.text(err.text) or _strerror(st))
        finally:
            L.ka_record_free(rec)

    def _row_signed_in(self, L: ctypes.CDLL, ctx: c_void_p, s: int,
                       name: str, account: str, rec: c_void_p,
                       now: int) -> Dict[str, Any]:
        exp = int(L.ka_record_expires_at(rec))
        refreshable = bool(L.ka_record_has_refresh_token(rec) and
                           L.ka_service_refresh_module(s))
        state, message = "signed-in", None
        fix = ("sign in again with 'kiwi-auth signin"
               if L.ka_service_refresh_module(s) else
               "store a new one with 'kiwi-auth token set")
        # The broker's rule, as kiwi-auth status applies it: an access
        # token more than min_valid seconds from expiry, or none is used.
        if refreshable:
            pass
        elif not L.ka_record_has_access_token(rec) or exp <= now:
            state = "not-signed-in"
            message = ("the token of %s expired and cannot be refreshed; "
                       "%s %s'" % (name, fix, name))
        elif (exp != _lib.EXPIRES_NEVER and
              exp - now <= L.ka_service_min_valid(s)):
            state = "unusable"
            message = ("the token of %s expires in %d s, within min_valid "
                       "(%d s), and cannot be refreshed, so it is not "
                       "used; %s %s'" % (name, exp - now,
                                         L.ka_service_min_valid(s), fix,
                                         name))
        if exp == _lib.EXPIRES_NEVER:
            expires_in: Any = "never"
            expires_at: Any = None
        else:
            expires_in, expires_at = max(exp, 0) - now, exp
        return self._row(
            ctx, name, account, state, has_record=True,
            source=_lib.text(L.ka_record_source(rec)),
            expires_in=expires_in, expires_at=expires_at,
            scopes=[_lib.text(L.ka_record_scope(rec, i))
                    for i in range(L.ka_record_scope_count(rec))],
            refreshable=refreshable, message=message)

    def _row(self, ctx: c_void_p, name: str, account: str, state: str,
             has_record: bool = False, source: Optional[str] = None,
             expires_in: Any = None, expires_at: Any = None,
             scopes: Optional[List[Any]] = None, refreshable: bool = False,
             message: Optional[str] = None) -> Dict[str, Any]:
        return {"service": name, "account": account,
                "default": False, "default_from": None, "state": state,
                "source": source, "expires_in": expires_in,
                "expires_at": expires_at, "scopes": scopes or [],
                "refreshable": refreshable, "message": message,
                "auth": self._describe(ctx, name)}

    def _describe(self, ctx: c_void_p, name: str) -> Dict[str, str]:
        items: Dict[str, str] = {}

        def cb(k: Optional[bytes], v: Optional[bytes], data: Any) -> None:
            items[_lib.text(k) or ""] = _lib.text(v) or ""
        err = _lib.KaError()
        if _lib.lib().ka_service_describe(ctx, _lib.arg(name),
                                          _lib.DESCRIBE_FN(cb), None,
                                          byref(err)) != _lib.OK:
            return {}
        return items

    # ---- refresh ---------------------------------------------------------

    def refresh(self, service: str, account: Optional[str] = None,
                force: bool = False) -> bool:
        """Refresh (service, account) if it is due (always with force);
        True if this call refreshed. The new token goes from the server
        into the source stack; it is never returned."""
        L = _lib.lib()
        ctx = self._enter()
        try:
            done = c_int()
            err = _lib.KaError()
            st = L.ka_refresh(ctx, _lib.arg(service), _lib.arg(account),
                              _lib.REFRESH_FORCE if force else 0,
                              byref(done), byref(err))
            if st != _lib.OK:
                _raise(st, err, {"service": service})
            return bool(done.value)
        finally:
            self._leave()

    # ---- requests --------------------------------------------------------

    def scope(self, chain: Union[str, bytes,
                                 Sequence[Mapping[str, Any]]]) -> ToolScope:
        """The ToolScope of a chain of manifests (see ToolScope)."""
        return ToolScope(chain)

    def perform(self, chain_or_scope: Chain, method: str, url: str,
                headers: Optional[Headers] = None,
                body: Union[None, bytes, bytearray, memoryview, str] = None,
                service: Optional[str] = None,
                account: Optional[str] = None,
                timeout: Optional[float] = None,
                max_redirects: Optional[int] = None,
                max_response: Optional[int] = None) -> Response:
        """Send one tool request through the library; return its Response.

        chain_or_scope: the tool's chain of manifests (a list of dicts, or
        a ToolScope), a required scope (str), or None for a public tool
        (sent as it is: the broker is not consulted). service names the
        service when the chain does not (None: the one service listing the
        scope); account defaults to "default". headers: a mapping, (name,
        value) pairs or "Name: value" lines; the library refuses routing
        headers (Host, ...) and drops credential-bearing ones on a
        redirect to another origin. timeout: seconds for the whole
        exchange, redirects included (None: the service's, else 30 s).
        max_redirects: None for 10, a negative number never to follow.

        Any HTTP status is a Response; failures to authorize or send raise
        a KiwiAuthError subclass whose metadata has auth_required.
        """
        if isinstance(chain_or_scope, ToolScope):
            ts: Optional[ToolScope] = chain_or_scope
            scope = None
        elif chain_or_scope is None or isinstance(chain_or_scope, str):
            ts, scope = None, chain_or_scope
        else:
            ts, scope = ToolScope(chain_or_scope), None
        meta = {"service": service or (ts.service if ts else None),
                "scope": scope or (ts.scope if ts else None),
                "injected": False}
        lines = _header_lines(headers)
        data = _body_bytes(body)
        pr = _lib.KaPerformRequest()
        pr.req.primitive = b"http_client"
        pr.req.method = _lib.arg(method.upper())
        pr.req.url = _lib.arg(url)
        pr.req.scope = _lib.arg(scope)
        pr.req.service = _lib.arg(service)
        pr.req.account = _lib.arg(account)
        pr.chain = ts._ts if ts is not None else None
        harr = (c_char_p * (len(lines) + 1))(*lines, None)
        pr.headers = ctypes.cast(harr, ctypes.POINTER(c_char_p))
        if data is not None:
            pr.body = ctypes.cast(c_char_p(data), c_void_p)
            pr.body_len = len(data)
        if timeout is not None:
            if timeout <= 0:
                raise ValueError("timeout must be a positive number of "
                                 "seconds, not %r" % (timeout,))
            pr.timeout_ms = max(1, int(math.ceil(timeout * 1000)))
        if max_redirects is not None:
            pr.max_redirects = -1 if max_redirects == 0 else max_redirects
        if max_response is not None:
            pr.max_response = max_response
        L = _lib.lib()
        ctx = self._enter()
        out = c_void_p()
        try:
            err = _lib.KaError()
            st = L.ka_perform(ctx, byref(pr), byref(out), byref(err))
            if st != _lib.OK:
                _raise(st, err, meta)
            return _response(L, out)
        finally:
            L.ka_response_free(out)
            self._leave()
            del data, harr, ts

    async def aperform(self, chain_or_scope: Chain, method: str, url: str,
                       **kwargs: Any) -> Response:
        """perform() for asyncio: runs in the loop's default executor (a
        thread, the GIL released while the library works), so the event
        loop goes on while the request is in flight."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, functools.partial(self.perform, chain_or_scope, method,
                                    url, **kwargs))
