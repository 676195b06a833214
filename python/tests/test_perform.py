# SPDX-License-Identifier: MIT
"""Broker.perform against the real library and recorder servers."""
import json
import os

import pytest

import kiwiauth
from conftest import header, run_cli, write_private


def test_scoped_tool_gets_the_header_at_the_server(setup, broker):
    chain = [{"name": "list_items", "required_scope": "api:read"}]
    r = broker.perform(chain, "GET", setup.a.base + "/scoped")
    assert r.status == 200
    assert r.metadata == {"auth_required": False, "service": "api",
                          "account": "default", "scope": "api:read",
                          "injected": True, "masked": 0}
    (entry,) = setup.a.requests_to("/scoped")
    assert header(entry, "X-Kiwi-Key") == setup.tokens["api"]
    assert setup.tokens["api"].encode() not in r.body


def test_public_tool_gets_nothing_and_the_broker_is_not_consulted(
        setup, broker):
    before = setup.loads()
    # auth_service without required_scope: still a public tool.
    chain = [{"name": "weather"}, {"name": "web", "auth_service": "counted"}]
    r = broker.perform(chain, "GET", setup.a.base + "/public",
                       headers={"X-Tool": "yes"})
    assert r.status == 200 and r.metadata["injected"] is False
    assert r.metadata["service"] is None and r.metadata["scope"] is None
    (entry,) = setup.a.requests_to("/public")
    assert header(entry, "X-Tool") == "yes"
    assert header(entry, "X-Kiwi-Key") is None
    assert header(entry, "Authorization") is None
    assert setup.loads() == before
    # The counter does count a load when a scope is required.
    broker.perform([{"required_scope": "count:use"}], "GET",
                   setup.a.base + "/counted")
    assert setup.loads() == before + 1
    assert broker.perform(None, "GET", setup.a.base + "/p2").status == 200
    assert setup.loads() == before + 1


def test_missing_sign_in_names_the_command(setup, broker):
    with pytest.raises(kiwiauth.AuthenticationRequired) as ei:
        broker.perform("gone:use", "GET", setup.a.base + "/gone")
    e = ei.value
    assert "kiwi-auth token set gone" in str(e)
    assert e.auth_required is True and e.metadata["auth_required"] is True
    assert e.metadata["scope"] == "gone:use"
    assert e.status_name == "not signed in"
    assert isinstance(e, kiwiauth.KiwiAuthError)
    assert setup.a.requests_to("/gone") == []


def test_leaf_scope_overrides_its_parent(setup, broker):
    chain = [{"name": "leaf", "required_scope": "other:read"},
             {"name": "toolbox", "required_scope": "api:read"}]
    r = broker.perform(chain, "GET", setup.a.base + "/leaf")
    assert r.metadata["service"] == "other"
    assert r.metadata["scope"] == "other:read"
    (entry,) = setup.a.requests_to("/leaf")
    assert header(entry, "Authorization") == "Bearer " + setup.tokens["other"]
    assert header(entry, "X-Kiwi-Key") is None
    ts = broker.scope(chain)
    assert (ts.tool, ts.scope, ts.service) == ("leaf", "other:read", None)


def test_auth_service_is_honoured(setup, broker):
    chain = [{"name": "t", "required_scope": "alt:anything"},
             {"name": "box", "auth_service": "alt"}]
    r = broker.perform(chain, "POST", setup.a.base + "/alt", body=b"{}")
    assert r.metadata["service"] == "alt" and r.metadata["injected"]
    (entry,) = setup.a.requests_to("/alt")
    assert header(entry, "X-Alt-Key") == setup.tokens["alt"]
    assert entry["method"] == "POST" and entry["body"] == "{}"
    # A leaf's auth_service overrides its parent's.
    chain = [{"required_scope": "api:read", "auth_service": "api"},
             {"auth_service": "alt"}]
    assert broker.perform(chain, "GET", setup.a.base + "/alt2") \
        .metadata["service"] == "api"


def test_several_services_side_by_side(setup, broker):
    for i in range(3):
        for svc, scope, name, fmt in (
                ("api", "api:read", "X-Kiwi-Key", "%s"),
                ("other", "other:read", "Authorization", "Bearer %s")):
            path = "/side/%s/%d" % (svc, i)
            r = broker.perform(scope, "GET", setup.a.base + path)
            assert r.metadata["service"] == svc
            (entry,) = setup.a.requests_to(path)
            assert header(entry, name) == fmt % setup.tokens[svc]


def test_foreign_origin_is_denied(setup, broker):
    with pytest.raises(kiwiauth.Denied) as ei:
        broker.perform("api:read", "GET", setup.b.base + "/denied")
    assert ei.value.auth_required is False
    assert setup.b.base.split("//")[1] in str(ei.value)
    assert setup.b.requests_to("/denied") == []
    # A scope the token does not hold.
    with pytest.raises(kiwiauth.KiwiAuthError):
        broker.perform("other:write", "GET", setup.a.base + "/nope")


