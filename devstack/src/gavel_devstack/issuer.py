"""The local stack's token issuer: a stand-in for the identity provider bidders log in at.

A small HTTP server over :mod:`gavel_devstack.issuer_keys` (the keys stay in the run folder):

- ``GET /.well-known/jwks.json``: the public keys, what gateways fetch (``$GAVEL_JWKS``);
- ``POST /mint`` ``{"bidders": [...], "ttl": 3600}``: ``{"tokens": [...]}``, signed by the
  current key, for any bidder who asks (``gavel token mint``, the herd, the demo login): a
  real identity provider would make the bidder log in first;
- ``POST /keys`` ``{"alg": "ES256"|"EdDSA"}``: rotate, answering the new ``kid``;
- ``DELETE /keys/<kid>``: retire a key (no longer published, its tokens refused).

It binds 127.0.0.1 on a free port and writes its base URL to ``<run>/issuer/url`` (the stack's
port block has no offset left; nothing but the stack's env reads the URL). Devstack only: not
in the wheel or the image, never rendered by the operator (docs/decisions.md, "Bidder tokens
signed by an identity provider").

``python -m gavel_devstack.issuer --run-dir RUN``
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gavel_devstack import issuer_keys

MAX_BODY = 64 * 1024
MAX_BIDDERS = 10_000
JWKS_PATH = "/.well-known/jwks.json"


def url_file(run_dir: Path) -> Path:
    return issuer_keys.issuer_dir(run_dir) / "url"


def _handler(run_dir: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            pass  # one line per gateway fetch is noise in the stack's log

        def _answer(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ValueError(f"body over {MAX_BODY} bytes")
            raw = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(raw, dict):
                raise ValueError("the body must be a JSON object")
            return raw

        def do_GET(self) -> None:
            if self.path == JWKS_PATH:
                self._answer(200, issuer_keys.published(run_dir))
            elif self.path == "/healthz":
                self._answer(200, {"status": "ok"})
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:
            try:
                body = self._body()
                if self.path == "/mint":
                    bidders, ttl = body.get("bidders"), body.get("ttl", 3600)
                    if not isinstance(bidders, list) or not 0 < len(bidders) <= MAX_BIDDERS:
                        raise ValueError(f'"bidders" must be a list of 1..{MAX_BIDDERS} ids')
                    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 1:
                        raise ValueError('"ttl" must be a positive number of seconds')
                    tokens = issuer_keys.mint_many(run_dir, bidders, ttl)
                    self._answer(200, {"tokens": tokens})
                elif self.path == "/keys":
                    self._answer(
                        201, {"kid": issuer_keys.rotate(run_dir, body.get("alg", "ES256"))}
                    )
                else:
                    self._answer(404, {"error": "not_found"})
            except (ValueError, KeyError) as exc:
                self._answer(400, {"error": "bad_request", "detail": str(exc)})

        def do_DELETE(self) -> None:
            prefix = "/keys/"
            if not self.path.startswith(prefix):
                self._answer(404, {"error": "not_found"})
                return
            try:
                issuer_keys.retire(run_dir, self.path[len(prefix) :])
                self._answer(204)
            except KeyError as exc:
                self._answer(404, {"error": "unknown_key", "detail": str(exc)})
            except ValueError as exc:
                self._answer(409, {"error": "signing_key", "detail": str(exc)})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0, help="default: any free port")
    args = parser.parse_args()
    run_dir = args.run_dir.resolve()
    issuer_keys.ensure(run_dir)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(run_dir))
    target = url_file(run_dir)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(f"http://127.0.0.1:{server.server_address[1]}")
    tmp.replace(target)
    server.serve_forever()


if __name__ == "__main__":
    main()
