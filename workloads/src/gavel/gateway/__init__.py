"""The bid gateway (``gavel gateway``): REST and WebSocket front door for bidders.

Modules, lowest first: ``settings`` (configuration), ``auth`` (bidder tokens and their cache,
pure), ``problems`` (the error catalogue, pure), ``models`` (the documented request/response
bodies), ``pipelining`` (which Redis commands go out together, pure), ``metrics``, ``wire``
(hot-path JSON, pure), ``redis_pipe`` (one pipelined Redis connection), ``replicated`` (bids to
a home Redis, ``WAIT`` per batch), ``limits`` (ASGI body-size guard), ``service`` (one attempt:
Redis or the disk outbox), ``live`` (outbid pushes from Redis pub/sub), ``handling`` (one bid
from raw request to raw answer), ``fastpath`` (the bid POST without the framework), ``app``
(routes, kept thin).
"""
