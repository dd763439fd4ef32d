"""Names newer Pythons have built in, for Python 3.10 (``exceptiongroup`` backport there)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import builtins

    BaseExceptionGroup = builtins.BaseExceptionGroup
    ExceptionGroup = builtins.ExceptionGroup
else:  # pragma: no cover - exercised on Python 3.10 only
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

__all__ = ["BaseExceptionGroup", "ExceptionGroup"]
