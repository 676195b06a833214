# SPDX-License-Identifier: MIT
"""_lib.py: the ctypes declarations of libkiwiauth's public API (kiwiauth.h).

Only functions that never hand back a token are declared: there is no
getter for token bytes in the library, and none is bound here. Every call
through ctypes.CDLL releases the GIL for its duration, so one thread's
request does not hold up the others.

The library is found, in order: $KIWIAUTH_LIBRARY (a path; the tests point
it at the build tree), the soname libkiwiauth.so.0, then whatever
ctypes.util.find_library("kiwiauth") names.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import (POINTER, Structure, c_char, c_char_p, c_int, c_int64,
                    c_long, c_size_t, c_uint, c_void_p)
from typing import Optional

SONAME = "libkiwiauth.so.0"
ERROR_TEXT_LENGTH = 512
EXPIRES_NEVER = 2**63 - 1
CTX_LENIENT = 0x1
REFRESH_FORCE = 0x1

# enum ka_status (append only; values are ABI).
OK = 0
(ERR_NOMEM, ERR_INVALID, ERR_CONFIG, ERR_PERMISSION, ERR_MODULE,
 ERR_NO_SERVICE, ERR_NOT_FOUND, ERR_UNAVAILABLE, ERR_TRY_AGAIN,
 ERR_READ_ONLY, ERR_CORRUPT, ERR_IO, ERR_EXPIRED, ERR_DENIED,
 ERR_UNSUPPORTED, ERR_TIMEOUT, ERR_NETWORK, ERR_PROTOCOL) = range(1, 19)


class KaError(Structure):
    """struct ka_error: the caller-owned error (never holds a token)."""
    _fields_ = [("code", c_int), ("auth_required", c_int),
                ("text", c_char * ERROR_TEXT_LENGTH)]


LOG_FN = ctypes.CFUNCTYPE(None, c_int, c_char_p, c_void_p)


class KaOptions(Structure):
    _fields_ = [("config", c_char_p), ("module_dir", c_char_p),
                ("flags", c_uint), ("log", LOG_FN), ("log_data", c_void_p)]


class KaRequest(Structure):
    _fields_ = [("primitive", c_char_p), ("method", c_char_p),
                ("url", c_char_p), ("scope", c_char_p),
                ("service", c_char_p), ("account", c_char_p),
                ("tool", c_char_p)]


class KaPerformRequest(Structure):
    _fields_ = [("req", KaRequest), ("chain", c_void_p),
                ("headers", POINTER(c_char_p)), ("body", c_void_p),
                ("body_len", c_size_t), ("max_response", c_size_t),
                ("connect_timeout_ms", c_long), ("timeout_ms", c_long),
                ("max_redirects", c_int)]


DESCRIBE_FN = ctypes.CFUNCTYPE(None, c_char_p, c_char_p, c_void_p)
ACCOUNT_FN = ctypes.CFUNCTYPE(None, c_char_p, c_void_p)

_ERR = POINTER(KaError)
# name: (restype, argtypes)
_SIGNATURES = {
    "ka_strerror": (c_char_p, [c_int]),
    "ka_error_clear": (None, [_ERR]),
    "ka_ctx_new": (c_int, [POINTER(KaOptions), POINTER(c_void_p), _ERR]),
    "ka_ctx_free": (None, [c_void_p]),
    "ka_ctx_diag_count": (c_size_t, [c_void_p]),
    "ka_ctx_diag": (c_char_p, [c_void_p, c_size_t]),
    "ka_service_count": (c_size_t, [c_void_p]),
    "ka_service_at": (c_void_p, [c_void_p, c_size_t]),
    "ka_service_find": (c_void_p, [c_void_p, c_char_p]),
    "ka_service_name": (c_char_p, [c_void_p]),
    "ka_service_description": (c_char_p, [c_void_p]),
    "ka_service_origin": (c_char_p, [c_void_p]),
    "ka_service_error": (c_char_p, [c_void_p]),
    "ka_service_host_count": (c_size_t, [c_void_p]),
    "ka_service_host": (c_char_p, [c_void_p, c_size_t]),
    "ka_service_scope_count": (c_size_t, [c_void_p]),
    "ka_service_scope": (c_char_p, [c_void_p, c_size_t]),
    "ka_service_refresh_module": (c_char_p, [c_void_p]),
    "ka_service_describe": (c_int, [c_void_p, c_char_p, DESCRIBE_FN,
                                    c_void_p, _ERR]),
    "ka_accounts": (c_int, [c_void_p, c_char_p, ACCOUNT_FN, c_void_p,
                            _ERR]),
    "ka_load": (c_int, [c_void_p, c_char_p, c_char_p, POINTER(c_void_p),
                        _ERR]),
    "ka_account_pick": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                                c_size_t, POINTER(c_char_p), _ERR]),
    "ka_refresh": (c_int, [c_void_p, c_char_p, c_char_p, c_uint,
                           POINTER(c_int), _ERR]),
    "ka_record_free": (None, [c_void_p]),
    "ka_record_has_refresh_token": (c_int, [c_void_p]),
    "ka_record_has_access_token": (c_int, [c_void_p]),
    "ka_service_min_valid": (c_long, [c_void_p]),
    "ka_record_expires_at": (c_int64, [c_void_p]),
    "ka_record_scope_count": (c_size_t, [c_void_p]),
    "ka_record_scope": (c_char_p, [c_void_p, c_size_t]),
    "ka_record_source": (c_char_p, [c_void_p]),
    "ka_tool_scope_new": (c_int, [c_char_p, c_size_t, POINTER(c_void_p),
                                  _ERR]),
    "ka_tool_scope_free": (None, [c_void_p]),
    "ka_tool_scope_scope": (c_char_p, [c_void_p]),
    "ka_tool_scope_service": (c_char_p, [c_void_p]),
    "ka_tool_scope_tool": (c_char_p, [c_void_p]),
    "ka_perform": (c_int, [c_void_p, POINTER(KaPerformRequest),
                           POINTER(c_void_p), _ERR]),
    "ka_response_free": (None, [c_void_p]),
    "ka_response_status": (c_long, [c_void_p]),
    "ka_response_body": (c_void_p, [c_void_p, POINTER(c_size_t)]),
    "ka_response_header_count": (c_size_t, [c_void_p]),
    "ka_response_header_name": (c_char_p, [c_void_p, c_size_t]),
    "ka_response_header_value": (c_char_p, [c_void_p, c_size_t]),
    "ka_response_url": (c_char_p, [c_void_p]),
    "ka_response_redirects": (c_uint, [c_void_p]),
    "ka_response_service": (c_char_p, [c_void_p]),
    "ka_response_account": (c_char_p, [c_void_p]),
    "ka_response_scope": (c_char_p, [c_void_p]),
    "ka_response_injected": (c_int, [c_void_p]),
    "ka_response_masked": (c_size_t, [c_void_p]),
}

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def _open() -> ctypes.CDLL:
    path = os.environ.get("KIWIAUTH_LIBRARY")
    tried = []
    for name in ([path] if path else []) + [SONAME,
                                            ctypes.util.find_library("kiwiauth")]:
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append("%s (%s)" % (name, e))
    raise ImportError("kiwiauth: cannot load libkiwiauth: tried " +
                      "; ".join(tried) + ". Install libkiwiauth, or set "
                      "KIWIAUTH_LIBRARY to the path of libkiwiauth.so.0")


def lib() -> ctypes.CDLL:
    """The loaded library, its functions declared (loaded once)."""
    global _lib
    with _lock:
        if _lib is None:
            dll = _open()
            for name, (res, args) in _SIGNATURES.items():
                fn = getattr(dll, name)
                fn.restype = res
                fn.argtypes = args
            _lib = dll
        return _lib


def text(p: Optional[bytes]) -> Optional[str]:
    """A C string from the library as str (None stays None)."""
    return None if p is None else p.decode("utf-8", "replace")


def arg(s: Optional[str]) -> Optional[bytes]:
    """A str argument as the bytes the library takes (None stays None)."""
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError("expected str, not %s" % type(s).__name__)
    if "\0" in s:
        raise ValueError("a NUL byte in %r" % s)
    return s.encode("utf-8")
