"""0.5.0 path of ``get_timestamp_utc``."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["get_timestamp_utc"]


def get_timestamp_utc() -> datetime:
    """The current time as a timezone-aware UTC ``datetime``."""
    return datetime.now(timezone.utc)
