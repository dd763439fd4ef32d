"""The blocking faces (SyncThreadChannel, SyncProcessChannel) obey the same contract."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from netrun.rpc import (
    ChannelBroken,
    ChannelClosed,
    RecvTimeout,
    SyncProcessChannel,
    SyncThreadChannel,
)
from netrun.rpc._mailbox import SyncMailbox


def thread_pair() -> tuple[SyncThreadChannel, SyncThreadChannel]:
    a_box, b_box = SyncMailbox("t"), SyncMailbox("t")
    return SyncThreadChannel(b_box, a_box), SyncThreadChannel(a_box, b_box)


def process_pair() -> tuple[SyncProcessChannel, SyncProcessChannel]:
    a, b = multiprocessing.Pipe(duplex=True)
    return SyncProcessChannel(a), SyncProcessChannel(b)


PAIRS = {"thread": thread_pair, "process": process_pair}


@pytest.fixture(params=list(PAIRS))
def pair(request: pytest.FixtureRequest) -> tuple:
    a, b = PAIRS[request.param]()
    yield a, b
    a.close()
    b.close()


def test_timeout_try_recv_and_round_trip(pair: tuple) -> None:
    a, b = pair
    start = time.monotonic()
    with pytest.raises(RecvTimeout, match="within 0.05 s"):
        b.recv(timeout=0.05)
    assert time.monotonic() - start < 2
    assert b.try_recv() is None
    a.send("k", [1, 2])
    assert b.recv(timeout=5) == ("k", [1, 2])


def test_peer_close_then_closed(pair: tuple) -> None:
    a, b = pair
    a.send("k", 1)
    a.close()
    assert b.recv(timeout=5) == ("k", 1)
    with pytest.raises(ChannelClosed, match="closed by the peer"):
        b.recv(timeout=5)
    with pytest.raises(ChannelClosed, match="closed by the peer"):
        b.send("k", 2)
    assert b.is_closed


def test_local_close_wakes_blocked_thread_recv() -> None:
    a, b = thread_pair()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            b.recv(timeout=30)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.05)
    b.close()
    t.join(5)
    assert not t.is_alive()
    assert isinstance(errors[0], ChannelClosed) and "this end closed it" in str(errors[0])
    with pytest.raises(ChannelClosed, match="this end"):
        b.send("k", 1)


def test_thread_channel_marked_broken() -> None:
    a, b = thread_pair()
    a.send("k", 1)
    a.mark_broken("worker thread died")
    assert b.recv(timeout=5) == ("k", 1)
    with pytest.raises(ChannelBroken, match="worker thread died"):
        b.recv(timeout=5)


def test_process_pipe_end_vanishing_is_broken_not_closed() -> None:
    a, b = process_pair()
    a.send("k", 1)
    a._conn.close()  # the peer disappears without a close notice
    assert b.recv(timeout=5) == ("k", 1)
    with pytest.raises(ChannelBroken, match="exited without closing"):
        b.recv(timeout=5)
    b.close()


def test_process_send_after_peer_closed_and_left_says_closed() -> None:
    a, b = process_pair()
    a.close()  # close notice written, then the pipe end is closed
    time.sleep(0.05)
    with pytest.raises(ChannelClosed, match="closed by the peer"):
        b.send("k", 1)
    b.close()
