"""The gateway's HTTP and WebSocket routes (FastAPI). Thin: parse, authenticate, delegate.

Built by :func:`create_app`; ``gavel gateway`` serves :func:`create_asgi`, the same app behind
the bid POST fast path (:mod:`gavel.gateway.fastpath`). Bids, whichever way they come, are
handled by :class:`gavel.gateway.handling.BidHandling`. Every refusal is a problem object
(:mod:`gavel.gateway.problems`); nothing a client sends can make a route answer 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from gavel import auction, events
from gavel.gateway import metrics, wire
from gavel.gateway.fastpath import BidFastPath
from gavel.gateway.handling import BidHandling
from gavel.gateway.limits import BodySizeLimit
from gavel.gateway.live import OutbidNotifier
from gavel.gateway.models import BidRequest, BidResponse, DropView
from gavel.gateway.problems import PROBLEM_JSON, Problem, problem
from gavel.gateway.service import BidService, now_ms
from gavel.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def _problem_response(p: Problem, headers: dict[str, str] | None = None) -> Response:
    return Response(p.body(), status_code=p.status, media_type=PROBLEM_JSON, headers=headers)


MAX_BIDS_IN_FLIGHT_PER_SOCKET = 64
"""Bids one bidder socket may have waiting for their decision; past it the socket is not read
until one is answered (the client's sends wait: back-pressure, nothing dropped)."""
PUSH_QUEUE = 256
"""Outbid pushes waiting to be sent to one socket; past it a stalled client loses pushes."""


def create_app(settings: GatewaySettings) -> FastAPI:
    service = BidService(settings)
    handling = BidHandling(service)
    notifier = OutbidNotifier(service.redis)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything imported and built so far lives as long as the process. Freezing it keeps
        # the collector from re-scanning it in every full collection: without this, those
        # scans put ~40 ms stalls into about 1% of bid acks (docs/performance.md).
        gc.collect()
        gc.freeze()
        flusher = asyncio.create_task(_flush_outbox(service))
        await handling.keys.refresh()
        refresher = asyncio.create_task(handling.keys.run())
        yield
        refresher.cancel()
        flusher.cancel()
        await notifier.close()
        await service.close()

    app = FastAPI(
        title="Gavel bid gateway", version="1", lifespan=lifespan, docs_url=None, redoc_url=None
    )

    @app.exception_handler(Problem)
    async def on_problem(_: Request, exc: Problem) -> Response:
        metrics.REFUSED.labels(exc.code).inc()
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _problem_response(exc, headers)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "not_found")
        return _problem_response(problem(code, str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> Response:
        return _problem_response(problem("invalid_request", str(exc.errors()[:3])))

    @app.post(
        "/v1/drops/{drop_id}/bids",
        status_code=201,
        response_model=BidResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": BidRequest.model_json_schema()}},
            }
        },
    )
    async def post_bid(drop_id: str, request: Request) -> Response:
        # Served by the fast path in production (create_asgi); the same handling either way.
        status, headers, body = await handling.post(
            drop_id,
            request.headers.get("authorization"),
            request.headers.get("content-type", ""),
            await request.body(),
        )
        return Response(
            body, status_code=status, headers={k.decode(): v.decode() for k, v in headers}
        )

    @app.get("/v1/drops/{drop_id}", response_model=DropView)
    async def get_drop(drop_id: str) -> DropView:
        found = await service.view(drop_id)
        if found is None:
            raise problem("unknown_drop", f"no drop {drop_id!r}")
        rules, state = found
        return _drop_view(rules, state)

    @app.websocket("/v1/drops/{drop_id}/bidder")
    async def bidder_socket(ws: WebSocket, drop_id: str) -> None:
        await _serve_bidder(ws, drop_id, handling, notifier)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        if not handling.keys.current():
            return _problem_response(problem("unavailable", "no bidder-token keys (JWKS) yet"))
        if await service.ready():
            return JSONResponse({"status": "ready"})
        return _problem_response(problem("unavailable", "own region's Redis is not reachable"))

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.allowed_origins:
        # Only the drop pages' origins, only what a page does: no cookies (the token travels
        # in the Authorization header), so a listed origin gains nothing a script elsewhere
        # could not do with the same token.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After"],
            allow_credentials=False,
            max_age=600,
        )
    app.state.handling = handling
    return app


