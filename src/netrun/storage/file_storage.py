"""Per-node file storage: write a node's outputs to a backend, and replay them later.

After a successful epoch the runtime hands the outputs to :meth:`NodeFileStorage.store`;
before running an epoch it asks :meth:`NodeFileStorage.lookup` whether outputs for the same
inputs are stored, and replays them with :meth:`NodeFileStorage.replay` (values come back as
:class:`~netrun.storage.lazy.StoredValueRef` handles loaded on consumption, or eagerly for
bundles).

Layout in the backend (``<node>`` is the node name made path-safe)::

    <node>/<input hash>/<salvo>/<port>_<i><ext>      one file per output value
    <node>/<input hash>/outputs.tar.gz               ... or one bundle (bundle=true)
    <node>/<input hash>/inputs/<port>_<i><ext>       inputs (store_inputs=true)
    <node>/_manifests/<input hash>.json              one manifest per entry, written last

Every epoch with distinct inputs gets its own entry and manifest, so a node keeps any number
of entries and concurrent writers never touch each other's files (the published runtime kept
one manifest per node and failed on the second distinct input). A manifest is written only
after all its files, so a reader never sees half an entry. With ``output_names`` the files
get fixed names under ``<node>/`` instead; a later epoch with different inputs then raises
:class:`FileStorageConflictError` (``on_hash_change="error"``) or replaces the earlier
entry (``"overwrite"``).

The input hash covers the inputs (stable, type-tagged hashing), ``version`` and, when the
runtime passes one, the node's code fingerprint.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import re
import tarfile
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any

from netrun.storage.backends import StorageBackend, get_backend, register_backend
from netrun.storage.cache import CachedOutputSalvo
from netrun.storage.compression import compress, decompress, get_compression_extension
from netrun.storage.config import BundleFormat, NodeFileStorageConfig, OnHashChange, StorageConfig
from netrun.storage.errors import (
    CorruptManifestError,
    FileStorageConflictError,
    StorageConfigError,
    StorageError,
    StoredValueNotFoundError,
)
from netrun.storage.hashing import stable_hash
from netrun.storage.lazy import LazyPacketValueSpec, StoredValueRef, resolve_value
from netrun.storage.serialization import deserialize, get_file_extension, load_options_for, serialize

__all__ = ["StoredFile", "FileStorageManifest", "NodeFileStorage", "FileStorage", "NetFileStorageStore"]

MANIFEST_FORMAT_VERSION = 1
_HASH_FORMAT = "netrun-file-storage/1"


@dataclass
class StoredFile:
    """One stored value: where it came from (salvo, port, index) and where it is."""

    salvo: str
    port: str
    index: int
    key: str
    size: int
    sha256: str
    load_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileStorageManifest:
    """What one stored epoch left in the backend."""

    node_name: str
    input_salvo_hash: str
    version: int
    serialization: str
    pickling_method: str
    compression: str | None
    salvo_order: list[str]
    outputs: list[StoredFile]
    inputs: list[StoredFile] = field(default_factory=list)
    bundle_key: str | None = None
    bundle_format: str | None = None
    epoch_id: str | None = None
    created_at: str = ""
    format_version: int = MANIFEST_FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: bytes | str, *, where: str) -> FileStorageManifest:
        try:
            data = json.loads(text)
            if data.get("format_version") != MANIFEST_FORMAT_VERSION:
                raise ValueError(f"format_version {data.get('format_version')} is not {MANIFEST_FORMAT_VERSION}")
            data["outputs"] = [StoredFile(**f) for f in data["outputs"]]
            data["inputs"] = [StoredFile(**f) for f in data.get("inputs", [])]
            return cls(**data)
        except (ValueError, TypeError, KeyError) as exc:
            raise CorruptManifestError(
                f"file-storage manifest {where} cannot be read: {exc}",
                fix="delete the entry (NodeFileStorage.delete) so the epoch runs and stores again",
            ) from exc


def _backend_keys(manifest: FileStorageManifest) -> list[str]:
    """The backend keys an entry's files occupy (bundle members are not keys)."""
    keys = [f.key for f in manifest.inputs]
    keys += [manifest.bundle_key] if manifest.bundle_key is not None else [f.key for f in manifest.outputs]
    return keys


def _write(backend: StorageBackend, record: StoredFile, data: bytes) -> None:
    try:
        backend.write_bytes(record.key, data)
    except StorageError as exc:
        exc.with_context(port=record.port)
        raise


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name) or "_"


