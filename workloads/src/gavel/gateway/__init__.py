"""The bid gateway (``gavel gateway``): REST and WebSocket front door for bidders.

Modules, lowest first: ``settings`` (configuration), ``auth`` (bidder tokens, pure),
``problems`` (the error catalogue, pure), ``models`` (strict request/response bodies),
``limits`` (ASGI body-size guard), ``metrics``, ``service`` (one attempt: Redis or the disk
outbox), ``live`` (outbid pushes from Redis pub/sub), ``app`` (routes, kept thin).
"""
