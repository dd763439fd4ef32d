"""The epoch cache's key encoding of an input salvo is exactly the general canonical encoding
(keys written before the fast encoder keep hitting)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netrun.storage.cache import salvo_bytes
from netrun.storage.hashing import canonical_bytes

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(),
                    st.binary(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner), st.dictionaries(st.text(max_size=3), inner, max_size=3),
    st.frozensets(st.integers(), max_size=3)), max_leaves=8)


@given(st.lists(st.tuples(st.text(), st.lists(values, max_size=4)), max_size=4))
def test_salvo_bytes_is_the_canonical_encoding(ports):
    assert salvo_bytes(ports) == canonical_bytes(ports)


def test_int_subclasses_and_surrogates_are_encoded_as_the_general_encoder_does():
    class Count(int):
        pass

    ports = [("in", [True, Count(3), 3, "\udcff", -10**40])]
    assert salvo_bytes(ports) == canonical_bytes(ports)
    assert salvo_bytes([("in", [True])]) != salvo_bytes([("in", [1])])
