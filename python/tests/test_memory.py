# SPDX-License-Identifier: MIT
"""No Python object, and no block of the Python heap, holds a token.

A subject process (memory_subject.py) makes requests, refreshes and errors
with a canary token and tokens a Supabase Auth stand-in issues, all through
kiwiauth. Then:

1. it reports how many objects reachable from gc.get_objects() (and their
   referents, and live frames' locals) contain each token: it gets only a
   prefix, length and SHA-256 of each, never a token;
2. this test reads the whole of its memory (/proc/PID/mem, every readable
   mapping under 1 GiB) and classifies every copy of a token it finds:
   - in memory the library marked MADV_DONTDUMP ("dd" in smaps): the
     library's secure memory, where records live; allowed;
   - inside a live allocation of Python's allocators: a failure. The
     subject runs with PYTHONMALLOC=debug, whose hooks frame each block
     (size, API id, 0xFD guard bytes) and fill freed blocks with 0xDD, so
     a token Python ever held in a freed block would be wiped, and one in
     a live block is found by its frame;
   - anywhere else: memory of the C side (libcurl's buffers and the
     like), reported but allowed: it is not Python's.
A planted string the subject does hold (its argv) must be found by both
checks, and found inside a Python block, or the test cannot fail.
"""
import bisect
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time

import pytest

from conftest import SERVERS, Server, child_env, run_cli, write_private

HERE = os.path.dirname(os.path.abspath(__file__))
ANON = "standin-anon-key.eyJyb2xlIjoiYW5vbiJ9.sig"
MAX_REGION = 1 << 30
GUARD = re.compile(rb"[rmo]\xfd{7}")


def regions(pid):
    """(start, end, dontdump) of every readable mapping worth reading."""
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)",
                         line)
            if m:
                cur = [int(m[1], 16), int(m[2], 16), m[3], m[4], False]
                out.append(cur)
            elif line.startswith("VmFlags:") and cur is not None:
                cur[4] = " dd" in " " + line[8:]
    return [(s, e, dd) for s, e, perms, name, dd in out
            if perms[0] == "r" and name not in ("[vvar]", "[vsyscall]")
            and e - s <= MAX_REGION]


def python_blocks(data):
    """(start, end) of each live PYTHONMALLOC=debug block in data."""
    blocks = []
    for m in GUARD.finditer(data):
        i = m.start()
        if i < 8:
            continue
        n = int.from_bytes(data[i - 8:i], "big")
        d = m.end()
        if n < (1 << 32) and data[d + n:d + n + 8] == b"\xfd" * 8:
            blocks.append((d, d + n))
    return blocks


def scan(pid, needles):
    """For each needle: [secure, python, other] counts of its copies."""
    counts = {k: [0, 0, 0] for k in needles}
    total = 0
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for start, end, dd in regions(pid):
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            total += len(data)
            blocks = None
            for k in needles:
                i = data.find(k)
                while i >= 0:
                    if dd:
                        counts[k][0] += 1
                    else:
                        if blocks is None:
                            blocks = python_blocks(data)
                            starts = [b[0] for b in blocks]
                        j = bisect.bisect_right(starts, i) - 1
                        inside = j >= 0 and i + len(k) <= blocks[j][1]
                        counts[k][1 if inside else 2] += 1
                    i = data.find(k, i + 1)
    return counts, total


def tokens_in(path):
    with open(path) as f:
        rec = json.load(f)
    return [rec[k] for k in ("access_token", "refresh_token") if rec.get(k)]


def fingerprint(t):
    return [t[:6], hashlib.sha256(t.encode()).hexdigest(), len(t)]


@pytest.fixture
def world(tmp_root, servers):
    a, _ = servers
    supa = Server(tmp_root, "supabase_standin.py", "supa")
    d = os.path.join(tmp_root, "memory")
    tok = os.path.join(d, "tokens")
    os.makedirs(tok, mode=0o700)
    conf = os.path.join(d, "kiwi-auth.conf")
    src = '( { module = "file"; directory = "%s"; } )' % tok
    write_private(conf, """
canary: {
  hosts = [ "%(a)s" ];
  scopes = [ "canary:read" ];
  header = "X-Kiwi-Key: %%s";
  source = %(src)s;
};
gone: {
  hosts = [ "%(a)s" ];
  scopes = [ "gone:use" ];
  source = %(src)s;
};
supa: {
  hosts = [ "%(s)s" ];
  scopes = [ "registry:read" ];
  source = %(src)s;
  refresh = { module = "supabase"; url = "%(s)s"; anon_key = "%(anon)s";
              email = "user@example.com"; timeout = 5; };
};
""" % {"a": a.base, "s": supa.base, "src": src, "anon": ANON})
    canary = "kiwiCANARY-" + secrets.token_hex(12)
    r = run_cli(conf, "token", "set", "canary", "--scope", "canary:read",
                stdin=canary + "\n")
    assert r.returncode == 0, r.stderr
    r = run_cli(conf, "signin", "supa", "--password-stdin",
                stdin="correct horse\n")
    assert r.returncode == 0, r.stderr
    # Make the record look expired, so the subject's request refreshes it.
    rec_path = os.path.join(tok, "supa@default.json")
    with open(rec_path) as f:
        rec = json.load(f)
    rec["expires_at"] = int(time.time()) - 100
    write_private(rec_path + ".tmp", json.dumps(rec))
    os.rename(rec_path + ".tmp", rec_path)
    yield conf, a, supa, canary, rec_path
    supa.stop()


def test_no_token_in_python_memory(world):
    conf, a, supa, canary, rec_path = world
    secrets_seen = [canary] + tokens_in(rec_path)
    plant = "kiwiPLANT-" + secrets.token_hex(12)
    env = child_env()
    if os.environ.get("KA_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["KA_PRELOAD"]
    env["PYTHONMALLOC"] = "debug"
    p = subprocess.Popen([sys.executable, os.path.join(HERE,
                                                       "memory_subject.py"),
                          conf, a.base, supa.base, plant],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=env, text=True)
    try:
        assert p.stdout.readline().strip() == "refreshed"
        secrets_seen += tokens_in(rec_path)
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "worked"
        secrets_seen += tokens_in(rec_path)
        secrets_seen = list(dict.fromkeys(secrets_seen))
        # canary, the signed-in pair, two refreshed pairs
        assert len(secrets_seen) == 7
        p.stdin.write(json.dumps([fingerprint(t) for t in secrets_seen])
                      + "\n")
        p.stdin.flush()
        result = json.loads(p.stdout.readline())
        assert p.stdout.readline().strip() == "ready"
        needles = [t.encode() for t in secrets_seen] + [plant.encode()]
        counts, total = scan(p.pid, needles)
        p.stdin.write("done\n")
        p.stdin.flush()
        assert p.wait(timeout=60) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    print("scanned %d bytes of the subject; %d gc objects" %
          (total, result["objects"]))
    names = ["canary", "access 1", "refresh 1", "access 2", "refresh 2",
             "access 3", "refresh 3", "plant"]
    for name, k in zip(names, needles):
        print("%-10s secure %d, python %d, C side %d" %
              ((name,) + tuple(counts[k])))
    # The checks can fail: the planted string is seen by both.
    assert result["plant"] >= 1
    assert counts[plant.encode()][1] >= 1
    assert result["found"] == [0] * len(secrets_seen)
    for name, t in zip(names, secrets_seen):
        assert counts[t.encode()][1] == 0, \
            "%s is in a live block of the Python heap" % name
    # The scan reads where the library keeps the record: the canary is
    # there (secure memory; plain heap in a sanitizer build).
    assert sum(counts[canary.encode()]) >= 1
