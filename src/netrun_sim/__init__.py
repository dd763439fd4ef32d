"""netrun_sim: a pure-Python packet/epoch engine with the API and behaviour of netrun-sim 0.2.0.

The engine is pure bookkeeping for flow-based programs: it knows where every packet is and
which node executions (epochs) exist. It never runs user code and never stores values.
See ``/work/shared/reference/netrun_sim.md`` (the behavioural contract) for details.

Architecture (one module per concept; lower modules never import higher ones)::

    _quoting, _args, _ids   Rust-Debug quoting, PyO3-style argument conversion, ULIDs
    errors                  the exception hierarchy (+ 0.1.x aliases)
    enums                   PortType, PortState, PacketCount, MaxSalvos, PortSlotSpec, ...
    ports                   PortRef, Edge (value types), Port
    salvo                   SalvoConditionTerm, SalvoCondition, term compilation
    graph, validation       Node, DependencyRequestConfig, Graph; GraphValidationErrorInfo
    locations, records      PacketLocation (+ internal location keys); Packet, Salvo, Epoch, ...
    actions, events,        NetAction; NetEvent (lazy per-kind classes);
    responses               NetActionResponseData variants
    _compiled               compiled graph: port positions, compiled terms, cached cascades
    _state                  mutable state: ordered per-location queues, indexes, caches
    net                     NetSim: dispatch, the actions, the queries
    _step                   run_step, is_blocked, run_until_blocked
    _faststep, _fastlane,   the runtime's private fast lane: event-free steps and actions,
    _tapelane               and its recording form (a tape of plain tuples)
    _undo                   undo_action (journaled, atomic)
    snapshot                NetSim.snapshot() / NetSim.from_snapshot() (JSON-able state)
    netrun_sim              alias module (``from netrun_sim.netrun_sim import ...``)

Performance: every action costs O(what it touches). Locations are ``OrderedDict`` queues
(O(1) append, pop-front, delete-by-key); ``from_index`` is O(1) at either end of a queue;
``run_step`` visits only edges holding packets and nodes whose input counts changed (per-node
cached condition results, compiled terms); request cascades are computed once per node;
events and snapshots hold raw tuples and build ``PacketLocation``/``Epoch`` objects lazily;
IDs are generated from a buffer of random Crockford digits with one clock read per action.
The cost of an action does not grow with the number of packets waiting elsewhere.

Where the published engine's order is unspecified (reference: "⟂ unordered"), this
engine uses these fixed orders:

* ``Graph.nodes()``/``edges()``/``dependency_edges()``, ``Node.in_ports``/``out_ports``,
  ``SalvoCondition.ports``: constructor / insertion order (edges: first appearance);
* validation passes: edges in first-appearance order, fan-out sources in first-appearance
  order, nodes in constructor order, a condition's ``ports`` in insertion order and its
  term's ports in depth-first first-appearance order;
* ``run_step`` phase 1 visits non-empty edges in edge declaration order (so fan-in packets
  are appended in that order); phase 2 visits nodes in graph order; salvos take packets port
  by port in ``ports`` insertion order; startup requests are created in graph order;
* the request cascade starts from the dependency edges into the node in declaration order
  and queues a node's input ports in declaration order;
* ``cancel_epoch`` destroys node packets, then output ports in declaration order;
  ``UnsentOutputSalvoError`` names the first non-empty output port in declaration order;
* ``get_startable_epochs()``: the order in which epochs became Startable (creation order;
  an epoch whose start is undone goes to the back).

Deliberate extensions (no 0.2.0 behaviour changes):

* ``PacketLocation`` compares and hashes by value.
* ``GraphValidationError`` is raised (with ``.errors``) where the published engine panics
  (duplicate node names, ``NetSim`` on an invalid graph); ``create_epoch`` with a packet
  listed twice raises ``PacketNotAtInputPortError`` before any change; undo is atomic and
  raises ``UndoStateMismatchError`` instead of panicking or corrupting state;
  ``run_until_blocked`` raises ``NetrunError`` instead of looping forever on a satisfied
  condition that takes no packets; a failing step's ``RequestUnconnectedPortError`` carries
  the step's events in ``.events``.
* ``NetSim.snapshot()`` / ``NetSim.from_snapshot(graph, data)``; ``NetAction.to_dict()`` /
  ``from_dict()``; ``NetEvent.to_dict()`` / ``from_dict()``. The engine keeps no undo history:
  a runtime that wants undo stores each ``(action, events)`` pair itself.
* Enum variants, value types, graphs, actions, events and whole nets (through a snapshot)
  can be pickled or deep-copied.
"""

