"""The HTTP API of the editor (``/api/...``). Request bodies are validated by pydantic;
every refusal is a 4xx whose ``detail.message`` says what was wrong and what to do."""

from __future__ import annotations

import asyncio
from typing import Any, Literal, Optional

from fastapi import APIRouter
from pydantic import BaseModel, Field

from netrun.ui import actions, documents
from netrun.ui.errors import RunError
from netrun.ui.runs import EditorRun, MonitorHub, RemoteMonitor

__all__ = ["build_router"]


class _PathBody(BaseModel):
    path: str


class _DataBody(BaseModel):
    path: Optional[str] = None
    data: dict[str, Any] = Field(default_factory=dict)


class _SaveBody(BaseModel):
    path: str
    data: dict[str, Any]


class _ExpressionBody(BaseModel):
    when: str
    ports: Optional[list[str]] = None
    side: Literal["in", "out"] = "in"


class _FactoryNodeBody(BaseModel):
    path: Optional[str] = None
    factory: str
    factory_args: dict[str, Any] = Field(default_factory=dict)
    name: Optional[str] = None


class _ActionsBody(_DataBody):
    node: Optional[str] = None


class _RunActionBody(_ActionsBody):
    id: str
    timeout: float = Field(default=60.0, gt=0, le=3600)


class _RecipeBody(_DataBody):
    name: str
    inputs: dict[str, Any] = Field(default_factory=dict)


class _Injection(BaseModel):
    node: str
    port: str
    values: list[Any]


class _RunBody(_DataBody):
    inject: list[_Injection] = Field(default_factory=list)


class _AttachBody(BaseModel):
    url: str


class _ReinjectBody(BaseModel):
    epoch_id: str


def build_router(app_state: Any) -> APIRouter:
    """All ``/api`` routes, bound to the app's state (``root``, ``hub``, ``initial_file``)."""
    router = APIRouter(prefix="/api")
    root = app_state.root
    hub: MonitorHub = app_state.hub

    # -- project and files ----------------------------------------------------------------

    @router.get("/info")
    async def info() -> dict[str, Any]:
        from netrun.ui import __version__

        return {"root": str(root), "version": __version__, "initial_file": app_state.initial_file,
                "factories": await asyncio.to_thread(documents.available_factories)}

    @router.get("/files")
    async def files() -> dict[str, Any]:
        return {"files": [{"path": p} for p in await asyncio.to_thread(root.list_net_files)]}

    @router.get("/file")
    async def open_file(path: str) -> dict[str, Any]:
        return await asyncio.to_thread(documents.open_net_file, root, path)

    @router.post("/file/new")
    async def new_file(body: _PathBody) -> dict[str, Any]:
        return await asyncio.to_thread(documents.new_net_file, root, body.path)

    @router.post("/file/save")
    async def save_file(body: _SaveBody) -> dict[str, Any]:
        return await asyncio.to_thread(documents.save_net_file, root, body.path, body.data)

    # -- validation and factories --------------------------------------------------------

    @router.post("/analyze")
    async def analyze(body: _DataBody) -> dict[str, Any]:
        return await asyncio.to_thread(documents.analyze, root, body.path, body.data)

    @router.post("/expression")
    async def expression(body: _ExpressionBody) -> dict[str, Any]:
        return documents.check_expression(body.when, body.ports, body.side)

    @router.get("/factory-info")
    async def factory_info(factory: str, path: Optional[str] = None) -> dict[str, Any]:
        return await asyncio.to_thread(documents.factory_info, root, factory, path or None)

    @router.post("/factory-node")
    async def factory_node(body: _FactoryNodeBody) -> dict[str, Any]:
        return await asyncio.to_thread(documents.factory_node, root, body.path, body.factory,
                                       body.factory_args, body.name)

    # -- actions and recipes ---------------------------------------------------------------

    @router.post("/actions/list")
    async def list_actions(body: _ActionsBody) -> dict[str, Any]:
        return {"actions": actions.list_actions(body.data, body.node)}

    @router.post("/actions/run")
    async def run_action(body: _RunActionBody) -> dict[str, Any]:
        return await actions.run_action(root, body.path, body.data, body.id, body.node, body.timeout)

    @router.post("/recipes/list")
    async def list_recipes(body: _DataBody) -> dict[str, Any]:
        return {"recipes": actions.list_recipes(body.data)}

    @router.post("/recipes/prompts")
    async def recipe_prompts(body: _RecipeBody) -> dict[str, Any]:
        prompts = await asyncio.to_thread(actions.recipe_prompts, root, body.path, body.data, body.name)
        return {"prompts": prompts}

    @router.post("/recipes/run")
    async def run_recipe(body: _RecipeBody) -> dict[str, Any]:
        return await asyncio.to_thread(actions.run_recipe, root, body.path, body.data, body.name, body.inputs)

    # -- running and monitoring ------------------------------------------------------------

    @router.post("/run/start")
    async def start_run(body: _RunBody) -> dict[str, Any]:
        if hub.source is not None and hub.source.kind == "run" and hub.running:
            raise RunError("a net is already running; stop it first (Stop button or POST /api/run/stop)")
        cfg = await asyncio.to_thread(documents.load_config, root, body.path, body.data)
        label = f"run of {body.path}" if body.path else "run"
        run = EditorRun(cfg, [i.model_dump() for i in body.inject], label=label, interval=app_state.interval)
        await hub.set_source(run)
        return {"source": hub.describe()}

    @router.post("/run/stop")
    async def stop_run() -> dict[str, Any]:
        if hub.source is None:
            raise RunError("nothing is running", status=409)
        await hub.set_source(None)
        return {"source": hub.describe()}

    @router.get("/run/status")
    async def run_status() -> dict[str, Any]:
        return {"source": hub.describe()}

    @router.post("/monitor/attach")
    async def attach(body: _AttachBody) -> dict[str, Any]:
        await hub.set_source(RemoteMonitor(body.url.strip()))
        return {"source": hub.describe()}

    @router.post("/monitor/detach")
    async def detach() -> dict[str, Any]:
        await hub.set_source(None)
        return {"source": hub.describe()}

    @router.get("/monitor/node")
    async def node_detail(node: str) -> dict[str, Any]:
        return await hub.request("node_detail", node=node)

    @router.get("/monitor/dlq")
    async def dead_letters() -> dict[str, Any]:
        return {"entries": await hub.request("dead_letters")}

    @router.post("/monitor/dlq/reinject")
    async def reinject(body: _ReinjectBody) -> dict[str, Any]:
        return await hub.request("reinject", epoch_id=body.epoch_id)

    return router
