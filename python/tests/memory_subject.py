# SPDX-License-Identifier: MIT
"""memory_subject.py: the process whose memory test_memory.py examines.

It makes requests with a canary token (plain, httpx, requests, threads,
asyncio), lets the library refresh a token (inside a request and when
asked), and meets errors, all through kiwiauth. It never learns a token:
test_memory.py sends it only a short prefix, the length and the SHA-256
of each, and it reports how many of its Python objects hold one. Then it
waits while test_memory.py reads its memory (/proc/PID/mem).

Usage: memory_subject.py CONF A_BASE SUPA_BASE PLANT
Lines on stdout: "refreshed", "worked", one JSON result line, "ready";
on stdin: "go", then the JSON fingerprints, then "done".
"""
import asyncio
import gc
import hashlib
import json
import os
import sys
import threading

import httpx
import requests

import kiwiauth
import kiwiauth.httpx
import kiwiauth.requests

ANON = "standin-anon-key.eyJyb2xlIjoiYW5vbiJ9.sig"
CHAIN = [{"name": "canary_tool", "required_scope": "canary:read"},
         {"name": "canaries", "auth_service": "canary"}]


def say(line):
    os.write(1, (line + "\n").encode())


def expect_error(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except kiwiauth.KiwiAuthError as e:
        return e
    raise AssertionError("no error from %r" % (a,))


def requests_with_the_canary(b, base):
    for i in range(5):
        b.perform(CHAIN, "GET", "%s/mem/%d" % (base, i))
    b.perform(CHAIN, "POST", base + "/mem/post", body=b'{"q": 1}',
              headers={"Content-Type": "application/json"})
    r = b.perform(CHAIN, "GET", base + "/echo")   # masked by the library
    assert r.metadata["masked"] > 0, r.metadata
    # A careless server puts the credential into a redirect's URL.
    try:
        b.perform(CHAIN, "GET", base + "/leak?to=" + base + "/after")
    except kiwiauth.KiwiAuthError:
        pass
    with httpx.Client(transport=kiwiauth.httpx.Transport(b, CHAIN)) as c:
        c.get(base + "/echo")
        c.get(base + "/mem/httpx")
    s = requests.Session()
    s.mount(base + "/", kiwiauth.requests.Adapter(b, CHAIN))
    s.get(base + "/echo")
    s.get(base + "/mem/requests")

    def work(t):
        for i in range(5):
            b.perform(CHAIN, "GET", "%s/mem/t%d/%d" % (base, t, i))
    ts = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()

    async def aio():
        await asyncio.gather(*[b.aperform(CHAIN, "GET", base + "/mem/aio")
                               for _ in range(4)])
    asyncio.run(aio())


def errors_with_the_canary(b, base):
    expect_error(b.perform, CHAIN, "GET", "http://127.0.0.1:1/foreign")
    expect_error(b.perform, "canary:write", "GET", base + "/mem/scope")
    expect_error(b.perform, CHAIN, "GET", base + "/mem/h",
                 headers={"Host": "elsewhere.example"})
    expect_error(b.perform, "gone:use", "GET", base + "/mem/gone")
    b.status()
    b.status("canary")


def refreshes(b, supa):
    # The record was made to look expired: this request refreshes it.
    r = b.perform("registry:read", "GET", supa + "/auth/v1/user",
                  headers={"apikey": ANON})
    assert r.status == 200, r.status
    say("refreshed")
    assert sys.stdin.readline().strip() == "go"
    assert b.refresh("supa", force=True) is True
    r = b.perform("registry:read", "GET", supa + "/auth/v1/user",
                  headers={"apikey": ANON})
    assert r.status == 200, r.status
    b.status("supa")
    expect_error(b.perform, "registry:read", "GET",
                 "http://127.0.0.1:1/auth/v1/user")


def all_objects():
    """Every object gc knows, and everything they refer to (strs and
    bytes are not tracked by gc themselves), plus live frames' locals."""
    seen = set()
    todo = list(gc.get_objects())
    for f in sys._current_frames().values():
        while f is not None:
            todo.append(f.f_locals)
            f = f.f_back
    out = []
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        out.append(o)
        if gc.is_tracked(o):
            todo.extend(gc.get_referents(o))
    return out


def holders(objs, prefix, digest, length):
    n = 0
    for o in objs:
        if isinstance(o, str):
            data = o.encode("utf-8", "surrogatepass")
        elif isinstance(o, (bytes, bytearray)):
            data = bytes(o)
        else:
            continue
        i = data.find(prefix)
        while i >= 0:
            if hashlib.sha256(data[i:i + length]).hexdigest() == digest:
                n += 1
                break
            i = data.find(prefix, i + 1)
    return n


def main():
    conf, base, supa, plant = sys.argv[1:5]
    with kiwiauth.Broker(conf) as b:
        requests_with_the_canary(b, base)
        errors_with_the_canary(b, base)
        refreshes(b, supa)
        requests_with_the_canary(b, base)
        gc.collect()
        say("worked")
        fps = json.loads(sys.stdin.readline())
        objs = all_objects()
        found = [holders(objs, p.encode(), d, n) for p, d, n in fps]
        found_plant = holders(objs, plant[:8].encode(),
                              hashlib.sha256(plant.encode()).hexdigest(),
                              len(plant))
        del objs
        gc.collect()
        say(json.dumps({"objects": len(gc.get_objects()), "found": found,
                        "plant": found_plant}))
        say("ready")
        assert sys.stdin.readline().strip() == "done"


if __name__ == "__main__":
    main()
