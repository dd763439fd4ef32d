"""Storage config models: 0.5.0-compatible schema, references, paths, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netrun.storage.config import (
    CacheConfig,
    CacheWhat,
    ConfigRef,
    GCSBackendConfig,
    NodeCacheConfig,
    NodeFileStorageConfig,
    NodeStorageConfig,
    RcloneBackendConfig,
    S3BackendConfig,
    SSHBackendConfig,
    StorageConfig,
)
from netrun.storage.errors import StorageConfigError

# A storage section as the published 0.5.0 runtime dumps it (model_dump_json of its models).
PEER_DUMP = {
    "backends": {
        "disk": {"type": "local", "base_path": "/data/out"},
        "s3": {"type": "s3", "bucket": "b", "prefix": "p", "region": "eu-west-1", "endpoint_url": None,
               "access_key": None, "secret_key": None},
        "gcs": {"type": "gcs", "bucket": "g", "prefix": "", "credentials_path": "sa.json"},
        "ssh": {"type": "ssh", "host": "h", "base_path": "/srv", "port": 2222, "username": "u",
                "key_path": "id", "password": None},
        "rc": {"type": "rclone", "remote": "r:x", "config_path": None},
    },
    "cache": {
        "enabled": True, "version": 3, "storage_path": ".cache", "include_nodes": ["a*"], "exclude_nodes": None,
        "include_all_nodes": False, "cache_what": "output", "hash_method": "xxh64", "pickling_method": "cloudpickle",
        "pickling_args": {}, "evaluate_lazy_value_for_cache": False, "sample_size": 10,
    },
    "file_storage_metadata_path": None,
}


def test_published_dump_loads_and_keeps_its_values():
    config = StorageConfig.model_validate(PEER_DUMP)
    assert isinstance(config.backends["ssh"], SSHBackendConfig) and config.backends["ssh"].port == 2222
    assert isinstance(config.backends["gcs"], GCSBackendConfig)
    assert isinstance(config.backends["rc"], RcloneBackendConfig)
    assert config.cache.cache_what is CacheWhat.OUTPUT_ONLY
    assert config.cache.hash_method.value == "xxh64"
    again = StorageConfig.model_validate_json(config.model_dump_json())
    assert again == config


def test_node_storage_config_with_inline_and_named_backends():
    node = NodeStorageConfig.model_validate(
        {
            "cache": {"enabled": False, "version": 2},
            "file_storage": {"backend": "disk", "serialization": "json", "compression": "zstd",
                             "output_names": {"send": {"out": "report"}}, "on_hash_change": "overwrite"},
        }
    )
    assert node.file_storage.backend == "disk"
    inline = NodeFileStorageConfig.model_validate({"backend": {"type": "local", "base_path": "x"}})
    assert inline.backend.type == "local"


def test_unknown_keys_and_bad_values_are_rejected():
    with pytest.raises(ValidationError, match="extra_forbidden"):
        CacheConfig.model_validate({"enabeld": True})
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        StorageConfig.model_validate({"backends": {"x": {"type": "ftp"}}})
    with pytest.raises(ValidationError, match="outside 1..65535"):
        SSHBackendConfig(host="h", base_path="/", port=70000)
    with pytest.raises(ValidationError, match="sample_size must be at least 1"):
        NodeCacheConfig(sample_size=0)
    with pytest.raises(ValidationError, match="bucket must not be empty"):
        S3BackendConfig(bucket="/")
    with pytest.raises(ValidationError, match="cache_what"):
        CacheConfig(cache_what="everything")


def test_references_are_kept_dumped_and_resolved(monkeypatch):
    config = StorageConfig.model_validate(
        {
            "backends": {"s3": {"type": "s3", "bucket": {"$var": "bucket"}, "secret_key": {"$env": "SECRET"}}},
            "cache": {"enabled": {"$env": "USE_CACHE", "default": "false"}, "sample_size": {"$var": "n"}},
        }
    )
    assert sorted(path for path, _ in config.unresolved_refs()) == [
        "backends.s3.bucket", "backends.s3.secret_key", "cache.enabled", "cache.sample_size",
    ]
    dumped = config.model_dump(mode="json")
    assert dumped["cache"]["enabled"] == {"$env": "USE_CACHE", "default": "false"}
    assert dumped["backends"]["s3"]["bucket"] == {"$var": "bucket"}

    env = {"SECRET": "s3cr3t", "USE_CACHE": "true"}
    variables = {"bucket": "results", "n": "5"}

    def resolve(ref: ConfigRef):
        return env.get(ref.env, ref.default) if ref.env else variables[ref.var]

    resolved = config.resolve_refs(resolve)
    assert resolved.unresolved_refs() == []
    assert resolved.cache.enabled is True and resolved.cache.sample_size == 5
    assert resolved.backends["s3"].bucket == "results"
    assert resolved.backends["s3"].secret_key == "s3cr3t"


def test_foreign_var_ref_objects_are_accepted():
    class VarRef:  # the config layer's reference class has this dump shape
        def model_dump(self, **kwargs):
            return {"$env": "X"}

    assert CacheConfig(enabled=VarRef()).enabled == ConfigRef(env="X")


def test_resolution_failures_name_the_setting():
    config = CacheConfig.model_validate({"version": {"$var": "v"}})
    with pytest.raises(StorageConfigError, match=r"cannot resolve \$var 'v' for storage setting 'version'"):
        config.resolve_refs(lambda ref: {}[ref.var])
    with pytest.raises(StorageConfigError, match="does not fit its CacheConfig field"):
        config.resolve_refs(lambda ref: "not-a-number")
    with pytest.raises(ValidationError, match="exactly one of"):
        ConfigRef.model_validate({"$env": "A", "$var": "b"})


def test_relative_paths_become_absolute_against_project_root():
    config = StorageConfig.model_validate(PEER_DUMP).with_absolute_paths("/proj")
    assert config.backends["disk"].base_path == "/data/out"  # already absolute
    assert config.backends["gcs"].credentials_path == "/proj/sa.json"
    assert config.backends["ssh"].key_path == "/proj/id"
    assert config.cache.storage_path == "/proj/.cache"
    node = NodeStorageConfig.model_validate({"file_storage": {"backend": {"type": "local", "base_path": "out"}}})
    assert node.with_absolute_paths("/proj").file_storage.backend.base_path == "/proj/out"


def test_secrets_are_hidden_from_repr_and_public_dump():
    config = S3BackendConfig(bucket="b", access_key="AKIA-SECRET", secret_key="very-secret", session_token="tok")
    assert "SECRET" not in repr(config) and "very-secret" not in repr(config)
    public = config.public_dump()
    assert "access_key" not in public and "secret_key" not in public and "session_token" not in public
    assert "password" not in SSHBackendConfig(host="h", base_path="/", password="pw").public_dump()


def test_unknown_backend_name_lists_defined_ones():
    config = StorageConfig.model_validate(PEER_DUMP)
    with pytest.raises(StorageConfigError) as info:
        config.get_backend_config("dsik", node="writer")
    assert str(info.value) == (
        "node 'writer': storage backend 'dsik' is not defined (defined: disk, gcs, rc, s3, ssh). "
        "Fix: add it under [storage.backends.dsik] or use one of the defined names"
    )
