"""A net's *definition* as a file: ``Net.from_file`` / ``from_toml`` / ``load_definition``,
``save_definition`` / ``to_toml``, and ``Net.from_factory``.

The heavy lifting is the config layer's (``netrun.config.runtime``): a file is loaded,
validated (every problem reported at once, with file and line), resolved, and turned into
``Net(graph, **options)`` plus ``set_node_exec`` / ``set_node_config`` / port types. Saving
goes the other way: the graph, the options given to ``Net(...)``, each node's functions (as
import paths), options and port types become a ``NetConfig`` written as TOML (PROJECT_SPEC
layout) or JSON. Functions without an import path (lambdas, closures, ``__main__``) cannot be
written: ``save_definition`` raises a ``ConfigError`` naming the node.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Optional

__all__ = ["NetDefinitionMethods"]

_OPTION_DEFAULTS: dict[str, Any] | None = None


def _default_options() -> dict[str, Any]:
    global _OPTION_DEFAULTS
    if _OPTION_DEFAULTS is None:
        from netrun.net.options import NodeConfig

        _OPTION_DEFAULTS = {f.name: f.default for f in dataclasses.fields(NodeConfig)}
    return _OPTION_DEFAULTS


class NetDefinitionMethods:
    """Mixed into :class:`netrun.net.Net`."""

    _init_options: dict[str, Any]

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def from_setup(cls, setup: Any, **net_options: Any) -> Any:
        """A net from a resolved ``netrun.config.runtime.RuntimeSetup``; ``net_options`` are
        extra ``Net(...)`` keywords (e.g. ``handle_sigint=False`` off the main thread)."""
        net = cls(setup.graph, **setup.net_kwargs, **net_options)  # type: ignore[call-arg]
        net._apply_setup(setup)
        return net

    def _apply_setup(self, setup: Any) -> None:
        """Apply a resolved setup to this freshly built net: node functions, options, port
        types, and the config's front-door settings (``max_epochs``, ``run_on_init``,
        ``propagate_exceptions``...; see ``netrun.net._compat_policy``)."""
        from netrun.net._compat_policy import apply_config_settings

        net: Any = self
        for name, funcs in setup.node_funcs.items():
            net.set_node_exec(name, *funcs)
        for name, options in setup.node_options.items():
            net.set_node_config(name, **options)
        for (node, port), spec in setup.input_port_types.items():
            net.set_input_port_type(node, port, spec)
        for (node, port), spec in setup.output_port_types.items():
            net.set_output_port_type(node, port, spec)
        net._definition = setup.config
        apply_config_settings(net, setup.config, getattr(net, "_run_init_nodes", True))

    @classmethod
    def from_file(cls, path: str | Path, *, global_node_vars: Optional[Mapping[str, Any]] = None,
                  node_vars: Optional[Mapping[Any, Mapping[str, Any]]] = None) -> Any:
        """A net from a ``.toml`` / ``.json`` file (either layout), validated first.

        Raises :class:`netrun.config.ConfigValidationFailed` listing every problem."""
        from netrun.config.runtime import load_runtime_setup

        return cls.from_setup(load_runtime_setup(path, global_node_vars=global_node_vars, node_vars=node_vars))

    load_definition = from_file
    from_toml_file = from_file

    @classmethod
    def from_toml(cls, text: str) -> Any:
        """A net from TOML text (PROJECT_SPEC DSL or the 0.5.0 layout)."""
        from netrun.config import ConfigValidationFailed, NetConfig, validate_config
        from netrun.config.runtime import runtime_setup

        cfg = NetConfig.from_toml(text)
        problems = validate_config(cfg)
        if problems:
            raise ConfigValidationFailed(problems)
        return cls.from_setup(runtime_setup(cfg))

    @staticmethod
    def from_factory(factory_path: str, **factory_args: Any) -> tuple:
        """``(node_spec, exec, start, stop, failed)`` made by a node factory (PROJECT_SPEC)."""
        from netrun.config.factory import load_factory

        return load_factory(factory_path, **factory_args).as_tuple()

    # -- saving ---------------------------------------------------------------------------
    def to_config(self) -> Any:
        """This net's definition as a ``netrun.config.NetConfig``."""
        from netrun.config.runtime import config_from_runtime

        graph = self.graph  # type: ignore[attr-defined]
        funcs: dict[str, Any] = {}
        options: dict[str, dict[str, Any]] = {}
        in_types: dict[tuple[str, str], Any] = {}
        out_types: dict[tuple[str, str], Any] = {}
        defaults = _default_options()
        for name, node in graph.nodes().items():
            registered = self.get_node_exec_funcs(name)  # type: ignore[attr-defined]
            if registered is not None:
                funcs[name] = (registered.exec_func, registered.start_func, registered.stop_func,
                               registered.failed_func)
            config = self.get_node_config(name)  # type: ignore[attr-defined]
            changed = {k: v for k, v in dataclasses.asdict(config).items() if defaults.get(k) != v}
            if changed:
                options[name] = changed
            for port in node.in_ports:
                spec = self.get_input_port_type(name, port)  # type: ignore[attr-defined]
                if spec is not None:
                    in_types[(name, port)] = spec
            for port in node.out_ports:
                spec = self.get_output_port_type(name, port)  # type: ignore[attr-defined]
                if spec is not None:
                    out_types[(name, port)] = spec
        # Nodes a factory made (known when the net came from a definition) are written as
        # factory + args: the factory makes their functions again on load.
        factories: dict[str, tuple[str, dict[str, Any]]] = {}
        definition = getattr(self, "_definition", None)
        if definition is not None:
            for node in definition.graph.nodes:
                factory = getattr(node, "factory", None)
                if factory:
                    path = factory if isinstance(factory, str) else factory.__name__
                    factories[node.name] = (path, dict(node.factory_args))
        return config_from_runtime(graph, net_options=getattr(self, "_init_options", {}), node_funcs=funcs,
                                   node_options=options, input_port_types=in_types, output_port_types=out_types,
                                   node_factories=factories)

    def to_toml(self) -> str:
        """This net's definition as TOML text (PROJECT_SPEC layout)."""
        return self.to_config().to_toml()

    def save_definition(self, path: str | Path) -> None:
        """Write this net's definition (no runtime state) to a ``.toml`` or ``.json`` file."""
        self.to_config().to_file(path)

    save_toml = save_definition
