"""ULID identifiers: fast generation, parsing with the published engine's rules.

Inside the engine every packet and epoch ID is a canonical 26-character upper-case
Crockford base-32 string. ``ulid.ULID`` objects (python-ulid) are built only by the four
APIs that return them (:func:`to_ulid`).

Generation (``IdSource``) reads the clock once per action (the caller passes the
millisecond timestamp) and draws 80 random bits per ID, encoded with a byte translation
table. Parsing (:func:`parse_id`) follows the Rust ``ulid`` crate used by the published
engine: the length is measured in UTF-8 bytes, lower case is accepted, and the 130-bit
value is truncated to 128 bits (a first character above ``7`` wraps).
"""

from __future__ import annotations

import os
import random
import re
import time

from ulid import ULID

__all__ = ["ALPHABET", "parse_id", "to_ulid", "now_ms", "IdSource", "id_timestamp"]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_VALUE.update({c.lower(): i for c, i in list(_VALUE.items())})
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]  # 10-bit table
_VALID = re.compile(r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}\Z")
_CANONICAL = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}\Z")
# Crockford digit -> Python's base-32 digit, so int(text.translate(_TO_B32), 32) decodes.
_TO_B32 = str.maketrans(ALPHABET, "0123456789abcdefghijklmnopqrstuv")

# byte -> Crockford digit of its low 5 bits: 16 random bytes give 16 digits = 80 random bits
_BYTE_TO_DIGIT = bytes(ord(ALPHABET[b & 31]) for b in range(256))

_INVALID_LENGTH = "Invalid ULID: invalid length"
_INVALID_CHARACTER = "Invalid ULID: invalid character"


def parse_id(value: object) -> str:
    """Return the canonical text of an ID given as ``str`` or any object whose ``str()`` is one.

    Raises ``ValueError("Invalid ULID: invalid length")`` or
    ``ValueError("Invalid ULID: invalid character")`` like the published engine.

    >>> parse_id("01arz3ndektsv4rrffq69g5fav")
    '01ARZ3NDEKTSV4RRFFQ69G5FAV'
    """
    text = value if type(value) is str else str(value)
    if _CANONICAL.match(text) is not None:
        return text
    if len(text) != 26 or not text.isascii():
        if len(text.encode("utf-8", "surrogatepass")) != 26:
            raise ValueError(_INVALID_LENGTH)
        raise ValueError(_INVALID_CHARACTER)
    if _VALID.match(text) is None:
        raise ValueError(_INVALID_CHARACTER)
    text = text.upper()
    first = _VALUE[text[0]]
    if first > 7:  # 130 bits truncated to 128: the two top bits of the first digit drop
        text = ALPHABET[first & 7] + text[1:]
    return text


def to_ulid(canonical: str) -> ULID:
    """Build a python-ulid ``ULID`` from a canonical ID string (no validation)."""
    obj = ULID.__new__(ULID)
    obj.bytes = int(canonical.translate(_TO_B32), 32).to_bytes(16, "big")
    return obj


def id_timestamp(canonical: str) -> int:
    """The millisecond timestamp stored in the first 10 characters of an ID."""
    return int(canonical[:10].translate(_TO_B32), 32)


def now_ms() -> int:
    """Current UTC time in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def _encode_time(ms: int) -> str:
    pairs = _PAIRS
    return (
        pairs[(ms >> 40) & 1023]
        + pairs[(ms >> 30) & 1023]
        + pairs[(ms >> 20) & 1023]
        + pairs[(ms >> 10) & 1023]
        + pairs[ms & 1023]
    )


_BUFFER = 16 * 256  # random digits drawn at once (256 IDs)


class IdSource:
    """Generates ULIDs: the caller supplies the millisecond timestamp of the action.

    The 80 random bits of an ID are 16 random Crockford digits. They are drawn in bulk:
    ``_buf`` holds 256 IDs' worth of digits, made from random bytes whose low 5 bits each
    select one digit (one C-level ``bytes.translate``), and ``_pos`` is the next unused
    slice. The 10-digit timestamp prefix is cached per millisecond.
    """

    __slots__ = ("_ms", "_prefix", "_bits", "_buf", "_pos")

    def __init__(self) -> None:
        self._ms = -1
        self._prefix = ""
        self._bits = random.Random(os.urandom(16)).getrandbits
        self._buf = ""
        self._pos = _BUFFER

    def set_time(self, ms: int) -> None:
        """Make ``ms`` the timestamp of the following IDs."""
        self._ms = ms
        self._prefix = _encode_time(ms & 0xFFFFFFFFFFFF)

    def refill(self) -> int:
        """Draw a new buffer of random digits; returns the new position (0)."""
        self._buf = self._bits(8 * _BUFFER).to_bytes(_BUFFER, "little").translate(_BYTE_TO_DIGIT).decode()
        self._pos = 0
        return 0

    def new(self, ms: int) -> str:
        """A fresh ID with timestamp ``ms`` and 80 random bits."""
        if ms != self._ms:
            self.set_time(ms)
        pos = self._pos
        if pos >= _BUFFER:
            pos = self.refill()
        self._pos = pos + 16
        return self._prefix + self._buf[pos : pos + 16]
