"""``NetActionResponseData``: what ``do_action`` returns besides the events.

One variant class per outcome, reachable as attributes of the base class and usable in
``match`` statements (``case NetActionResponseData.Packet(packet_id=p): ...``):

``Packet(packet_id)``, ``CreatedEpoch(epoch)``, ``StartedEpoch(epoch)``,
``FinishedEpoch(epoch)``, ``CancelledEpoch(epoch, destroyed_packets)``,
``StepResult(made_progress)`` and ``Empty()``.
"""

from __future__ import annotations

from ._args import as_instance, as_str, no_constructor
from .records import Epoch

__all__ = ["NetActionResponseData"]

_new = object.__new__


class NetActionResponseData:
    """Base class of the response variants (cannot be instantiated itself)."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        if cls is NetActionResponseData:
            raise no_constructor(cls)
        return object.__new__(cls)


def _variant(name: str, fields: tuple, checks: tuple):
    """Create the variant class ``NetActionResponseData_<name>``."""
    slots = tuple("_" + f for f in fields)

    def __init__(self, *args, **kwargs):
        if len(args) > len(fields):
            raise TypeError(f"{name}.__new__() takes {len(fields)} positional arguments but {len(args)} were given")
        values = dict(zip(fields, args))
        for key, value in kwargs.items():
            if key not in fields:
                raise TypeError(f"{name}.__new__() got an unexpected keyword argument '{key}'")
            if key in values:
                raise TypeError(f"argument for {name}.__new__() given by name ('{key}') and position")
            values[key] = value
        missing = [f for f in fields if f not in values]
        if missing:
            raise TypeError(
                f"{name}.__new__() missing {len(missing)} required positional argument"
                f"{'s' if len(missing) > 1 else ''}: " + " and ".join(f"'{m}'" for m in missing)
            )
        for field, check in zip(fields, checks):
            setattr(self, "_" + field, check(values[field], field))

    namespace = {
        "__slots__": slots,
        "__init__": __init__,
        "__match_args__": fields,
        "__doc__": f"Response variant ``{name}({', '.join(fields)})``.",
    }
    cls = type(f"NetActionResponseData_{name}", (NetActionResponseData,), namespace)
    for field in fields:
        setattr(cls, field, property(getattr(cls, "_" + field).__get__))
    setattr(NetActionResponseData, name, cls)
    return cls


def _check_epoch(value, field):
    return as_instance(value, Epoch, field)


def _check_str(value, field):
    return as_str(value, field)


def _check_bool(value, field):
    if not isinstance(value, bool):
        raise TypeError(f"argument '{field}': '{type(value).__name__}' object cannot be converted to 'PyBool'")
    return value


def _check_str_list(value, field):
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(
            f"argument '{field}': Can't extract `str` to `Vec`"
            if isinstance(value, str)
            else f"argument '{field}': '{type(value).__name__}' object cannot be converted to 'Sequence'"
        )
    return [as_str(v, field) for v in value]


PacketResponse = _variant("Packet", ("packet_id",), (_check_str,))
CreatedEpochResponse = _variant("CreatedEpoch", ("epoch",), (_check_epoch,))
StartedEpochResponse = _variant("StartedEpoch", ("epoch",), (_check_epoch,))
FinishedEpochResponse = _variant("FinishedEpoch", ("epoch",), (_check_epoch,))
CancelledEpochResponse = _variant("CancelledEpoch", ("epoch", "destroyed_packets"), (_check_epoch, _check_str_list))
StepResultResponse = _variant("StepResult", ("made_progress",), (_check_bool,))
EmptyResponse = _variant("Empty", (), ())

# CancelledEpoch.destroyed_packets returns a new list on each read
CancelledEpochResponse.destroyed_packets = property(lambda self: list(self._destroyed_packets))


def packet_response(pid: str):
    """A ``Packet`` response (engine-internal fast path)."""
    r = _new(PacketResponse)
    r._packet_id = pid
    return r


def epoch_response(cls, epoch):
    """A ``CreatedEpoch``/``StartedEpoch``/``FinishedEpoch`` response (``cls``)."""
    r = _new(cls)
    r._epoch = epoch
    return r


def cancelled_response(epoch, destroyed: list):
    """A ``CancelledEpoch`` response."""
    r = _new(CancelledEpochResponse)
    r._epoch = epoch
    r._destroyed_packets = destroyed
    return r


def step_response(progress: bool):
    """A ``StepResult`` response."""
    r = _new(StepResultResponse)
    r._made_progress = progress
    return r


_EMPTY = _new(EmptyResponse)
# the two possible StepResult responses, shared the same way (responses are immutable)
_PROGRESS = step_response(True)
_NO_PROGRESS = step_response(False)


def empty_response():
    """The ``Empty`` response (one shared immutable instance: it has no fields)."""
    return _EMPTY
