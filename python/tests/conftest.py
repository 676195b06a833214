# SPDX-License-Identifier: MIT
"""Fixtures of the kiwiauth tests: the built library and CLI (named by
make check's environment), two recorder servers on 127.0.0.1 (two
origins), and a private configuration with tokens stored through the
CLI. tests/python/test-python.sh runs these with a private HOME."""
import json
import os
import secrets
import subprocess
import sys
import time

import pytest

SRC = os.environ.get("KA_TOP_SRCDIR", "")
CLI = os.environ.get("KA_CLI", "")
SERVERS = os.path.join(SRC, "tests", "servers")


def _need(var):
    if not os.environ.get(var):
        pytest.exit("%s is not set: run these tests through make check "
                    "(tests/python/test-python.sh)" % var, returncode=2)


for _v in ("KA_TOP_SRCDIR", "KA_CLI", "KIWIAUTH_LIBRARY",
           "KIWI_AUTH_MODULE_DIR"):
    _need(_v)


def child_env():
    """The environment of the CLI and servers: without the sanitizer
    runtime test-python.sh may have preloaded into this interpreter (the
    CLI of a sanitizer build carries its own)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


class Server:
    """A test server from tests/servers, on 127.0.0.1 and a free port."""

    def __init__(self, tmp, script, name):
        self.portfile = os.path.join(tmp, name + ".port")
        self.logfile = os.path.join(tmp, name + ".log")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SERVERS, script), self.portfile,
             self.logfile], stdin=subprocess.DEVNULL, env=child_env())
        for _ in range(200):
            if os.path.exists(self.portfile):
                break
            time.sleep(0.05)
        else:
            self.proc.kill()
            raise RuntimeError("%s did not start" % script)
        with open(self.portfile) as f:
            self.port = int(f.read())
        self.base = "http://127.0.0.1:%d" % self.port

    def log(self):
        with open(self.logfile, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def requests_to(self, path):
        """Requests to path (with its query, if path has one)."""
        return [e for e in self.log()
                if (e["path"] if "?" in path else e["path"].split("?")[0])
                == path]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def header(entry, name):
    """The value of a recorded request's header, or None."""
    for k, v in entry["headers"]:
        if k.lower() == name.lower():
            return v
    return None


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory):
    d = tmp_path_factory.mktemp("kiwiauth")
    os.chmod(d, 0o700)
    return str(d)


@pytest.fixture(scope="session")
def servers(tmp_root):
    a = Server(tmp_root, "recorder.py", "a")
    b = Server(tmp_root, "recorder.py", "b")
    yield a, b
    a.stop()
    b.stop()


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def run_cli(conf, *args, stdin=None):
    return subprocess.run([CLI, "--config", conf] + list(args),
                          input=stdin, capture_output=True, text=True,
                          env=child_env())


class Setup:
    """The shared configuration: services api, other, alt, gone, counted,
    down, all on origin A (B is a second, foreign origin)."""

    def __init__(self, tmp, a, b):
        self.a, self.b = a, b
        self.tok = os.path.join(tmp, "tokens")
        self.counter = os.path.join(tmp, "counter")
        os.makedirs(self.tok, mode=0o700, exist_ok=True)
        self.conf = os.path.join(tmp, "kiwi-auth.conf")
        src = '( { module = "file"; directory = "%s"; } )' % self.tok
        write_private(self.conf, """
api: {
  hosts = [ "%(a)s" ];
  scopes = [ "api:read", "api:write" ];
  header = "X-Kiwi-Key: %%s";
  source = %(src)s;
};
other: {
  hosts = [ "%(a)s" ];
  scopes = [ "other:read" ];
  source = %(src)s;
};
alt: {
  hosts = [ "%(a)s" ];
  header = "X-Alt-Key: %%s";
  source = %(src)s;
};
gone: {
  hosts = [ "%(a)s" ];
  scopes = [ "gone:use" ];
  source = %(src)s;
};
counted: {
  hosts = [ "%(a)s" ];
  scopes = [ "count:use" ];
  source = ( { module = "test_counting"; counter = "%(counter)s";
               expires_in = 3600; } );
};
down: {
  hosts = [ "%(a)s" ];
  scopes = [ "down:use" ];
  source = ( { module = "test_counting"; counter = "%(counter)s";
               result = "unavailable"; } );
};
""" % {"a": a.base, "src": src, "counter": self.counter})
        self.tokens = {}
        for svc, scopes in (("api", ["api:read", "api:write"]),
                            ("other", ["other:read"]), ("alt", [])):
            tok = "tok-%s-%s" % (svc, secrets.token_hex(12))
            args = ["token", "set", svc]
            for s in scopes:
                args += ["--scope", s]
            r = run_cli(self.conf, *args, stdin=tok + "\n")
            assert r.returncode == 0, r.stderr
            self.tokens[svc] = tok

    def loads(self):
        if not os.path.exists(self.counter):
            return 0
        with open(self.counter) as f:
            return sum(1 for line in f if line.startswith("load"))


@pytest.fixture(scope="session")
def setup(tmp_root, servers):
    return Setup(tmp_root, *servers)


@pytest.fixture
def broker(setup):
    import kiwiauth
    with kiwiauth.Broker(setup.conf) as b:
        yield b
