# SPDX-License-Identifier: MIT
"""_adapt.py: what the httpx and requests integrations share: which of a
client library's headers go to kiwiauth, and which answer headers come
back."""
from __future__ import annotations

from typing import Iterable, List, Tuple

# Set by the library itself (or refused by it, as routing headers).
_DROP = {"host", "content-length", "transfer-encoding", "connection",
         "accept-encoding"}


def request_headers(pairs: Iterable[Tuple[str, str]]) -> List[str]:
    """The tool's headers as "Name: value" lines. Host and the framing
    headers are the library's to set. Accept-Encoding becomes identity:
    the library masks an echo of the credential in the bytes it receives,
    so a compressed answer could carry it past the mask."""
    out = ["%s: %s" % (k, v) for k, v in pairs if k.lower() not in _DROP]
    out.append("Accept-Encoding: identity")
    return out


def response_headers(pairs: Iterable[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """The answer's headers for the client library. Content-Encoding and
    Transfer-Encoding are dropped: the body is handed over as received
    (libcurl undid the chunking) and is never decompressed here."""
    return [(k, v) for k, v in pairs
            if k.lower() not in ("content-encoding", "transfer-encoding")]
