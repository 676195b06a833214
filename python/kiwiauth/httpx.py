# SPDX-License-Identifier: MIT
"""kiwiauth.httpx: an httpx transport that sends through libkiwiauth.

    import httpx, kiwiauth, kiwiauth.httpx
    broker = kiwiauth.Broker()
    chain = [{"name": "list_items", "required_scope": "items:read"}]
    with httpx.Client(transport=kiwiauth.httpx.Transport(broker, chain)) as c:
        r = c.get("https://api.kiwi.example/items")
        r.extensions["kiwiauth"]   # the metadata (service, scope, injected)

Every request of the client goes through Broker.perform(): the library
adds the credential (never visible here), follows redirects itself under
the origin rules, and masks echoes. A request may name its own chain,
scope, service or account with extensions={"kiwiauth": {...}}. httpx's
own timeouts are not used; pass timeout= (seconds, the whole exchange) to
the Transport. Failures raise kiwiauth exceptions (KiwiAuthError).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import httpx

from . import Broker, Chain
from ._adapt import request_headers, response_headers

__all__ = ["Transport"]


class Transport(httpx.BaseTransport):
    """httpx.BaseTransport over Broker.perform (see the module's doc)."""

    def __init__(self, broker: Broker, chain: Chain = None,
                 service: Optional[str] = None,
                 account: Optional[str] = None,
                 timeout: Optional[float] = None) -> None:
        self.broker = broker
        self.chain = chain
        self.service = service
        self.account = account
        self.timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        opts: Dict[str, Any] = dict(request.extensions.get("kiwiauth") or {})
        body = request.read()
        r = self.broker.perform(
            opts.get("chain", self.chain), request.method, str(request.url),
            headers=request_headers(
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in request.headers.raw),
            body=body if body else None,
            service=opts.get("service", self.service),
            account=opts.get("account", self.account),
            timeout=opts.get("timeout", self.timeout))
        return httpx.Response(r.status, headers=response_headers(r.headers),
                              content=r.body, request=request,
                              extensions={"kiwiauth": r.metadata})
