"""Stable, type-tagged hashing of values and code fingerprints."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import subprocess
import sys
import textwrap
from collections import OrderedDict, namedtuple
from pathlib import Path

import pytest

from netrun.storage.hashing import HashMethod, canonical_bytes, code_fingerprint, stable_hash


def test_dict_and_set_order_do_not_matter():
    a = {"x": 1, "y": {"s": {3, 1, 2}, "f": frozenset({"b", "a"})}}
    b = {"y": {"f": frozenset({"a", "b"}), "s": {2, 3, 1}}, "x": 1}
    assert stable_hash(a) == stable_hash(b)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (1, 1.0),
        (1, True),
        (0, False),
        (1, "1"),
        ("a", b"a"),
        ([1, 2], (1, 2)),
        ({1, 2}, frozenset({1, 2})),
        ({1: 2}, {2: 1}),
        ([[1], [2]], [[1, 2]]),
        (["ab", "c"], ["a", "bc"]),
        (None, "None"),
        ({"a": 1}, OrderedDict(a=1)),
        (0.0, -0.0),
    ],
)
def test_type_tags_and_structure_distinguish(left, right):
    assert stable_hash(left) != stable_hash(right)


def test_same_in_another_process_with_other_hash_seed(tmp_path):
    value = {"k": [1, 2.5, "s", None, {"z", "a", "q"}], "t": (True, b"\x00"), 7: frozenset({(1, 2), (3, 4)})}
    code = textwrap.dedent(
        f"""
        from netrun.storage.hashing import stable_hash
        print(stable_hash({value!r}))
        """
    )
    outputs = set()
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        )
        outputs.add(done.stdout.strip())
    assert outputs == {stable_hash(value)}


def test_numpy_arrays_hash_by_dtype_shape_and_content():
    np = pytest.importorskip("numpy")
    a = np.arange(6, dtype=np.int64)
    assert stable_hash(a) == stable_hash(np.arange(6, dtype=np.int64))
    assert stable_hash(a) != stable_hash(a.astype(np.int32))
    assert stable_hash(a) != stable_hash(a.reshape(2, 3))
    assert stable_hash(a.reshape(2, 3).T) == stable_hash(np.ascontiguousarray(a.reshape(2, 3).T))
    assert stable_hash(np.float64(1.5)) != stable_hash(1.5)


def test_pandas_and_polars_frames():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert stable_hash(df) == stable_hash(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert stable_hash(df) != stable_hash(pd.DataFrame({"a": [1, 3], "b": ["x", "y"]}))
    assert stable_hash(df) != stable_hash(df.rename(columns={"b": "c"}))
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"a": [1, 2]})
    assert stable_hash(frame) == stable_hash(pl.DataFrame({"a": [1, 2]}))
    assert stable_hash(frame) != stable_hash(pl.DataFrame({"a": [2, 1]}))


class Color(enum.Enum):
    red = 1
    blue = 2


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Plain:
    def __init__(self, a, b):
        self.a, self.b = a, b


def test_objects_dataclasses_enums_dates_paths():
    assert stable_hash(Point(1, 2)) == stable_hash(Point(1, 2))
    assert stable_hash(Point(1, 2)) != stable_hash(Point(2, 1))
    assert stable_hash(Plain(1, {2})) == stable_hash(Plain(1, {2}))
    assert stable_hash(Plain(1, 2)) != stable_hash(Point(1, 2))
    assert stable_hash(Color.red) != stable_hash(Color.blue)
    assert stable_hash(datetime.date(2024, 1, 2)) != stable_hash(datetime.date(2024, 1, 3))
    assert stable_hash(Path("/a/b")) != stable_hash("/a/b")
    P = namedtuple("P", "x y")
    assert stable_hash(P(1, 2)) != stable_hash((1, 2))


def test_pydantic_model():
    from pydantic import BaseModel

    class M(BaseModel):
        a: int
        b: dict[str, int]

    assert stable_hash(M(a=1, b={"x": 1, "y": 2})) == stable_hash(M(a=1, b={"y": 2, "x": 1}))
    assert stable_hash(M(a=1, b={})) != stable_hash(M(a=2, b={}))


def test_cycles_do_not_recurse_forever():
    a: list = [1]
    a.append(a)
    assert stable_hash(a) == stable_hash(a)


def test_unhashable_object_explains_the_fix():
    import threading

    with pytest.raises(TypeError, match="exclude the port from the cache"):
        canonical_bytes(threading.Lock())


@pytest.mark.parametrize("method", list(HashMethod))
def test_every_hash_method(method):
    if method is HashMethod.xxh64:
        pytest.importorskip("xxhash")
    assert stable_hash({"a": 1}, method) == stable_hash({"a": 1}, method)
    assert stable_hash({"a": 1}, method) != stable_hash({"a": 2}, method)


def test_xxh64_without_xxhash_names_the_fallback(monkeypatch):
    from netrun.storage.errors import MissingOptionalDependencyError

    monkeypatch.setitem(sys.modules, "xxhash", None)
    with pytest.raises(MissingOptionalDependencyError, match="hash_method='blake2b'"):
        stable_hash(1, "xxh64")


# --- code fingerprints ------------------------------------------------------------------


def test_code_change_changes_fingerprint():
    def f(x):
        return x + 1

    first = code_fingerprint(f)

    def f(x):  # noqa: F811 - same name, different body
        return x + 2

    assert code_fingerprint(f) != first


def test_closure_defaults_and_partials_count():
    def make(n):
        def add(x, k=1):
            return x + n + k

        return add

    assert code_fingerprint(make(1)) == code_fingerprint(make(1))
    assert code_fingerprint(make(1)) != code_fingerprint(make(2))
    base = make(1)
    assert code_fingerprint(functools.partial(base, k=3)) != code_fingerprint(functools.partial(base, k=4))


def test_functions_without_source_use_bytecode():
    namespace: dict = {}
    exec("def g(x):\n    return x * 3\n", namespace)
    exec("def h(x):\n    return x * 4\n", namespace)
    assert code_fingerprint(namespace["g"]) != code_fingerprint(namespace["h"])


def test_callable_objects_and_import_paths():
    class Scale:
        def __init__(self, k):
            self.k = k

        def __call__(self, x):
            return x * self.k

    assert code_fingerprint(Scale(2)) != code_fingerprint(Scale(3))
    assert code_fingerprint("pkg.mod.func") != code_fingerprint("pkg.mod.other")
    assert code_fingerprint(len) == code_fingerprint(len)
