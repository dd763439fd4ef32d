"""ULID identifiers: parsing rules of the published engine and generated IDs (reference §10)."""

from __future__ import annotations

import time

import pytest
import ulid

from netrun_sim import Graph, NetAction as A, NetSim, Node, PacketLocation as Loc, Salvo

CANON = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@pytest.mark.parametrize(
    "text, canonical",
    [
        (CANON, CANON),
        (CANON.lower(), CANON),
        ("8" + "Z" * 25, "0" + "Z" * 25),  # 130 bits truncated to 128
        ("Z" * 26, "7" + "Z" * 25),
        ("z" * 26, "7" + "Z" * 25),
    ],
)
def test_accepted_ids_are_normalised(text, canonical):
    assert Loc.node(text).epoch_id == canonical
    assert Loc.output_port(text, "o").epoch_id == canonical


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "Invalid ULID: invalid length"),
        (CANON[:-1], "Invalid ULID: invalid length"),
        (CANON + "0", "Invalid ULID: invalid length"),
        (" " + CANON, "Invalid ULID: invalid length"),  # not stripped
        (12345, "Invalid ULID: invalid length"),
        (None, "Invalid ULID: invalid length"),
        (b"0" * 26, "Invalid ULID: invalid length"),  # str(b'...') is longer
        ("é" * 26, "Invalid ULID: invalid length"),  # length counts UTF-8 bytes
        ("é" * 13, "Invalid ULID: invalid character"),  # 26 bytes
        ("é" + "0" * 24, "Invalid ULID: invalid character"),
        ("I" * 26, "Invalid ULID: invalid character"),
        ("L" + "0" * 25, "Invalid ULID: invalid character"),
        ("0" * 25 + "O", "Invalid ULID: invalid character"),
        ("0" * 25 + "u", "Invalid ULID: invalid character"),
        (" " * 26, "Invalid ULID: invalid character"),
        ("0" * 25 + "-", "Invalid ULID: invalid character"),
    ],
)
def test_rejected_ids(value, message):
    with pytest.raises(ValueError) as info:
        Loc.node(value)
    assert str(info.value) == message


def test_ids_accepted_as_objects_whose_str_is_an_id():
    assert Loc.node(ulid.ULID.from_str(CANON)).epoch_id == CANON
    net = NetSim(Graph([Node("A")], []))
    assert net.get_epoch(CANON.lower()) is None and net.get_packet(ulid.ULID.from_str(CANON)) is None
    with pytest.raises(ValueError, match="^Invalid ULID: invalid length$"):
        net.get_epoch(None)


def test_action_ids_are_stored_raw_and_parsed_when_the_action_runs():
    net = NetSim(Graph([Node("A")], []))
    action = A.consume_packet(12345)
    assert repr(action) == "NetAction.consume_packet('12345')"
    with pytest.raises(ValueError, match="^Invalid ULID: invalid length$"):
        net.do_action(action)
    with pytest.raises(ValueError, match="^Invalid ULID: invalid character$"):
        net.do_action(A.create_epoch("A", Salvo("m", [("i", "I" * 26)])))


def test_generated_ids():
    net = NetSim(Graph([Node("A")], []))
    before = int(time.time() * 1000)
    pids = [net.do_action(A.create_packet())[0].packet_id for _ in range(2000)]
    after = int(time.time() * 1000)
    assert len(set(pids)) == len(pids)
    for pid in pids[:50]:
        assert len(pid) == 26 and pid[0] in "01234567" and set(pid) <= set(ALPHABET)
        assert before - 1 <= ulid.ULID.from_str(pid).milliseconds <= after + 1
    # the random part really varies (all 32 digits appear in the last position)
    assert {p[-1] for p in pids} == set(ALPHABET)
    got = net.get_packets_at_location(Loc.outside_net())
    assert all(isinstance(u, ulid.ULID) for u in got) and got == pids and [str(u) for u in got] == pids
    packet = net.get_packet(pids[0])
    assert packet.id == pids[0] and packet.get_id() == ulid.ULID.from_str(pids[0])
    assert repr(packet) == f"Packet(id='{pids[0]}', location=PacketLocation.outside_net())"


def test_epoch_ids_and_start_time():
    net = NetSim(Graph([Node("A")], []))
    epoch = net.do_action(A.create_epoch("A", Salvo("m", [])))[0].epoch
    u = epoch.get_id()
    assert isinstance(u, ulid.ULID) and str(u) == epoch.id and epoch.start_time() == u.milliseconds
    assert net.get_startable_epochs() == [epoch.id]
    assert repr(epoch) == f"Epoch(id='{epoch.id}', node_name=\"A\", state=EpochState.Startable)"
