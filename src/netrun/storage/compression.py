"""Compression of serialized values: gzip, bz2, lzma, zlib (stdlib), zstd and lz4 (extras).

``compress`` / ``decompress`` work on whole byte strings: values are serialized to bytes
first, and a stored object is written in one piece so that a backend can write it
atomically. ``zstandard`` and ``lz4`` are imported only when their method is used, with an
install hint naming the ``storage`` extra.

>>> decompress(compress(b"abc" * 100, "gzip"), "gzip") == b"abc" * 100
True
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from enum import Enum
from typing import Any

from netrun.storage.errors import MissingOptionalDependencyError, ValueNotDeserializableError

__all__ = [
    "CompressionMethod",
    "compress",
    "decompress",
    "get_compression_extension",
    "validate_compression_imports",
]


class CompressionMethod(str, Enum):
    """A compression method; the value is the name used in configs."""

    gzip = "gzip"
    bz2 = "bz2"
    lzma = "lzma"
    zlib = "zlib"
    zstd = "zstd"
    lz4 = "lz4"


_EXTENSIONS = {
    CompressionMethod.gzip: ".gz",
    CompressionMethod.bz2: ".bz2",
    CompressionMethod.lzma: ".xz",
    CompressionMethod.zlib: ".zlib",
    CompressionMethod.zstd: ".zst",
    CompressionMethod.lz4: ".lz4",
}

# The optional library each method needs: (import name, distribution, netrun extra).
_OPTIONAL = {
    CompressionMethod.zstd: ("zstandard", "zstandard", "storage"),
    CompressionMethod.lz4: ("lz4.frame", "lz4", "storage"),
}


def _method(method: CompressionMethod | str) -> CompressionMethod:
    try:
        return CompressionMethod(method)
    except ValueError:
        known = ", ".join(m.value for m in CompressionMethod)
        raise ValueError(f"unknown compression method {method!r}; use one of: {known}") from None


def _import(method: CompressionMethod) -> Any:
    module_name, package, extra = _OPTIONAL[method]
    try:
        return __import__(module_name, fromlist=["_"])
    except ImportError as exc:
        raise MissingOptionalDependencyError(
            f"compression method {method.value!r} needs the {package!r} package, which is not installed",
            package=package,
            extra=extra,
        ) from exc


def validate_compression_imports(method: CompressionMethod | str | None) -> None:
    """Fail early (at configuration time) if ``method`` needs a library that is missing."""
    if method is None:
        return
    method = _method(method)
    if method in _OPTIONAL:
        _import(method)


def get_compression_extension(method: CompressionMethod | str | None) -> str:
    """The file-name suffix for ``method`` (``""`` for no compression)."""
    return "" if method is None else _EXTENSIONS[_method(method)]


def compress(data: bytes, method: CompressionMethod | str | None, level: int | None = None) -> bytes:
    """Compress ``data`` with ``method`` (``None`` returns ``data`` unchanged)."""
    if method is None:
        return data
    method = _method(method)
    if method is CompressionMethod.gzip:
        # mtime=0 keeps the output deterministic (same input, same bytes).
        return gzip.compress(data, compresslevel=9 if level is None else level, mtime=0)
    if method is CompressionMethod.bz2:
        return bz2.compress(data, 9 if level is None else level)
    if method is CompressionMethod.lzma:
        return lzma.compress(data) if level is None else lzma.compress(data, preset=level)
    if method is CompressionMethod.zlib:
        return zlib.compress(data, -1 if level is None else level)
    if method is CompressionMethod.zstd:
        zstandard = _import(method)
        return zstandard.ZstdCompressor(level=3 if level is None else level).compress(data)
    lz4_frame = _import(method)
    return lz4_frame.compress(data) if level is None else lz4_frame.compress(data, compression_level=level)


def decompress(data: bytes, method: CompressionMethod | str | None) -> bytes:
    """Undo :func:`compress`; corrupt input raises :class:`ValueNotDeserializableError`."""
    if method is None:
        return data
    method = _method(method)
    try:
        if method is CompressionMethod.gzip:
            return gzip.decompress(data)
        if method is CompressionMethod.bz2:
            return bz2.decompress(data)
        if method is CompressionMethod.lzma:
            return lzma.decompress(data)
        if method is CompressionMethod.zlib:
            return zlib.decompress(data)
        if method is CompressionMethod.zstd:
            # decompressobj handles frames written without a content size.
            return _import(method).ZstdDecompressor().decompressobj().decompress(data)
        return _import(method).decompress(data)
    except MissingOptionalDependencyError:
        raise
    except Exception as exc:  # each library raises its own error type for corrupt input
        raise ValueNotDeserializableError(
            f"cannot decompress {len(data)} bytes with {method.value!r}: {exc}",
            fix="check that the data was written with this compression method and is not truncated",
        ) from exc
