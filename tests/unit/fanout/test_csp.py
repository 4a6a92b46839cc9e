from __future__ import annotations

import pytest

from gavel.fanout import csp


def directives(policy: str) -> dict[str, str]:
    return dict(part.split(" ", 1) for part in policy.split("; "))


def test_the_page_runs_only_its_own_script_and_style_and_nothing_inline() -> None:
    d = directives(csp.page_policy([]))
    assert d["default-src"] == "'none'"
    assert d["script-src"] == "'self'"
    assert d["style-src"] == "'self'"
    assert d["connect-src"] == "'self'"
    assert d["frame-ancestors"] == "'none'"
    assert d["base-uri"] == "'none'"
    assert d["form-action"] == "'none'"
    assert "unsafe" not in csp.page_policy(["https://gw.example"])


def test_the_gateway_is_reachable_over_http_and_websocket_once_each() -> None:
    d = directives(
        csp.page_policy(["https://gw.example/v1", "https://gw.example", "http://127.0.0.1:8080/"])
    )
    assert d["connect-src"].split() == [
        "'self'",
        "https://gw.example",
        "wss://gw.example",
        "http://127.0.0.1:8080",
        "ws://127.0.0.1:8080",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://gw.example",
        "gw.example",
        "https://",
        "https://user:pw@gw.example",
        "https://gw.example; script-src *",
        "https://gw.example\r\nX-Evil: 1",
        "javascript:alert(1)",
    ],
)
def test_anything_but_a_plain_http_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        csp.page_policy([url])


def test_headers_carry_the_policy_and_forbid_sniffing() -> None:
    h = dict(csp.headers("default-src 'none'", cache="no-store"))
    assert h["Content-Security-Policy"] == "default-src 'none'"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["Cache-Control"] == "no-store"