from .actions import NetAction
from .enums import (
    DependencyRequestTrigger,
    EpochState,
    MaxSalvos,
    MaxSalvosFinite,
    PacketCount,
    PacketCountN,
    PortSlotSpec,
    PortSlotSpecFinite,
    PortState,
    PortStateNumeric,
    PortType,
)
from .errors import (
    CannotFinishNonEmptyEpochError,
    CannotMovePacketFromRunningEpochError,
    CannotMovePacketIntoRunningEpochError,
    EdgeNotFoundError,
    EpochNotFoundError,
    EpochNotRunningError,
    EpochNotStartableError,
    GraphValidationError,
    InputPortFullError,
    InputPortNotFoundError,
    MaxSalvosExceededError,
    NetrunError,
    NodeNotFoundError,
    OutputPortFullError,
    OutputPortNotFoundError,
    PacketNotAtInputPortError,
    PacketNotFoundError,
    PacketNotInAnyNodeError,
    PacketNotInNodeError,
    RequestCycleDetectedError,
    RequestNodeNotFoundError,
    RequestUnconnectedPortError,
    SalvoConditionNotFoundError,
    SalvoConditionNotMetError,
    UnconnectedOutputPortError,
    UndoError,
    UndoInternalError,
    UndoNotFoundError,
    UndoNotUndoableError,
    UndoStateMismatchError,
    UnsentOutputSalvoError,
)
from .events import NetEvent
from .graph import DependencyRequestConfig, Graph, Node
from .locations import PacketLocation
from .net import NetSim
from .ports import Edge, EdgeRef, Port, PortRef
from .records import Epoch, OrphanedPacketInfo, Packet, Salvo
from .responses import NetActionResponseData
from .salvo import SalvoCondition, SalvoConditionTerm
from .validation import GraphValidationErrorInfo

__all__ = [
    "NetrunError",
    "PacketNotFoundError",
    "EpochNotFoundError",
    "EpochNotRunningError",
    "EpochNotStartableError",
    "CannotFinishNonEmptyEpochError",
    "UnsentOutputSalvoError",
    "PacketNotInAnyNodeError",
    "OutputPortNotFoundError",
    "OutputPortFullError",
    "SalvoConditionNotFoundError",
    "SalvoConditionNotMetError",
    "MaxSalvosExceededError",
    "NodeNotFoundError",
    "PacketNotAtInputPortError",
    "InputPortNotFoundError",
    "InputPortFullError",
    "CannotMovePacketFromRunningEpochError",
    "CannotMovePacketIntoRunningEpochError",
    "EdgeNotFoundError",
    "GraphValidationError",
    "GraphValidationErrorInfo",
    "PacketCount",
    "PacketCountN",
    "MaxSalvos",
    "MaxSalvosFinite",
    "PortSlotSpec",
    "PortSlotSpecFinite",
    "PortState",
    "PortStateNumeric",
    "SalvoConditionTerm",
    "Port",
    "PortType",
    "PortRef",
    "Edge",
    "SalvoCondition",
    "Node",
    "Graph",
    "PacketLocation",
    "EpochState",
    "Packet",
    "Salvo",
    "Epoch",
    "NetAction",
    "NetEvent",
    "NetActionResponseData",
    "NetSim",
]

# Reachable as attributes only (not exported by ``from netrun_sim import *``), as published:
# DependencyRequestConfig, DependencyRequestTrigger, OrphanedPacketInfo, the Request*Error and
# Undo* classes; plus the 0.1.x names PacketNotInNodeError, UnconnectedOutputPortError, EdgeRef.
_ATTRIBUTE_ONLY = (
    DependencyRequestConfig,
    DependencyRequestTrigger,
    OrphanedPacketInfo,
    RequestCycleDetectedError,
    RequestUnconnectedPortError,
    RequestNodeNotFoundError,
    UndoError,
    UndoStateMismatchError,
    UndoNotFoundError,
    UndoNotUndoableError,
    UndoInternalError,
    PacketNotInNodeError,
    UnconnectedOutputPortError,
    EdgeRef,
)