class NodeFileStorage:
    """File storage of one node (see the module docstring for the layout)."""

    def __init__(
        self,
        node_name: str,
        config: NodeFileStorageConfig,
        backend: StorageBackend,
        *,
        code_fingerprint: str | None = None,
    ) -> None:
        unresolved = config.unresolved_refs()
        if unresolved:
            raise StorageConfigError(
                f"file storage config has unresolved references: {', '.join(p for p, _ in unresolved)}",
                fix="resolve the config (NetConfig.resolve) before using it",
                node=node_name,
            )
        self.node_name = node_name
        self.config = config
        self.backend = backend
        if backend.name is not None:  # replayed references name it; resolve them with credentials
            register_backend(backend.name, backend.config)
        self.code_fingerprint = code_fingerprint
        self.node_dir = _safe(node_name)
        self._ext = get_file_extension(config.serialization) + get_compression_extension(config.compression)

    # --- keys and hashes ----------------------------------------------------------------

    def _context(self, **extra: Any) -> dict[str, Any]:
        return {"node": self.node_name, "backend": self.backend.description, **extra}

    def manifest_key(self, input_hash: str) -> str:
        return f"{self.node_dir}/_manifests/{input_hash}.json"

    def compute_input_hash(self, inputs_by_port: dict[str, list[Any]]) -> str:
        """The entry key for an input salvo (inputs, ``version``, code fingerprint)."""
        ports = []
        for port in sorted(inputs_by_port):
            values = []
            for value in inputs_by_port[port]:
                lazy = isinstance(value, (LazyPacketValueSpec, StoredValueRef))
                if lazy and self.config.evaluate_lazy_value_for_hash:
                    value = resolve_value(value)
                values.append(value)
            ports.append((port, values))
        payload = (_HASH_FORMAT, self.node_name, int(self.config.version), self.code_fingerprint, ports)
        return stable_hash(payload, self.config.hash_method)[:40]

    def _file_name(self, salvo: str, port: str, index: int, count: int) -> str:
        names = self.config.output_names or {}
        base = names.get(salvo, {}).get(port)
        if base is None:
            return f"{_safe(salvo)}/{_safe(port)}_{index}{self._ext}"
        suffix = f"_{index}" if count > 1 else ""
        return f"{base}{suffix}{self._ext}" if "." not in base.rsplit("/", 1)[-1] else f"{base}{suffix}"

    def _entry_prefix(self, input_hash: str) -> str:
        return self.node_dir if self.config.output_names else f"{self.node_dir}/{input_hash}"

    # --- reading ------------------------------------------------------------------------

    def lookup(self, input_hash: str) -> FileStorageManifest | None:
        """The manifest stored for ``input_hash`` with the current ``version``, or ``None``."""
        key = self.manifest_key(input_hash)
        try:
            text = self.backend.read_bytes(key)
        except StoredValueNotFoundError:
            return None
        except StorageError as exc:
            exc.with_context(**self._context())
            raise
        manifest = FileStorageManifest.from_json(text, where=f"{key!r} on {self.backend.description}")
        return manifest if manifest.version == int(self.config.version) else None

    def entries(self) -> list[FileStorageManifest]:
        """Every stored entry of the node, oldest first."""
        found = []
        for key in self.backend.list(f"{self.node_dir}/_manifests"):
            try:
                text = self.backend.read_bytes(key)
            except StoredValueNotFoundError:  # removed by a concurrent writer meanwhile
                continue
            found.append(FileStorageManifest.from_json(text, where=f"{key!r} on {self.backend.description}"))
        return sorted(found, key=lambda m: m.created_at)

    def _ref(self, manifest: FileStorageManifest, stored: StoredFile) -> StoredValueRef:
        return StoredValueRef(
            backend=self.backend.config.public_dump(),
            backend_name=self.backend.name,
            key=stored.key,
            serialization=manifest.serialization,
            pickling_method=manifest.pickling_method,
            compression=manifest.compression,
            size=stored.size,
            sha256=stored.sha256,
            load_options=stored.load_options,
        )

    def replay(self, manifest: FileStorageManifest, *, lazy: bool = True) -> list[CachedOutputSalvo]:
        """The stored output salvos, in the order they were sent.

        Values are :class:`StoredValueRef` handles when ``lazy`` (the default, except for
        bundles, which are read and unpacked at once), else the loaded values.
        """
        if manifest.bundle_key is not None:
            values = self._read_bundle(manifest)
        else:
            values = {
                (f.salvo, f.port, f.index): (self._ref(manifest, f) if lazy else self._ref(manifest, f).load())
                for f in manifest.outputs
            }
        salvos = []
        for salvo in manifest.salvo_order:
            by_port: dict[str, list[Any]] = {}
            for f in sorted((f for f in manifest.outputs if f.salvo == salvo), key=lambda f: (f.port, f.index)):
                by_port.setdefault(f.port, []).append(values[(f.salvo, f.port, f.index)])
            salvos.append(CachedOutputSalvo(salvo, by_port))
        return salvos

    def _read_bundle(self, manifest: FileStorageManifest) -> dict[tuple[str, str, int], Any]:
        assert manifest.bundle_key is not None
        data = self.backend.read_bytes(manifest.bundle_key)
        members: dict[str, bytes] = {}
        if manifest.bundle_format == BundleFormat.zip.value:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = {name: archive.read(name) for name in archive.namelist()}
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                for member in archive.getmembers():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        members[member.name] = handle.read()
        values = {}
        for f in manifest.outputs:
            try:
                raw = members[f.key]
            except KeyError:
                raise CorruptManifestError(
                    f"bundle {manifest.bundle_key!r} lacks member {f.key!r} listed in its manifest",
                    fix="delete the entry so the epoch runs and stores again",
                    **self._context(port=f.port),
                ) from None
            values[(f.salvo, f.port, f.index)] = deserialize(
                decompress(raw, manifest.compression),
                manifest.serialization,
                pickling_method=manifest.pickling_method,
                **f.load_options,
            )
        return values

    # --- writing ------------------------------------------------------------------------

    def _encode(self, value: Any, port: str) -> tuple[bytes, dict[str, Any]]:
        try:
            data = serialize(
                value,
                self.config.serialization,
                pickling_method=self.config.pickling_method,
                **self.config.pickling_args,
            )
        except StorageError as exc:
            exc.with_context(**self._context(port=port))
            raise
        return compress(data, self.config.compression), load_options_for(value, self.config.serialization)

    def store(
        self,
        input_hash: str,
        output_salvos: list[CachedOutputSalvo],
        *,
        inputs_by_port: dict[str, list[Any]] | None = None,
        epoch_id: str | None = None,
    ) -> FileStorageManifest:
        """Write the outputs (and inputs with ``store_inputs``) of one epoch, manifest last.

        Every value is serialized before anything is written, so an unserializable value
        (:class:`ValueNotSerializableError` naming node and port) leaves the backend as it
        was.
        """
        prefix = self._entry_prefix(input_hash)
        payloads: list[tuple[StoredFile, bytes]] = []
        for salvo in output_salvos:
            for port, values in salvo.values_by_port.items():
                for index, value in enumerate(values):
                    data, options = self._encode(value, port)
                    name = self._file_name(salvo.salvo, port, index, len(values))
                    record = StoredFile(salvo.salvo, port, index, f"{prefix}/{name}", len(data),
                                        hashlib.sha256(data).hexdigest(), options)
                    payloads.append((record, data))
        input_payloads: list[tuple[StoredFile, bytes]] = []
        if self.config.store_inputs and inputs_by_port:
            for port, values in inputs_by_port.items():
                for index, value in enumerate(values):
                    data, options = self._encode(resolve_value(value), port)
                    key = f"{self.node_dir}/{input_hash}/inputs/{_safe(port)}_{index}{self._ext}"
                    input_payloads.append(
                        (StoredFile("", port, index, key, len(data), hashlib.sha256(data).hexdigest(), options), data)
                    )
        if self.config.output_names:
            targets = (
                {f"{prefix}/outputs.{BundleFormat(self.config.bundle_format).value}"}
                if self.config.bundle
                else {r.key for r, _ in payloads}
            )
            self._resolve_conflicts(input_hash, targets)
        previous = self.lookup(input_hash)
        manifest = FileStorageManifest(
            node_name=self.node_name,
            input_salvo_hash=input_hash,
            version=int(self.config.version),
            serialization=self.config.serialization.value,
            pickling_method=self.config.pickling_method.value,
            compression=None if self.config.compression is None else self.config.compression.value,
            salvo_order=[s.salvo for s in output_salvos],
            outputs=[r for r, _ in payloads],
            inputs=[r for r, _ in input_payloads],
            epoch_id=None if epoch_id is None else str(epoch_id),
            created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
        )
        try:
            if self.config.bundle:
                self._write_bundle(manifest, prefix, payloads)
            else:
                for record, data in payloads:
                    _write(self.backend, record, data)
            for record, data in input_payloads:
                _write(self.backend, record, data)
            self.backend.write_bytes(self.manifest_key(input_hash), manifest.to_json().encode())
        except StorageError as exc:
            exc.with_context(**self._context())
            raise
        if previous is not None:  # the same inputs stored before: drop files no longer listed
            for key in set(_backend_keys(previous)) - set(_backend_keys(manifest)):
                self.backend.delete(key)
        return manifest

    def _write_bundle(self, manifest: FileStorageManifest, prefix: str,
                      payloads: list[tuple[StoredFile, bytes]]) -> None:
        fmt = BundleFormat(self.config.bundle_format)
        buffer = io.BytesIO()
        members = []
        for record, _ in payloads:
            member = record.key[len(prefix) + 1 :]
            members.append(member)
            record.key = member
        if fmt is BundleFormat.zip:
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
                for member, (_, data) in zip(members, payloads, strict=True):
                    archive.writestr(member, data)
        else:
            with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
                for member, (_, data) in zip(members, payloads, strict=True):
                    info = tarfile.TarInfo(member)
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
        manifest.bundle_key = f"{prefix}/outputs.{fmt.value}"
        manifest.bundle_format = fmt.value
        self.backend.write_bytes(manifest.bundle_key, buffer.getvalue())

    def _resolve_conflicts(self, input_hash: str, keys: set[str]) -> None:
        for other in self.entries():
            if other.input_salvo_hash == input_hash:
                continue
            clash = sorted(keys & set(_backend_keys(other)))
            if not clash:
                continue
            if self.config.on_hash_change is OnHashChange.error:
                raise FileStorageConflictError(
                    f"stored file {clash[0]!r} holds the outputs of an epoch with other inputs "
                    f"(stored hash {other.input_salvo_hash}, new hash {input_hash})",
                    fix="set on_hash_change='overwrite' to replace it, remove output_names so each "
                    "input gets its own entry, or delete the stored entry",
                    **self._context(),
                )
            self.backend.delete(self.manifest_key(other.input_salvo_hash))

    def delete(self, input_hash: str) -> bool:
        """Remove one entry (manifest first, so no reader sees it half-deleted).

        Works on entries of any ``version`` and on entries whose manifest is damaged.
        """
        key = self.manifest_key(input_hash)
        try:
            manifest = FileStorageManifest.from_json(self.backend.read_bytes(key), where=repr(key))
        except StoredValueNotFoundError:
            return False
        except CorruptManifestError:
            manifest = None
        self.backend.delete(key)
        if manifest is None:
            if not self.config.output_names:
                self.backend.delete_prefix(f"{self.node_dir}/{input_hash}")
            return True
        for stored_key in _backend_keys(manifest):
            self.backend.delete(stored_key)
        return True

    def clear(self) -> int:
        """Remove every entry of the node; returns the number of keys removed."""
        for key in self.backend.list(f"{self.node_dir}/_manifests"):
            self.backend.delete(key)
        return self.backend.delete_prefix(self.node_dir)


class FileStorage:
    """Net-level access to per-node file storage: resolves backend names, shares backends."""

    def __init__(self, storage_config: StorageConfig | None = None) -> None:
        self.storage_config = storage_config or StorageConfig()

    def is_enabled(self, config: NodeFileStorageConfig | None) -> bool:
        """Whether a node with this file-storage config stores its outputs."""
        return config is not None and bool(config.enabled)

    def for_node(
        self, node_name: str, config: NodeFileStorageConfig, *, code_fingerprint: str | None = None
    ) -> NodeFileStorage:
        """The :class:`NodeFileStorage` of ``node_name``; an unknown backend name raises
        :class:`StorageConfigError` naming the node."""
        name = config.backend if isinstance(config.backend, str) else None
        backend_config = self.storage_config.get_backend_config(config.backend, node=node_name)
        return NodeFileStorage(
            node_name, config, get_backend(backend_config, name=name), code_fingerprint=code_fingerprint
        )


NetFileStorageStore = FileStorage
"""The published runtime's name for the net-level file-storage store."""
