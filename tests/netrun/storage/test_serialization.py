"""Serialization methods, pickling methods, compression, and their install hints."""

from __future__ import annotations

import sys

import pytest

from netrun.storage.compression import CompressionMethod, compress, decompress, get_compression_extension
from netrun.storage.errors import (
    MissingOptionalDependencyError,
    ValueNotDeserializableError,
    ValueNotSerializableError,
)
from netrun.storage.serialization import (
    PicklingMethod,
    SerializationMethod,
    deserialize,
    get_file_extension,
    load_options_for,
    serialize,
    validate_imports,
)


def roundtrip(value, method, **kwargs):
    data = serialize(value, method, **kwargs)
    assert isinstance(data, bytes)
    return deserialize(data, method, **{**kwargs, **load_options_for(value, method)})


@pytest.mark.parametrize(
    ("method", "value"),
    [
        ("json", {"a": [1, 2.5, None, True], "b": "ü"}),
        ("pickle", {"tuple": (1, 2), "set": {3}, "bytes": b"\x00"}),
        ("str", "multi\nline ü"),
        ("text", "alias of str"),
        ("binary", b"\x00\x01\xff"),
        ("bytes", b"alias of binary"),
        ("msgpack", {"a": [1, 2], "b": b"raw", 3: "int key"}),
    ],
)
def test_roundtrip_builtin_methods(method, value):
    assert roundtrip(value, method) == value


@pytest.mark.parametrize("pickling", ["pickle", "cloudpickle", "dill"])
def test_pickling_methods_roundtrip(pickling):
    if pickling == "dill":
        pytest.importorskip("dill")
    value = {"nested": [1, {"x": (2, 3)}], "s": frozenset({1})}
    assert roundtrip(value, "pickle", pickling_method=pickling) == value


def test_cloudpickle_carries_lambdas_plain_pickle_refuses_them():
    offset = 10
    assert roundtrip(lambda x: x + offset, "pickle", pickling_method="cloudpickle")(1) == 11
    with pytest.raises(ValueNotSerializableError, match="pickling_method='cloudpickle'"):
        serialize(lambda x: x, "pickle")


def test_numpy_roundtrip_and_object_arrays_refused():
    np = pytest.importorskip("numpy")
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = roundtrip(array, "numpy")
    assert out.dtype == np.float32 and (out == array).all()
    with pytest.raises(ValueNotSerializableError, match="object arrays"):
        serialize(np.array([{"a": 1}], dtype=object), "numpy")
    with pytest.raises(ValueNotSerializableError, match="expected a numpy.ndarray"):
        serialize([1, 2], "numpy")


def test_pandas_parquet_and_csv():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert roundtrip(frame, "pandas_parquet").equals(frame)
    assert roundtrip(frame, "pandas_csv").equals(frame)
    assert roundtrip(frame, "feather").equals(frame)


def test_polars_parquet_csv_and_feather_come_back_as_polars():
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    for method in ("polars_parquet", "polars_csv", "feather"):
        out = roundtrip(frame, method)
        assert isinstance(out, pl.DataFrame), method
        assert out.equals(frame), method


def test_safetensors_numpy():
    np = pytest.importorskip("numpy")
    pytest.importorskip("safetensors")
    tensors = {"w": np.ones((2, 2), dtype=np.float32), "b": np.zeros(3, dtype=np.int64)}
    out = roundtrip(tensors, "safetensors")
    assert set(out) == {"w", "b"} and (out["w"] == 1).all()
    with pytest.raises(ValueNotSerializableError, match="dict of str"):
        serialize([1], "safetensors")


@pytest.mark.parametrize(
    ("method", "module", "hint"),
    [
        ("torch", "torch", "pip install torch"),
        ("pandas_parquet", "pandas", "pip install 'netrun[dataframes]'"),
        ("polars_csv", "polars", "pip install 'netrun[dataframes]'"),
        ("msgpack", "msgpack", "pip install 'netrun[storage]'"),
        ("safetensors", "safetensors.numpy", "pip install 'netrun[tensors]'"),
    ],
)
def test_missing_library_gives_install_hint(monkeypatch, method, module, hint):
    monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    with pytest.raises(MissingOptionalDependencyError) as info:
        validate_imports(method)
    assert hint in str(info.value)
    assert f"serialization method {method!r} needs" in str(info.value)
    assert isinstance(info.value, ImportError)


def test_dill_missing_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "dill", None)
    with pytest.raises(MissingOptionalDependencyError, match=r"netrun\[serialization\]"):
        serialize(1, "pickle", pickling_method="dill")


def test_type_mismatch_messages():
    with pytest.raises(ValueNotSerializableError, match="type int cannot be serialized with 'str': expected a str"):
        serialize(1, "str")
    with pytest.raises(ValueNotSerializableError, match="expected bytes"):
        serialize("text", "binary")
    with pytest.raises(ValueNotSerializableError, match="with 'msgpack'"):
        serialize(object(), "msgpack")


def test_corrupt_data_raises_not_deserializable():
    with pytest.raises(ValueNotDeserializableError, match="cannot read 5 bytes as 'json'"):
        deserialize(b"{oops", "json")
    with pytest.raises(ValueNotDeserializableError, match="cannot unpickle"):
        deserialize(b"not a pickle", "pickle")


def test_unknown_methods_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown serialization method 'yaml'; use one of: json, pickle"):
        serialize(1, "yaml")
    with pytest.raises(ValueError, match="unknown pickling method 'marshal'"):
        serialize(1, "pickle", pickling_method="marshal")


def test_extensions_match_the_published_table():
    expected = {
        "json": ".json", "pickle": ".pkl", "str": ".txt", "binary": ".bin", "msgpack": ".msgpack",
        "numpy": ".npy", "pandas_csv": ".csv", "pandas_parquet": ".parquet", "polars_csv": ".csv",
        "polars_parquet": ".parquet", "feather": ".feather", "torch": ".pt", "safetensors": ".safetensors",
    }
    assert {m.value: get_file_extension(m) for m in SerializationMethod} == expected
    assert [m.value for m in PicklingMethod] == ["pickle", "dill", "cloudpickle"]


# --- compression ------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(CompressionMethod))
def test_compression_roundtrip_and_shrinks(method):
    data = b"netrun " * 2000
    packed = compress(data, method)
    assert len(packed) < len(data) // 5
    assert decompress(packed, method) == data


def test_compression_none_is_identity_and_extensions():
    assert compress(b"abc", None) == b"abc" and decompress(b"abc", None) == b"abc"
    assert [get_compression_extension(m) for m in CompressionMethod] == [".gz", ".bz2", ".xz", ".zlib", ".zst", ".lz4"]
    assert get_compression_extension(None) == ""


def test_gzip_output_is_deterministic():
    assert compress(b"same", "gzip") == compress(b"same", "gzip")


@pytest.mark.parametrize("method", ["gzip", "zstd", "lz4"])
def test_corrupt_compressed_data(method):
    with pytest.raises(ValueNotDeserializableError, match=f"cannot decompress 9 bytes with '{method}'"):
        decompress(b"garbage!!", method)


def test_zstd_missing_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(MissingOptionalDependencyError, match=r"pip install 'netrun\[storage\]'"):
        compress(b"x", "zstd")