def create_asgi(settings: GatewaySettings) -> BidFastPath:
    """What ``gavel gateway`` serves: the app behind the bid POST fast path."""
    app = create_app(settings)
    return BidFastPath(app, app.state.handling, settings.max_body_bytes)


def app_from_environment() -> BidFastPath:
    """uvicorn factory for ``--workers N``: each worker builds its app from the environment."""
    return create_asgi(GatewaySettings.from_env())


def _drop_view(rules: auction.Rules, state: auction.State) -> DropView:
    return DropView(
        drop=rules.drop_id,
        status=auction.status_at(rules, state.ends_at_ms, now_ms()),
        currency=rules.currency,
        home_region=rules.home_region,
        opens_at_ms=rules.opens_at_ms,
        ends_at_ms=state.ends_at_ms,
        seq=state.seq,
        bids=state.bids,
        high_bid=state.high_bid,
        leader_alias=events.leader_alias(rules.drop_id, state.leader) if state.leader else None,
        min_next=auction.min_next_bid(rules, state),
        reserve_met=state.high_bid is not None and state.high_bid >= rules.reserve,
    )


async def _serve_bidder(
    ws: WebSocket, drop_id: str, handling: BidHandling, notifier: OutbidNotifier
) -> None:
    """A bidder's socket: bids in (many in flight), results and outbid pushes out, one queue.

    Each bid is decided by its own task, so a client may send several without waiting; each
    result carries its ``bid_id``. Results always fit in the queue (it has room for every bid in
    flight beyond the pushes' share); pushes to a stalled client are dropped, never results."""
    origin = ws.headers.get("origin")
    if origin is not None and origin not in handling.service.settings.allowed_origins:
        # A browser page from elsewhere: refused like its REST calls are (CORS).
        await ws.close(code=4403, reason="origin_not_allowed")
        return
    token = ws.query_params.get("access_token")
    header = ws.headers.get("authorization") or (f"Bearer {token}" if token else None)
    # Accept first, then close with a code: a refused handshake would only say "403".
    await ws.accept()
    try:
        bidder = await handling.bidder(header)
    except Problem as p:
        await ws.close(code=4401, reason=p.code)
        return
    home = await handling.service.directory.home_of(drop_id)
    if home is None:
        await ws.close(code=4404, reason="unknown_drop")
        return
    outgoing: asyncio.Queue[bytes | dict[str, Any]] = asyncio.Queue(
        maxsize=PUSH_QUEUE + MAX_BIDS_IN_FLIGHT_PER_SOCKET
    )
    in_flight = asyncio.Semaphore(MAX_BIDS_IN_FLIGHT_PER_SOCKET)
    deciding: set[asyncio.Task[None]] = set()

    def push(message: dict[str, Any]) -> None:
        if outgoing.qsize() < PUSH_QUEUE:  # a stalled client loses pushes, not results
            outgoing.put_nowait(message)

    async def sender() -> None:
        while True:
            item = await outgoing.get()
            await ws.send_text((item if isinstance(item, bytes) else wire.encode(item)).decode())

    async def decide(raw: str) -> None:
        try:
            outgoing.put_nowait(await handling.message(drop_id, bidder, raw))
        finally:
            in_flight.release()

    sending = asyncio.create_task(sender())
    metrics.BIDDER_SOCKETS.inc()
    await notifier.join(home, drop_id, bidder, push)
    try:
        while True:
            raw = await ws.receive_text()
            await in_flight.acquire()
            task = asyncio.create_task(decide(raw))
            deciding.add(task)
            task.add_done_callback(deciding.discard)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        metrics.BIDDER_SOCKETS.dec()
        await notifier.leave(drop_id, bidder, push)
        # Bids still deciding finish (their attempts are audited either way); only their
        # answers have nowhere to go.
        sending.cancel()


async def _flush_outbox(service: BidService) -> None:
    """Hand the disk outbox's open segment to the relay every second.

    A disk error is logged and tried again a second later: were the task to die, edge attempts
    would wait for the segment to fill (1 MiB) or for shutdown before reaching the relay."""
    while True:
        await asyncio.sleep(1.0)
        try:
            await service.flush_outbox()
        except OSError:
            log.exception("handing the disk outbox segment to the relay failed; retrying")
