"""Asks the local stack's token issuer for bidder tokens over HTTP (``POST /mint``).

The issuer (``gavel_devstack.issuer``) stands in for the identity provider bidders log in at,
and holds the only signing keys; this client never sees a key. Used by ``gavel token mint``
and the herd (which needs a token for each of its bidders: one request for all of them).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

TIMEOUT_S = 30.0


class MintError(RuntimeError):
    """The issuer refused or could not be reached; the message says which."""


def mint(url: str, bidders: list[str], ttl_s: int = 3600) -> list[str]:
    """A token for each of ``bidders`` (same order), from the issuer's mint endpoint ``url``."""
    if not url.startswith(("http://", "https://")):
        raise MintError(f"the token issuer's URL must be http(s)://, not {url!r}")
    body = json.dumps({"bidders": bidders, "ttl": ttl_s}).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:  # noqa: S310
            tokens = json.loads(resp.read())["tokens"]
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise MintError(f"the token issuer refused ({exc.code}): {detail}") from exc
    except (OSError, ValueError, KeyError) as exc:
        raise MintError(f"the token issuer at {url} did not answer: {exc}") from exc
    if not isinstance(tokens, list) or len(tokens) != len(bidders):
        raise MintError("the token issuer answered with the wrong number of tokens")
    return [str(t) for t in tokens]
