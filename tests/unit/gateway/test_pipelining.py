"""The pure half of automatic pipelining: batching, reply matching, failing everyone."""

from __future__ import annotations

import hiredis
import pytest

from gavel.gateway.pipelining import Pipeline, ProtocolDesyncError, encode

WAIT = encode(["WAIT", 1, 500])


def test_encode_is_resp_that_redis_reads() -> None:
    assert encode(["SET", "k", 12, b"\x00v"]) == (
        b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$2\r\n\x00v\r\n"
    )
    # Round trip through the same parser the I/O half uses: RESP arrays parse back to the args.
    reader = hiredis.Reader()
    reader.feed(encode(["EVALSHA", "é", 0]))
    assert reader.gets() == [b"EVALSHA", "é".encode(), b"0"]


def test_one_write_per_turn_and_replies_matched_in_order() -> None:
    p: Pipeline[str] = Pipeline()
    assert p.submit(b"A", "a") is True  # the first of a turn asks for a flush
    assert p.submit(b"B", "b") is False
    assert p.take() == b"AB"
    assert p.take() == b""
    p.submit(b"C", "c")
    assert p.take() == b"C"  # a second batch in flight before the first is answered
    assert p.answer(1) is None
    first = p.answer(2)
    assert first is not None
    assert (first.waiters, first.replies) == (["a", "b"], [1, 2])
    second = p.answer(3)
    assert second is not None
    assert (second.waiters, second.replies) == (["c"], [3])
    assert p.in_flight == 0


def test_a_replicated_batch_ends_with_the_trailer_and_completes_on_its_reply() -> None:
    p: Pipeline[str] = Pipeline()
    p.submit(b"X", "x", replicate=True)
    p.submit(b"Y", "y")
    assert p.take(WAIT) == b"XY" + WAIT
    assert p.trailers_in_flight == 1
    assert p.answer("rx") is None
    assert p.answer("ry") is None  # every command answered, but the WAIT is not yet
    batch = p.answer(2)
    assert batch is not None
    assert (batch.replies, batch.trailer_reply) == (["rx", "ry"], 2)
    assert p.trailers_in_flight == 0


def test_no_trailer_when_nothing_in_the_batch_needs_replication() -> None:
    p: Pipeline[str] = Pipeline()
    p.submit(b"INFO", "i")
    assert p.take(WAIT) == b"INFO"
    batch = p.answer("info")
    assert batch is not None
    assert batch.trailer_reply is None


def test_a_nil_trailer_reply_still_completes_the_batch() -> None:
    p: Pipeline[str] = Pipeline()
    p.submit(b"X", "x", replicate=True)
    p.take(WAIT)
    p.answer("rx")
    assert p.answer(None) is not None


def test_batches_are_capped() -> None:
    p: Pipeline[int] = Pipeline(max_batch=2)
    for n in range(5):
        p.submit(b"%d" % n, n)
    assert [p.take(), p.take(), p.take(), p.take()] == [b"01", b"23", b"4", b""]


def test_fail_all_returns_every_waiter_once_oldest_first() -> None:
    p: Pipeline[str] = Pipeline()
    p.submit(b"A", "a", replicate=True)
    p.submit(b"B", "b", replicate=True)
    p.take(WAIT)
    p.answer("ra")  # answered, but waits for its batch's WAIT: it must fail too
    p.submit(b"C", "c")
    p.take()
    p.submit(b"D", "d")  # never written
    assert p.fail_all() == ["a", "b", "c", "d"]
    assert (p.queued, p.in_flight) == (0, 0)
    assert p.fail_all() == []


def test_a_handshake_goes_first() -> None:
    p: Pipeline[str] = Pipeline()
    p.submit(b"BID", "bid")
    p.submit_first(b"HELLO", "hello")
    assert p.take() == b"HELLOBID"


def test_a_reply_nobody_waits_for_is_a_desync() -> None:
    p: Pipeline[str] = Pipeline()
    with pytest.raises(ProtocolDesyncError):
        p.answer(1)
