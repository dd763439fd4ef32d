"""``NetAction``: the only way to change a net (``NetSim.do_action``).

An action stores its arguments unparsed, as the published engine does: ID arguments are
kept as ``str(obj)`` and parsed when the action runs (so a malformed ID fails in
``do_action`` with ``ValueError``). ``to_dict``/``from_dict`` give a JSON-able form so a
runtime can persist an undo log (the engine keeps no history itself).
"""

from __future__ import annotations

from ._args import as_instance, as_str, no_constructor
from ._quoting import rust_debug
from .locations import PacketLocation, key_from_data, key_to_data, location_of
from .records import Salvo

__all__ = ["NetAction"]

_new = object.__new__


def _id_text(value) -> str:
    return value if type(value) is str else str(value)


def _action(op: str, a=None, b=None) -> "NetAction":
    cls = ACTION_CLASSES[op]
    obj = _new(cls)
    slots = cls.__slots__
    if slots:
        obj._a = a
        if len(slots) > 1:
            obj._b = b
    return obj


class NetAction:
    """An action to apply with ``NetSim.do_action``. Build one with a static method, e.g.
    ``NetAction.create_packet()`` or ``NetAction.start_epoch(epoch_id)``.

    Each kind of action is a small subclass (named ``NetAction`` too) whose class attribute
    ``_op`` names the kind; its arguments sit in ``_a``/``_b``.
    """

    __slots__ = ()
    _op = ""
    _a = None
    _b = None

    def __new__(cls, *args, **kwargs):
        raise no_constructor(cls)

    @staticmethod
    def run_step() -> "NetAction":
        """One step: edges → input ports, input salvos, requests (response ``StepResult``)."""
        return _new(_RUN_STEP)

    @staticmethod
    def create_packet(epoch_id=None) -> "NetAction":
        """A new packet outside the net, or inside the Running epoch ``epoch_id``."""
        act = _new(_CREATE_PACKET)
        act._a = None if epoch_id is None else (epoch_id if type(epoch_id) is str else str(epoch_id))
        return act

    @staticmethod
    def consume_packet(packet_id) -> "NetAction":
        """Remove a packet from the net (normal end of its life)."""
        act = _new(_CONSUME_PACKET)
        act._a = packet_id if type(packet_id) is str else str(packet_id)
        return act

    @staticmethod
    def destroy_packet(packet_id) -> "NetAction":
        """Remove a packet from the net (abnormal end of its life)."""
        act = _new(_DESTROY_PACKET)
        act._a = packet_id if type(packet_id) is str else str(packet_id)
        return act

    @staticmethod
    def start_epoch(epoch_id) -> "NetAction":
        """Start a Startable epoch (response ``StartedEpoch``)."""
        act = _new(_START_EPOCH)
        act._a = epoch_id if type(epoch_id) is str else str(epoch_id)
        return act

    @staticmethod
    def finish_epoch(epoch_id) -> "NetAction":
        """Finish a Running epoch whose node location and output ports are empty."""
        act = _new(_FINISH_EPOCH)
        act._a = epoch_id if type(epoch_id) is str else str(epoch_id)
        return act

    @staticmethod
    def cancel_epoch(epoch_id) -> "NetAction":
        """Cancel an epoch, destroying the packets inside it and in its output ports."""
        act = _new(_CANCEL_EPOCH)
        act._a = epoch_id if type(epoch_id) is str else str(epoch_id)
        return act

    @staticmethod
    def create_epoch(node_name: str, salvo: Salvo) -> "NetAction":
        """A Startable epoch on ``node_name`` taking the salvo's packets from its input ports."""
        node_name = as_str(node_name, "node_name")
        if type(salvo) is not Salvo:
            as_instance(salvo, Salvo, "salvo")
        return _action("create_epoch", node_name, salvo)

    @staticmethod
    def load_packet_into_output_port(packet_id, port_name: str) -> "NetAction":
        """Move a packet from inside its epoch into one of the epoch's output ports."""
        act = _new(_LOAD_PACKET_INTO_OUTPUT_PORT)
        act._a = packet_id if type(packet_id) is str else str(packet_id)
        act._b = port_name if type(port_name) is str else as_str(port_name, "port_name")
        return act

    @staticmethod
    def send_output_salvo(epoch_id, salvo_condition_name: str) -> "NetAction":
        """Send the packets an output salvo condition selects (to the edge, or orphaned)."""
        act = _new(_SEND_OUTPUT_SALVO)
        act._a = epoch_id if type(epoch_id) is str else str(epoch_id)
        act._b = (
            salvo_condition_name
            if type(salvo_condition_name) is str
            else as_str(salvo_condition_name, "salvo_condition_name")
        )
        return act

    @staticmethod
    def transport_packet_to_location(packet_id, destination: PacketLocation) -> "NetAction":
        """Move a packet anywhere the rules allow (the runtime's teleport)."""
        if type(destination) is not PacketLocation:
            as_instance(destination, PacketLocation, "destination")
        act = _new(_TRANSPORT_PACKET_TO_LOCATION)
        act._a = packet_id if type(packet_id) is str else str(packet_id)
        act._b = destination._key
        return act

    @staticmethod
    def create_request(node_name: str, label: str) -> "NetAction":
        """Ask for input for ``node_name``; resolved by the next ``run_step``."""
        return _action("create_request", as_str(node_name, "node_name"), as_str(label, "label"))

    # -- 0.1.x compatibility ------------------------------------------------------------
    @staticmethod
    def run_net_until_blocked() -> "NetAction":
        """0.1.x: run steps until blocked as one action (response ``Empty``, all events)."""
        return _action("run_net_until_blocked")

    @staticmethod
    def create_and_start_epoch(node_name: str, salvo: Salvo) -> "NetAction":
        """0.1.x: ``create_epoch`` then ``start_epoch`` as one action (response ``StartedEpoch``)."""
        node_name = as_str(node_name, "node_name")
        if type(salvo) is not Salvo:
            as_instance(salvo, Salvo, "salvo")
        return _action("create_and_start_epoch", node_name, salvo)

    def __repr__(self) -> str:
        op, a, b = self._op, self._a, self._b
        if op in ("run_step", "run_net_until_blocked"):
            return f"NetAction.{op}()"
        if op == "create_packet":
            return "NetAction.create_packet()" if a is None else f"NetAction.create_packet('{a}')"
        if op in ("create_epoch", "create_and_start_epoch"):
            return f"NetAction.{op}({rust_debug(a)}, ...)"
        if op in ("load_packet_into_output_port", "send_output_salvo"):
            return f"NetAction.{op}('{a}', {rust_debug(b)})"
        if op == "transport_packet_to_location":
            return f"NetAction.{op}('{a}', {location_of(b)!r})"
        if op == "create_request":
            return f"NetAction.create_request({rust_debug(a)}, {rust_debug(b)})"
        return f"NetAction.{op}('{a}')"

    def __reduce__(self):
        return (NetAction.from_dict, (self.to_dict(),))

    # -- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-able dict, e.g. ``{"action": "consume_packet", "packet_id": "01..."}``."""
        op, a, b = self._op, self._a, self._b
        fields = _FIELDS[op]
        data: dict = {"action": op}
        if op in ("create_epoch", "create_and_start_epoch"):
            data["node_name"] = a
            data["salvo"] = {"salvo_condition": b._cond, "packets": [list(p) for p in b._packets]}
        elif op == "transport_packet_to_location":
            data["packet_id"] = a
            data["destination"] = key_to_data(b)
        else:
            for name, value in zip(fields, (a, b)):
                data[name] = value
        return data

    @staticmethod
    def from_dict(data: dict) -> "NetAction":
        """Rebuild an action from :meth:`to_dict` output; ``ValueError`` on malformed data."""
        if not isinstance(data, dict) or data.get("action") not in _FIELDS:
            raise ValueError(f"not a NetAction dict: {data!r}; expected {{'action': one of {sorted(_FIELDS)}, ...}}")
        op = data["action"]
        try:
            if op in ("create_epoch", "create_and_start_epoch"):
                salvo = data["salvo"]
                packets = [tuple(p) for p in salvo["packets"]]
                return getattr(NetAction, op)(data["node_name"], Salvo(salvo["salvo_condition"], packets))
            if op == "transport_packet_to_location":
                return _action(op, _id_text(data["packet_id"]), key_from_data(data["destination"]))
            if op == "create_packet":
                return NetAction.create_packet(data.get("epoch_id"))
            return getattr(NetAction, op)(*(data[name] for name in _FIELDS[op]))
        except KeyError as exc:
            raise ValueError(f"NetAction dict for {op!r} lacks the field {exc.args[0]!r}: {data!r}") from None


