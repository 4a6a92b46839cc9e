"""The gateway's HTTP and WebSocket routes (FastAPI). Thin: parse, authenticate, delegate.

Built by :func:`create_app` for ``gavel gateway`` (served by uvicorn) and for the tests. Every
refusal is a problem object (:mod:`gavel.gateway.problems`); nothing a client sends can make a
route answer 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gavel import auction, events
from gavel.auction import Reason
from gavel.bidding import BidResult
from gavel.gateway import auth, metrics
from gavel.gateway.limits import BodySizeLimit
from gavel.gateway.live import OutbidNotifier
from gavel.gateway.models import BidRequest, BidResponse, DropView
from gavel.gateway.problems import PROBLEM_JSON, Problem, problem
from gavel.gateway.service import Attempt, BidService, now_ms
from gavel.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def _problem_response(p: Problem, headers: dict[str, str] | None = None) -> Response:
    return Response(p.body(), status_code=p.status, media_type=PROBLEM_JSON, headers=headers)


def _bid_response(drop_id: str, bid: BidRequest, bidder: str, r: BidResult) -> BidResponse:
    d = r.decision
    return BidResponse(
        drop=drop_id,
        bid_id=bid.bid_id,
        event_id=r.event_id,
        outcome=d.outcome.value,
        reason=d.reason.value,
        seq=d.seq,
        high_bid=d.high_bid,
        leader_is_you=d.leader == bidder,
        min_next=d.min_next,
        ends_at_ms=d.ends_at_ms,
        reserve_met=d.reserve_met,
        duplicate=r.duplicate,
        decided_ms=d.decided_ms,
    )


def _parse_bid(raw: bytes | str) -> BidRequest:
    """A strict BidRequest, or a Problem: 400 for broken JSON, 422 for the wrong shape."""
    try:
        return BidRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise problem("malformed_json", errors[0]["msg"]) from exc
        fields = [{"field": ".".join(str(x) for x in e["loc"]), "error": e["msg"]} for e in errors]
        raise problem("invalid_request", "see errors", errors=fields) from exc


def create_app(settings: GatewaySettings) -> FastAPI:
    service = BidService(settings)
    notifier = OutbidNotifier(service.redis)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything imported and built so far lives as long as the process. Freezing it keeps
        # the collector from re-scanning it in every full collection: without this, those
        # scans put ~40 ms stalls into about 1% of bid acks (docs/performance.md).
        gc.collect()
        gc.freeze()
        flusher = asyncio.create_task(_flush_outbox(service))
        yield
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

    @app.post("/v1/drops/{drop_id}/bids", status_code=201, response_model=BidResponse)
    async def post_bid(drop_id: str, request: Request) -> Response:
        received = now_ms()
        started = time.perf_counter()
        bidder = _authenticate(settings, request.headers.get("authorization"))
        if "json" not in request.headers.get("content-type", ""):
            raise problem("unsupported_media_type", "Content-Type must be application/json")
        bid = _parse_bid(await request.body())
        result = await service.submit(
            Attempt(drop_id, bidder, bid.bid_id, bid.amount, received, str(uuid.uuid4()))
        )
        metrics.BIDS.labels(result.decision.outcome.value, result.decision.reason.value).inc()
        metrics.BID_SECONDS.observe(time.perf_counter() - started)
        return _bid_http_response(drop_id, bid, bidder, result)

    @app.get("/v1/drops/{drop_id}", response_model=DropView)
    async def get_drop(drop_id: str) -> DropView:
        found = await service.view(drop_id)
        if found is None:
            raise problem("unknown_drop", f"no drop {drop_id!r}")
        rules, state = found
        return _drop_view(rules, state)

    @app.websocket("/v1/drops/{drop_id}/bidder")
    async def bidder_socket(ws: WebSocket, drop_id: str) -> None:
        await _serve_bidder(ws, drop_id, settings, service, notifier)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
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
    return app


def app_from_environment() -> FastAPI:
    """uvicorn factory for ``--workers N``: each worker builds its app from the environment."""
    return create_app(GatewaySettings.from_env())


def _authenticate(settings: GatewaySettings, header: str | None) -> str:
    try:
        return auth.bidder_from_header(settings.jwt_secret, header)
    except auth.AuthError as exc:
        raise problem(exc.code, exc.detail) from exc


def _bid_http_response(drop_id: str, bid: BidRequest, bidder: str, r: BidResult) -> Response:
    body, reason = _bid_response(drop_id, bid, bidder, r), r.decision.reason
    if reason is Reason.ACCEPTED:
        return JSONResponse(body.model_dump(), status_code=201)
    if reason is Reason.UNKNOWN_DROP:
        return _problem_response(problem("unknown_drop", f"no drop {drop_id!r}"))
    if reason is Reason.UNAVAILABLE:
        return _problem_response(
            problem("unavailable", "retry with the same bid_id", **body.model_dump()),
            {"Retry-After": "1"},
        )
    p = problem(reason.value, **body.model_dump())
    headers = None
    if reason is Reason.RATE_LIMITED:
        headers = {"Retry-After": str(max(1, -(-r.retry_after_ms // 1000)))}
        p.extra["retry_after_ms"] = r.retry_after_ms
    return _problem_response(p, headers)


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
    ws: WebSocket,
    drop_id: str,
    settings: GatewaySettings,
    service: BidService,
    notifier: OutbidNotifier,
) -> None:
    """A bidder's socket: bids in, results and outbid pushes out, in one ordered queue."""
    origin = ws.headers.get("origin")
    if origin is not None and origin not in settings.allowed_origins:
        # A browser page from elsewhere: refused like its REST calls are (CORS).
        await ws.close(code=4403, reason="origin_not_allowed")
        return
    token = ws.query_params.get("access_token")
    header = ws.headers.get("authorization") or (f"Bearer {token}" if token else None)
    # Accept first, then close with a code: a refused handshake would only say "403".
    await ws.accept()
    try:
        bidder = auth.bidder_from_header(settings.jwt_secret, header)
    except auth.AuthError as exc:
        await ws.close(code=4401, reason=exc.code)
        return
    home = await service.directory.home_of(drop_id)
    if home is None:
        await ws.close(code=4404, reason="unknown_drop")
        return
    outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)

    def push(message: dict[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a stalled client loses pushes, not bids
            outgoing.put_nowait(message)

    async def sender() -> None:
        while True:
            await ws.send_json(await outgoing.get())

    sending = asyncio.create_task(sender())
    metrics.BIDDER_SOCKETS.inc()
    await notifier.join(home, drop_id, bidder, push)
    try:
        while True:
            raw = await ws.receive_text()
            received = now_ms()
            try:
                bid = _parse_bid(raw)
            except Problem as p:
                push({"type": "error", "code": p.code, "detail": p.detail, **p.extra})
                continue
            result = await service.submit(
                Attempt(drop_id, bidder, bid.bid_id, bid.amount, received, str(uuid.uuid4()))
            )
            metrics.BIDS.labels(result.decision.outcome.value, result.decision.reason.value).inc()
            push(
                {
                    "type": "result",
                    **_bid_response(drop_id, bid, bidder, result).model_dump(),
                    "retry_after_ms": result.retry_after_ms,
                }
            )
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        metrics.BIDDER_SOCKETS.dec()
        await notifier.leave(drop_id, bidder, push)
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
