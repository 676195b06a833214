# SPDX-License-Identifier: MIT
"""The httpx transport, the requests adapter, asyncio and threads."""
import asyncio
import threading

import httpx
import pytest
import requests

import kiwiauth
import kiwiauth.httpx
import kiwiauth.requests
from conftest import header


def test_httpx_transport(setup, broker):
    t = kiwiauth.httpx.Transport(broker, [{"required_scope": "api:read"}])
    with httpx.Client(transport=t) as c:
        r = c.post(setup.a.base + "/hx", json={"k": 1},
                   headers={"X-Tool": "hx"})
        assert r.status_code == 200 and r.text.startswith("hello from")
        assert r.extensions["kiwiauth"]["injected"] is True
        (entry,) = setup.a.requests_to("/hx")
        assert header(entry, "X-Kiwi-Key") == setup.tokens["api"]
        assert header(entry, "X-Tool") == "hx"
        assert entry["body"] == '{"k": 1}'
        assert header(entry, "Accept-Encoding") == "identity"
        # Per request: another service, through extensions.
        req = c.build_request("GET", setup.a.base + "/hx2", extensions={
            "kiwiauth": {"chain": "other:read"}})
        assert c.send(req).extensions["kiwiauth"]["service"] == "other"
        # The library follows the redirect; the foreign hop gets nothing.
        r = c.get(setup.a.base + "/redirect?to=" + setup.b.base + "/hxaway")
        assert r.status_code == 200 and r.url == \
            setup.a.base + "/redirect?to=" + setup.b.base + "/hxaway"
        (hop,) = setup.b.requests_to("/hxaway")
        assert header(hop, "X-Kiwi-Key") is None
        with pytest.raises(kiwiauth.Denied):
            c.get(setup.b.base + "/hxdenied")


def test_requests_adapter(setup, broker):
    s = requests.Session()
    s.mount(setup.a.base + "/",
            kiwiauth.requests.Adapter(broker, "api:read"))
    r = s.put(setup.a.base + "/rq", data=b"payload",
              headers={"X-Tool": "rq"}, timeout=5)
    assert r.status_code == 200 and r.text.startswith("hello from")
    assert r.kiwiauth["service"] == "api"
    (entry,) = setup.a.requests_to("/rq")
    assert header(entry, "X-Kiwi-Key") == setup.tokens["api"]
    assert entry["method"] == "PUT" and entry["body"] == "payload"
    r = s.get(setup.a.base + "/redirect?to=" + setup.b.base + "/rqaway",
              headers={"Authorization": "Bearer tool-own"})
    assert r.status_code == 200
    (hop,) = setup.b.requests_to("/rqaway")
    assert header(hop, "X-Kiwi-Key") is None
    assert header(hop, "Authorization") is None
    r = s.get(setup.a.base + "/echo")
    assert setup.tokens["api"] not in r.text
    s.mount(setup.a.base + "/gone",
            kiwiauth.requests.Adapter(broker, "gone:use"))
    with pytest.raises(kiwiauth.AuthenticationRequired):
        s.get(setup.a.base + "/gone")


def test_asyncio(setup, broker):
    async def main():
        rs = await asyncio.gather(*[
            broker.aperform(scope, "GET", "%s/aio/%d" % (setup.a.base, i))
            for i, scope in enumerate(["api:read", "other:read"] * 4)])
        with pytest.raises(kiwiauth.AuthenticationRequired):
            await broker.aperform("gone:use", "GET", setup.a.base + "/aiog")
        return rs
    rs = asyncio.run(main())
    for i, r in enumerate(rs):
        svc = "api" if i % 2 == 0 else "other"
        assert r.metadata["service"] == svc
        (entry,) = setup.a.requests_to("/aio/%d" % i)
        assert setup.tokens[svc] in (header(entry, "X-Kiwi-Key") or
                                     header(entry, "Authorization"))


def test_eight_threads_share_one_broker(setup, broker):
    errors = []
    N = 12

    def work(t):
        try:
            for i in range(N):
                scope = ("api:read", "other:read", None)[(t + i) % 3]
                r = broker.perform(scope, "GET",
                                   "%s/th/%d/%d" % (setup.a.base, t, i))
                assert r.status == 200
                assert r.metadata["injected"] is (scope is not None)
            with pytest.raises(kiwiauth.AuthenticationRequired):
                broker.perform("gone:use", "GET", setup.a.base + "/thg")
        except BaseException as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    seen = {e["path"]: e for e in setup.a.log()
            if e["path"].startswith("/th/")}
    assert len(seen) == 8 * N
    for t in range(8):
        for i in range(N):
            e = seen["/th/%d/%d" % (t, i)]
            scope = ("api:read", "other:read", None)[(t + i) % 3]
            assert header(e, "X-Kiwi-Key") == (
                setup.tokens["api"] if scope == "api:read" else None)
            assert header(e, "Authorization") == (
                "Bearer " + setup.tokens["other"]
                if scope == "other:read" else None)


def test_the_documented_executor(setup, tmp_root):
    """python/examples/executor.py, the example of doc/kiwiauth-python.md."""
    import json
    import os
    import subprocess
    import sys
    from conftest import child_env
    ex = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "examples", "executor.py")
    env = child_env()
    if os.environ.get("KA_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["KA_PRELOAD"]
    env["KIWI_AUTH_CONFIG"] = setup.conf
    for scope, path, rc in (("api:read", "/example", 0),
                            ("gone:use", "/example-gone", 1)):
        chain = os.path.join(tmp_root, "chain.json")
        with open(chain, "w") as f:
            json.dump([{"name": "t", "required_scope": scope},
                       {"name": "box"}], f)
        p = subprocess.run([sys.executable, ex, chain, "GET",
                            setup.a.base + path], env=env,
                           capture_output=True, text=True)
        assert p.returncode == rc, p.stderr
        res = json.loads(p.stdout)
        assert res["metadata"]["auth_required"] is (rc == 1)
        if rc == 0:
            assert res["output"]["status"] == 200
            assert res["metadata"]["injected"] is True
            (entry,) = setup.a.requests_to(path)
            assert header(entry, "X-Kiwi-Key") == setup.tokens["api"]
        else:
            assert "kiwi-auth token set gone" in res["output"]["error"]
        assert setup.tokens["api"] not in p.stdout + p.stderr


def test_the_gil_is_released_during_a_request(broker):
    """The server runs in this process: it can only answer if the GIL is
    free while the library waits for it (else the request times out)."""
    import http.server

    class Pong(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"pong from a Python thread"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pong)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        r = broker.perform(None, "GET", "http://127.0.0.1:%d/ping" %
                           srv.server_address[1], timeout=20)
        assert r.body == b"pong from a Python thread"
    finally:
        srv.shutdown()
        srv.server_close()


def test_asyncio_loop_keeps_running_during_aperform(broker):
    """The server is a coroutine on the same event loop: aperform must
    leave the loop free to answer its own request."""
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"
                     b"Connection: close\r\n\r\nfrom loop")
        await writer.drain()
        writer.close()

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        async with srv:
            return await broker.aperform(
                None, "GET", "http://127.0.0.1:%d/" % port, timeout=20)
    assert asyncio.run(main()).body == b"from loop"