_FIELDS = {
    "run_step": (),
    "run_net_until_blocked": (),
    "create_packet": ("epoch_id",),
    "consume_packet": ("packet_id",),
    "destroy_packet": ("packet_id",),
    "start_epoch": ("epoch_id",),
    "finish_epoch": ("epoch_id",),
    "cancel_epoch": ("epoch_id",),
    "create_epoch": ("node_name", "salvo"),
    "create_and_start_epoch": ("node_name", "salvo"),
    "load_packet_into_output_port": ("packet_id", "port_name"),
    "send_output_salvo": ("epoch_id", "salvo_condition_name"),
    "transport_packet_to_location": ("packet_id", "destination"),
    "create_request": ("node_name", "label"),
}


def _action_class(op: str, nargs: int) -> type:
    namespace = {"__slots__": ("_a", "_b")[:nargs], "_op": op, "__module__": __name__}
    if nargs < 2:
        namespace["_b"] = None
    if nargs < 1:
        namespace["_a"] = None
    cls = type("NetAction", (NetAction,), namespace)
    cls.__qualname__ = f"NetAction[{op}]"
    return cls


ACTION_CLASSES = {op: _action_class(op, len(fields)) for op, fields in _FIELDS.items()}
_RUN_STEP = ACTION_CLASSES["run_step"]
_CREATE_PACKET = ACTION_CLASSES["create_packet"]
_CONSUME_PACKET = ACTION_CLASSES["consume_packet"]
_DESTROY_PACKET = ACTION_CLASSES["destroy_packet"]
_START_EPOCH = ACTION_CLASSES["start_epoch"]
_FINISH_EPOCH = ACTION_CLASSES["finish_epoch"]
_CANCEL_EPOCH = ACTION_CLASSES["cancel_epoch"]
_LOAD_PACKET_INTO_OUTPUT_PORT = ACTION_CLASSES["load_packet_into_output_port"]
_SEND_OUTPUT_SALVO = ACTION_CLASSES["send_output_salvo"]
_TRANSPORT_PACKET_TO_LOCATION = ACTION_CLASSES["transport_packet_to_location"]
