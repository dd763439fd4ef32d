"""Node functions of ``flaky_retry.netrun.toml``: a node that fails now and then, and retries.

``flaky_square`` fails its first attempt for every multiple of 3 (a stand-in for a
transient network error) and succeeds on the retry; ``ctx.retry_count`` tells which
attempt is running. ``note_failure`` is the node's failure function: it sees every failed
attempt (the runtime also records them in the node log and, if all retries fail, in the
dead-letter queue).
"""

from __future__ import annotations

from typing import Any

#: (value, attempt) of every failed attempt seen by note_failure, for inspection.
FAILURES: list[tuple[Any, int]] = []


def flaky_square(x: int, ctx) -> int:
    if x % 3 == 0 and ctx.retry_count == 0:
        raise ConnectionError(f"transient failure squaring {x} (attempt {ctx.retry_count + 1})")
    return x * x


def note_failure(ctx) -> None:
    values = list(getattr(ctx, "packet_values", {}).values())
    FAILURES.append((values[0] if values else None, ctx.retry_count))