def test_redirect_to_another_origin_carries_no_credential(setup, broker):
    r = broker.perform("api:read", "GET",
                       setup.a.base + "/redirect?to=" + setup.b.base + "/away",
                       headers=[("Authorization", "Bearer tool-own"),
                                "Cookie: c=1", "X-Plain: kept"])
    assert r.status == 200 and r.redirects == 1
    assert r.url == setup.b.base + "/away"
    (first,) = setup.a.requests_to("/redirect?to=" + setup.b.base + "/away")
    assert header(first, "X-Kiwi-Key") == setup.tokens["api"]
    (hop,) = setup.b.requests_to("/away")
    for name in ("X-Kiwi-Key", "Authorization", "Cookie"):
        assert header(hop, name) is None, name
    assert header(hop, "X-Plain") == "kept"


def test_an_echo_of_the_credential_is_masked(setup, broker):
    r = broker.perform("api:read", "GET", setup.a.base + "/echo")
    assert setup.tokens["api"].encode() not in r.body
    assert setup.tokens["api"] not in (r.header("X-Echo") or "")
    assert b"X-Kiwi-Key: ****" in r.body
    assert r.metadata["masked"] >= 2


def test_bad_arguments_are_refused_clearly(setup, broker):
    with pytest.raises(kiwiauth.InvalidRequest):
        broker.perform("api:read", "GET", setup.a.base + "/h",
                       headers={"Host": "evil.example"})
    with pytest.raises(kiwiauth.InvalidRequest) as ei:
        broker.perform([{"required_scope": 3}], "GET", setup.a.base + "/")
    assert "required_scope" in str(ei.value)
    with pytest.raises(ValueError):
        broker.perform(None, "GET", setup.a.base + "/", timeout=0)


def test_source_unavailable(setup, broker):
    with pytest.raises(kiwiauth.SourceUnavailable) as ei:
        broker.perform("down:use", "GET", setup.a.base + "/down")
    assert ei.value.status_name == kiwiauth._strerror(ei.value.status)


def test_config_error_names_file_and_line(tmp_root):
    bad = os.path.join(tmp_root, "bad.conf")
    write_private(bad, 'svc: {\n  hosts = [ "https://x.example" ];\n'
                  '  source = ( { module = "file"; nonsense = true; } );\n};\n')
    with pytest.raises(kiwiauth.ConfigError) as ei:
        kiwiauth.Broker(bad)
    assert bad + ":3" in str(ei.value)
    # Lenient: the context opens and the service reports its error.
    with kiwiauth.Broker(bad, lenient=True) as b:
        (svc,) = b.services()
        assert svc["error"] and bad + ":3" in b.diagnostics()[0]
        (row,) = b.status("svc")
        assert row["state"] == "error"


def test_status_matches_the_cli(setup, broker):
    cli = run_cli(setup.conf, "--json", "status")
    assert cli.returncode == 0, cli.stderr
    want = json.loads(cli.stdout)["status"]
    got = broker.status()
    for row in want + got:
        if isinstance(row["expires_in"], int):
            row["expires_in"] = "number"
    assert got == want
    assert [r["state"] for r in broker.status("gone")] == ["not-signed-in"]
    (one,) = broker.status("api", account="default")
    assert one["scopes"] == ["api:read", "api:write"]
    assert one["source"] == "file"
    assert all(setup.tokens["api"] not in json.dumps(r) for r in got)
    with pytest.raises(kiwiauth.ConfigError):
        broker.status("nosuch")


def test_services(setup, broker):
    names = [s["name"] for s in broker.services()]
    assert names == ["api", "other", "alt", "gone", "counted", "down"]
    api = broker.services()[0]
    assert api["hosts"] == [setup.a.base] and api["origin"].endswith(":2")


def test_closed_broker(setup):
    b = kiwiauth.Broker(setup.conf)
    b.close()
    b.close()
    with pytest.raises(ValueError):
        b.perform(None, "GET", setup.a.base + "/")


def test_the_deadline(setup, broker):
    # 20 bytes, one every 0.2 s, against a deadline of 0.5 s.
    with pytest.raises(kiwiauth.Timeout) as ei:
        broker.perform("api:read", "GET", setup.a.base + "/trickle?n=20",
                       timeout=0.5)
    assert isinstance(ei.value, TimeoutError)
    assert isinstance(ei.value, kiwiauth.RequestError)
    assert setup.tokens["api"] not in str(ei.value)


def test_http_errors_are_responses(setup, broker):
    r = broker.perform("api:read", "GET", setup.a.base + "/status/404")
    assert r.status == 404 and not r.ok and r.text == "status page\n"
    assert r.header("x-recorder") == "yes"
