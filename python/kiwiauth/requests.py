# SPDX-License-Identifier: MIT
"""kiwiauth.requests: a requests transport adapter that sends through
libkiwiauth.

    import requests, kiwiauth, kiwiauth.requests
    broker = kiwiauth.Broker()
    s = requests.Session()
    s.mount("https://api.kiwi.example/",
            kiwiauth.requests.Adapter(broker, "items:read"))
    r = s.get("https://api.kiwi.example/items")
    r.kiwiauth                   # the metadata (service, scope, injected)

Every request sent through the adapter goes through Broker.perform(): the
library adds the credential (never visible here), follows redirects
itself under the origin rules (so requests sees the final answer and
follows nothing), and masks echoes. requests' timeout= (seconds, or a
(connect, read) pair: their sum) bounds the whole exchange. Failures
raise kiwiauth exceptions (KiwiAuthError).
"""
from __future__ import annotations

import http
from typing import Any, Optional

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from . import Broker, Chain
from ._adapt import request_headers, response_headers

__all__ = ["Adapter"]


class Adapter(requests.adapters.HTTPAdapter):
    """A requests adapter over Broker.perform (see the module's doc)."""

    def __init__(self, broker: Broker, chain: Chain = None,
                 service: Optional[str] = None,
                 account: Optional[str] = None) -> None:
        super().__init__()
        self.broker = broker
        self.chain = chain
        self.service = service
        self.account = account

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        if isinstance(timeout, tuple):
            timeout = sum(t for t in timeout if t is not None) or None
        body = request.body
        if hasattr(body, "read"):
            body = body.read()  # type: ignore[union-attr]
        r = self.broker.perform(
            self.chain, request.method or "GET", request.url or "",
            headers=request_headers(request.headers.items()),
            body=body, service=self.service, account=self.account,
            timeout=timeout)
        resp = requests.Response()
        resp.status_code = r.status
        resp.headers = CaseInsensitiveDict(response_headers(r.headers))
        resp._content = r.body
        resp._content_consumed = True
        resp.encoding = get_encoding_from_headers(resp.headers)
        resp.url = r.url
        resp.request = request
        try:
            resp.reason = http.HTTPStatus(r.status).phrase
        except ValueError:
            resp.reason = ""
        resp.connection = self  # type: ignore[attr-defined]
        resp.kiwiauth = r.metadata  # type: ignore[attr-defined]
        return resp
