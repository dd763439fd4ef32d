"""Normalisation of engine output for the differential test.

Two engines generate different random IDs and iterate some hash maps in random order
(the ⟂ spots of the engine reference, Appendix B). This module turns what an engine
returns into data that must be *identical* for two faithful engines:

* IDs become references ``#n`` numbered in order of first appearance (``IdMap``). IDs the
  harness invents (``K*`` constants) keep fixed names, so that an engine echoing the wrong
  ID is still caught.
* Locations become tuples: ``("X",)``, ``("I", node, port)``, ``("E", "A.out.o -> B.in.i")``,
  ``("N", ref)``, ``("O", ref, port)``.
* ``Mirror`` follows every location's packet list by replaying events, and remembers which
  packets arrived together in an engine-dependent order (``groups``). A run of packets of
  the same group is compared as a sorted run; a ``from_index`` that points into such a
  run is replaced by ``["~", run_start]``.

Imports nothing from the project (it runs under the native engine's interpreter too).
"""

from __future__ import annotations

import re

ULID_RE = re.compile(r"\b[0-7][0-9A-HJKMNP-TV-Z]{25}\b")
LOWER_ULID_RE = re.compile(r"\b[0-7][0-9a-hjkmnp-tv-z]{25}\b")
DEBUG_ULID_RE = re.compile(r"Ulid\((\d+)\)")
TS_RE = re.compile(r"ts=\d+")
ADDR_RE = re.compile(r" at 0x[0-9a-f]+")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# IDs invented by the harness: valid ULIDs that no engine will ever generate.
CONSTANTS = {
    "K0": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "K1": "7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "K2": "00000000000000000000000000",
    # "8ZZ..Z" parses by wrapping to "0ZZ..Z" (reference §10); the engine echoes the latter.
    "KW": "0ZZZZZZZZZZZZZZZZZZZZZZZZZ",
}
LITERALS = {
    "WRAP": "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "BAD_SHORT": "01ARZ3NDEKTSV4RRFFQ69G5FA",
    "BAD_LONG": "01ARZ3NDEKTSV4RRFFQ69G5FAVV",
    "BAD_CHAR": "01ARZ3NDEKTSV4RRFFQ69G5FAU",
    "BAD_MB": "\u00e9" + "0" * 24,
    "BAD_EMPTY": "",
    "BAD_WORD": "bad",
}


def ulid_from_int(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ref_key(ref: str):
    """Sort key of a reference: numbered refs by number, constants after them."""
    if ref.startswith("#"):
        return (0, int(ref[1:]), "")
    return (1, 0, ref)


class IdMap:
    """Maps engine IDs to ``#n`` references in order of first appearance."""

    def __init__(self) -> None:
        self.to_ref: dict[str, str] = {v: k for k, v in CONSTANTS.items()}
        self.to_real: dict[str, str] = dict(CONSTANTS)
        self.n = 0

    def ref(self, real) -> str:
        real = str(real)
        r = self.to_ref.get(real)
        if r is None:
            self.n += 1
            r = f"#{self.n}"
            self.to_ref[real] = r
            self.to_real[r] = real
        return r

    def known(self, real) -> bool:
        return str(real) in self.to_ref

    def real(self, ref: str) -> str:
        return self.to_real[ref]

    def text(self, s: str) -> str:
        """``s`` with every ULID (also Rust-Debug ``Ulid(<decimal>)``) replaced by its ref."""
        s = DEBUG_ULID_RE.sub(lambda m: f"Ulid({self.ref(ulid_from_int(int(m.group(1))))})", s)
        s = LOWER_ULID_RE.sub(lambda m: "low(" + self.ref(m.group(0).upper()) + ")", s)
        return ULID_RE.sub(lambda m: self.ref(m.group(0)), s)


def canon_runs(refs, group_of) -> list:
    """``refs`` with every maximal run of same-group packets sorted (their order is ⟂)."""
    out, i, n = [], 0, len(refs)
    while i < n:
        g = group_of.get(refs[i])
        j = i + 1
        if g is not None:
            while j < n and group_of.get(refs[j]) == g:
                j += 1
        run = refs[i:j]
        out.extend(sorted(run, key=ref_key) if len(run) > 1 else run)
        i = j
    return out


def run_bounds(lst, idx, group_of):
    """(start, end) of the same-group run around position ``idx`` (end exclusive)."""
    g = group_of.get(lst[idx])
    if g is None:
        return idx, idx + 1
    s = idx
    while s > 0 and group_of.get(lst[s - 1]) == g:
        s -= 1
    e = idx + 1
    while e < len(lst) and group_of.get(lst[e]) == g:
        e += 1
    return s, e


class Mirror:
    """Packet lists per location, replayed from events, plus the ambiguity groups."""

    def __init__(self) -> None:
        self.locs: dict[tuple, list[str]] = {}
        self.where: dict[str, tuple] = {}
        self.group: dict[str, int] = {}
        self.next_gid = 1

    def new_group(self, refs) -> None:
        gid = self.next_gid
        self.next_gid += 1
        for r in refs:
            self.group[r] = gid

    def lst(self, key) -> list[str]:
        return self.locs.setdefault(key, [])

    def canon(self, key) -> list[str]:
        return canon_runs(self.locs.get(key, []), self.group)

    def norm_index(self, key, ref: str, given_index):
        """The comparable form of the ``from_index`` of ``ref`` leaving ``key``."""
        lst = self.locs.get(key, [])
        if ref not in lst:
            return ["?", given_index]
        idx = lst.index(ref)
        s, e = run_bounds(lst, idx, self.group)
        if e - s > 1:
            return ["~", s]
        return given_index

    def cut_is_ambiguous(self, key, k: int) -> bool:
        """Whether taking the first ``k`` packets of ``key`` splits an ambiguous run."""
        lst = self.locs.get(key, [])
        if k <= 0 or k >= len(lst):
            return False
        s, e = run_bounds(lst, k - 1, self.group)
        return e > k

    def remove(self, ref: str, key=None) -> int:
        key = self.where.get(ref, key)
        lst = self.locs.get(key)
        idx = -1
        if lst is not None and ref in lst:
            idx = lst.index(ref)
            del lst[idx]
        self.where.pop(ref, None)
        self.group.pop(ref, None)
        return idx

    def append(self, ref: str, key) -> None:
        self.lst(key).append(ref)
        self.where[ref] = key

    def move(self, ref: str, dst) -> None:
        self.remove(ref)
        self.append(ref, dst)

    def load_real(self, real_lists: dict) -> None:
        """Replace the lists by the engine's real ones (groups of packets that stayed put survive)."""
        old_where = self.where
        self.locs = {k: list(v) for k, v in real_lists.items()}
        self.where = {r: k for k, v in self.locs.items() for r in v}
        self.group = {r: g for r, g in self.group.items() if old_where.get(r) == self.where.get(r)}
