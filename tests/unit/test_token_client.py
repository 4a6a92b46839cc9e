"""The token issuer's client: clear errors, never a traceback."""

from __future__ import annotations

import socket

import pytest

from gavel import token_client


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(token_client.MintError, match="must be http"):
        token_client.mint("file:///etc/passwd", ["alice"])


def test_an_issuer_that_does_not_answer_is_named() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(token_client.MintError, match=f"127.0.0.1:{port}/mint did not answer"):
            token_client.mint(f"http://127.0.0.1:{port}/mint", ["alice"])
