"""A demo login for the local stack: whoever asks gets a bidder token for the name they give.

Development only, and kept out of production by construction: it lives in the dev stack, which
is in the editable install but never in the wheel or the image (pyproject.toml), and no
manifest the operator renders starts it. ``scripts/demo`` and the drop page's browser tests run
it next to a fan-out started with ``--demo-login-url``; the page then offers "Sign in" with a
bidder name. It asks the local stack's token issuer (``$GAVEL_TOKEN_MINT_URL``) for the token;
it holds no key itself.

``python -m gavel_devstack.demo_login --port P --allow-origin http://127.0.0.1:FANOUT``
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gavel import endpoints, keys, token_client

TTL_S = 3600


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bidder: str = Field(pattern=keys.BIDDER_ID_PATTERN.pattern)


def create_app(mint_url: str, allowed_origins: list[str]) -> FastAPI:
    app = FastAPI(title="Gavel demo login", docs_url=None, redoc_url=None)

    @app.post("/token")
    async def token(login: Login) -> JSONResponse:
        minted = (await asyncio.to_thread(token_client.mint, mint_url, [login.bidder], TTL_S))[0]
        return JSONResponse({"bidder": login.bidder, "token": minted, "expires_in": TTL_S})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowed_origins,
        allow_methods=["POST"],
        allow_headers=["Content-Type"],
    )
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--allow-origin", action="append", default=[], help="a page's origin")
    args = parser.parse_args()
    app = create_app(endpoints.token_mint_url(), args.allow_origin)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
