"""The local web page and its JSON API (FastAPI), a thin shell over the library like cli.py.

Every endpoint returns the document the matching CLI command prints with ``--json``; bad input (any
RigfitError) is HTTP 422 with the CLI's one-line message.  Models and hardware are looked up in the embedded
catalogs only: no endpoint opens a path, a custom .toml or the Hub, and nothing is written.  The page's
assets are package data under ``web/static`` (no CDN).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from importlib.resources import files
from typing import Annotated, Any

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from ..errors import InvalidInput, RigfitError

STATIC_DIR = files("rigfit.web") / "static"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
MAX_URL_BYTES = 8192  # path and query; every parameter is bounded far below
MAX_WEB_DEVICES = 64  # accelerators in one request (counts included)
MAX_WEB_NODES = 8  # machines in one cluster request
HEAVY_AT_ONCE = 2  # searches and sweeps run off the event loop, at most this many together
HEAVY_SECONDS = 30  # a heavy request gets an answer within this (hundreds of ms is usual)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class ErrorBody(BaseModel):
    """What every 4xx answer carries: the one-line error, the message alone, and the query parameters it is
    about (the CLI names its flags instead)."""

    error: str  # "rigfit: error: <message>", as the CLI prints it less the flags
    detail: str
    parameters: list[str]


_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "Invalid input: the CLI's one-line error"},
}
_JSON_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same document as the CLI's --json",
          "content": {"application/json": {"schema": {"type": "object"}}}},
    **_ERRORS,
}


def _json(doc: Any) -> Response:
    return Response(content=json.dumps(doc, separators=(",", ":")), media_type="application/json")


def _error(status: int, message: str, parameters: list[str] | None = None) -> Response:
    body = {"error": f"rigfit: error: {message}", "detail": message, "parameters": parameters or []}
    return Response(content=json.dumps(body), status_code=status, media_type="application/json")


def _host_name(header: str) -> str:
    """The host of a Host header without its port (``[::1]:8765`` -> ``::1``)."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def _validation_message(exc: RequestValidationError) -> str:
    """FastAPI's structured validation errors as one line naming the parameter and the bad value."""
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
        value = e.get("input")
        shown = "" if value is None or isinstance(value, dict) else f" {value!r}"
        parts.append(f"{loc}{shown}: {e.get('msg', 'invalid')}".strip())
    return "; ".join(parts) or "invalid request"


@functools.cache
def _this_machine() -> tuple[Any, tuple[str, ...]]:
    """The machine the server runs on, detected once (the page's "this machine")."""
    from ..hardware.detect import detect
    from ..thismachine import this_machine

    system, notes = this_machine(detect())
    return system, tuple(notes)


def _system(hardware: list[str], this_machine: bool, os_name: str = "linux", display: bool = False) -> Any:
    """The System for the page's hardware fields: None when none was chosen."""
    from ..options import catalog_system

    if this_machine and hardware:
        raise InvalidInput("give hardware names or this_machine, not both", options=("hardware",))
    if this_machine:
        return _this_machine()[0]
    if len(hardware) > 16:
        raise InvalidInput(f"at most 16 hardware entries, got {len(hardware)}", options=("hardware",))
    system = catalog_system(hardware, os_name=os_name, display=display) if hardware else None
    if system is not None and sum(sd.count for sd in system.devices) > MAX_WEB_DEVICES:
        raise InvalidInput(f"at most {MAX_WEB_DEVICES} devices in one request", options=("hardware",))
    return system


@functools.lru_cache(maxsize=32)
def _guide_doc(models: tuple[str, ...]) -> str:
    from ..guide import build_guide

    return json.dumps(asdict(build_guide(models)), separators=(",", ":"))


def _fit_doc(req: Any, command: str | None, curve: bool) -> Response:
    from ..api import fit
    from ..options import context_curve
    from ..report.json_out import fit_dict

    r = fit(req)
    doc = fit_dict(r)
    if command:
        from ..launch import launch
        from ..report.launch_out import launch_dict

        doc["launch"] = launch_dict(launch(r, command))
    if curve:
        from ..report.json_out import curve_dict

        doc["context_curve"] = curve_dict(context_curve(r))
    return _json(doc)


Str = Annotated[str | None, Query(max_length=200)]
Names = Annotated[list[str], Query(max_length=200)]


def create_app(*, allowed_hosts: Sequence[str] = LOOPBACK_HOSTS) -> FastAPI:
    """The app.  ``allowed_hosts``: the Host names it answers (loopback only unless ``rigfit serve --host``
    says otherwise; ``"*"`` for any), so a page elsewhere cannot reach it by DNS rebinding."""
    from importlib.metadata import version

    hosts = {h.lower().strip("[]") for h in allowed_hosts}
    heavy = CapacityLimiter(HEAVY_AT_ONCE)

    # no /docs or /redoc: FastAPI's Swagger UI and ReDoc pages load their scripts from a CDN, and this page
    # must work offline; the schema itself is at /openapi.json
    app = FastAPI(title="rigfit", version=version("rigfit"), docs_url=None, redoc_url=None,
                  description="What LLMs this hardware runs, how fast, with which settings, and what to buy. "
                              "Every answer is the document the CLI prints with --json.")

    @app.middleware("http")
    async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        host = _host_name(request.headers.get("host", ""))
        if "*" not in hosts and host not in hosts:
            response = _error(400, f"host {host[:60]!r} is not served here (rigfit serve answers "
                                   f"{', '.join(sorted(hosts))})")
        elif len(request.url.path) + len(request.url.query) > MAX_URL_BYTES:
            response = _error(422, f"request URL of {len(request.url.path) + len(request.url.query):,} bytes is "
                                   f"too long (at most {MAX_URL_BYTES:,})")
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"  # machine data and plans are never cached
        return response

    @app.exception_handler(RigfitError)
    async def _rigfit_error(_: Request, exc: RigfitError) -> Response:
        from ..flags import query_parameters

        return _error(422, str(exc), query_parameters(exc))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> Response:
        names = [str(x) for e in exc.errors() for x in e.get("loc", ())[1:2]]
        return _error(422, _validation_message(exc), list(dict.fromkeys(names)))

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(STATIC_DIR / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    # async: a plain fit is a millisecond of computation, cheaper inline on the event loop than a threadpool hop
    # (benchmarks/load.py).  A search (best quant, ctx=max) or a context sweep runs in a worker thread, at
    # most HEAVY_AT_ONCE together, so cheap requests stay fast while heavy ones run; the slower endpoints
    # (what runs, recommend, guide) are sync, in the threadpool.
    @app.get("/api/fit", responses=_JSON_DOC, summary="Memory, placement, speed and launch command for one model")
    async def api_fit(
        model: Annotated[str, Query(max_length=200, description="catalog name or alias (Ollama tag, HF repo id)")],
        quant: Str = None, ctx: Annotated[str | None, Query(max_length=20, description="8192, 32k or max")] = None,
        kv_cache: Str = None,
        kv_cache_v: Annotated[str | None, Query(max_length=20, description="llama.cpp -ctv: the V cache's type "
                                                "where it differs from kv_cache's")] = None,
        engine: Str = None,
        flash_attn: Annotated[str | None, Query(max_length=10, description="on, off or auto")] = None,
        swa_full: Annotated[bool | None, Query(description="llama.cpp --swa-full")] = None,
        logits_all: Annotated[bool | None, Query(description="size the compute buffer as the bindings do")] = None,
        mmproj: Annotated[bool | None, Query(description="load the vision projector (llama.cpp --mmproj)")] = None,
        op_offload: Annotated[bool | None, Query(description="false: llama.cpp --no-op-offload")] = None,
        threads: Annotated[int | None, Query(description="CPU threads (llama.cpp -t)")] = None,
        batch: int | None = None, ubatch: int | None = None, parallel: int = 1,
        users: Annotated[str | None, Query(max_length=8, description="users at once, or max")] = None,
        backend: Str = None,
        hardware: Names = [],  # noqa: B006 (FastAPI copies query defaults)
        this_machine: bool = False, gpu_memory: Str = None, gpu_memory_utilization: float | None = None,
        ram: Str = None, prompt_tokens: int | None = None, gen_tokens: int | None = None, depth_tokens: int = 0,
        split_mode: Str = None,
        gpu_layers: int | None = None,
        n_cpu_moe: Annotated[int | None, Query(description="llama.cpp --n-cpu-moe: layers whose experts stay in RAM")]
        = None,
        tensor_split: Str = None, tensor_parallel: int | None = None,
        pipeline_parallel: int | None = None,
        command: Annotated[str | None, Query(
            max_length=20, description="llama.cpp, ollama, ollama-mlx, lmstudio, llamafile, vllm, mlx")] = None,
        curve: Annotated[bool, Query(description="add tokens/s and memory vs context")] = False,
        headroom: Annotated[str | None, Query(max_length=20, description="memory kept free per GPU, e.g. 1GB")]
        = None,
        os: Annotated[str | None, Query(max_length=20, description="linux, windows or macos")] = None,
        display: Annotated[bool, Query(description="a desktop runs on the first GPU")] = False,
        kwh_price: Annotated[float | None, Query(description="electricity price, USD per kWh")] = None,
        calibration: Annotated[bool, Query(description="apply this machine's calibration (rigfit calibrate)")]
        = True,
        node: Names = [],  # noqa: B006 (FastAPI copies query defaults)
        link: Annotated[str | None, Query(max_length=40, description="what joins the nodes: tb5-rdma, 25gbe, ...")]
        = None,
        cluster_mode: Annotated[str | None, Query(max_length=20, description="pipeline or tensor")] = None,
    ) -> Response:
        from ..calstore import user_calibration
        from ..options import FitOptions, catalog_model, request_from_options
        from ..request import Search

        if len(node) > MAX_WEB_NODES:
            raise InvalidInput(f"at most {MAX_WEB_NODES} nodes, got {len(node)}", options=("nodes",))
        system = _system(hardware, this_machine, (os or "linux").strip().lower(), display)
        o = FitOptions(quant=quant, ctx=ctx, kv_cache=kv_cache, kv_cache_v=kv_cache_v, engine=engine,
                       flash_attn=flash_attn,
                       swa_full=swa_full, logits_all=logits_all, mmproj=mmproj, op_offload=op_offload, threads=threads,
                       batch=batch,
                       ubatch=ubatch, n_seq=parallel, users=users, backend=backend, gpu_memory=gpu_memory,
                       gpu_memory_utilization=gpu_memory_utilization, ram=ram, prompt_tokens=prompt_tokens,
                       gen_tokens=gen_tokens, depth_tokens=depth_tokens, split_mode=split_mode, gpu_layers=gpu_layers,
                       n_cpu_moe=n_cpu_moe,
                       tensor_split=tensor_split, tensor_parallel=tensor_parallel,
                       pipeline_parallel=pipeline_parallel, command=command, headroom=headroom, os=os,
                       display=display, kwh_price=kwh_price, calibration=user_calibration(not calibration),
                       nodes=tuple(node), link=link, cluster_mode=cluster_mode)
        req = request_from_options(catalog_model(model), o, system=system)

        def work() -> Response:
            return _fit_doc(req, command, curve)

        if curve or req.search != Search.NONE:
            with anyio.move_on_after(HEAVY_SECONDS) as scope:
                return await anyio.to_thread.run_sync(work, limiter=heavy, abandon_on_cancel=True)
            if scope.cancelled_caught:  # the thread finishes on its own; the client is not kept waiting
                return _error(503, f"the request took longer than {HEAVY_SECONDS} s; ask for less (a quant, "
                                   "fewer devices or no curve)")
        return work()

    @app.get("/api/models", responses=_JSON_DOC, summary="The model catalog, or what runs on some hardware")
    def api_models(hardware: Names = [], this_machine: bool = False,  # noqa: B006
                   ctx: Annotated[str, Query(max_length=20)] = "8192",
                   engine: Annotated[str, Query(max_length=40)] = "llama.cpp", ram: Str = None,
                   task: Annotated[str | None, Query(max_length=20, description="chat, code, reasoning, vision")]
                   = None,
                   min_params: Annotated[str | None, Query(max_length=20, description="7B, 500M")] = None,
                   ) -> Response:
        from ..models.catalog import default_catalog
        from ..models.tasks import TASKS, tasks_of
        from ..options import parse_ctx, parse_params, parse_size
        from ..report.json_out import model_dict, runs_dict

        floor = parse_params(min_params) or 0
        if task is not None and task not in TASKS:
            from ..errors import UnknownName

            raise UnknownName("task", task, TASKS)
        if hardware or this_machine:
            from ..api import what_runs

            results = what_runs(_system(hardware, this_machine), context_tokens=parse_ctx(ctx), engine=engine,
                                ram_bytes=parse_size(ram), task=task, min_params=floor or None)
            return _json(runs_dict(results))
        specs = [s for s in default_catalog().models if (task is None or task in tasks_of(s))
                 and (s.params_total or 0) >= floor]
        return _json({"models": [model_dict(s) for s in specs]})

    @app.get("/api/hardware", responses=_JSON_DOC, summary="The hardware catalog")
    def api_hardware(kind: Annotated[str | None, Query(max_length=10, description="gpu, apple, soc or cpu")] = None,
                     min_memory: Str = None) -> Response:
        from ..hardware.catalog import default_hardware
        from ..options import parse_size
        from ..report.json_out import device_dict

        devs = default_hardware().select(kind, parse_size(min_memory) or 0)
        return _json({"devices": [device_dict(d) for d in devs]})

    @app.get("/api/hardware/{name}", responses=_JSON_DOC, summary="One device, forgivingly named")
    def api_hardware_show(name: Annotated[str, Path(max_length=200)]) -> Response:
        from ..hardware.resolve import resolve_device
        from ..report.json_out import device_dict

        return _json(device_dict(resolve_device(name)))

    @app.get("/api/recommend", responses=_JSON_DOC, summary="Ranked complete builds for a stack and a workload")
    def api_recommend(model: Names = [], quant: Str = None,  # noqa: B006
                      ctx: Annotated[str | None, Query(max_length=20)] = None,
                      workload: Annotated[str, Query(max_length=40)] = "chat", min_tps: float | None = None,
                      max_ttft: float | None = None, budget: float | None = None, kwh_price: float = 0.17,
                      have: Annotated[str | None, Query(max_length=300, description="parts you keep, or "
                                                        "this-machine")] = None,
                      platform: Annotated[str, Query(max_length=20)] = "any",
                      form: Annotated[str, Query(max_length=20)] = "any",
                      condition: Annotated[str, Query(max_length=20)] = "any",
                      vendor: Annotated[str, Query(max_length=20)] = "any", top: int = 5) -> Response:
        from ..advise import Request as BuildRequest
        from ..advise import recommend
        from ..api import DEFAULT_STACK
        from ..options import catalog_model, parse_ctx
        from ..report.advice import recommendation_dict

        if len(model) > 8:
            raise InvalidInput(f"at most 8 models in a stack, got {len(model)}")
        names = tuple(model) or DEFAULT_STACK
        specs = tuple(catalog_model(m) for m in names)
        from ..advise.upgrade import resolve_have

        kept = resolve_have(have) if have else None
        req = BuildRequest(models=names, quant=quant, context_tokens=parse_ctx(ctx), have=kept,
                           workload=workload, min_tokens_per_s=min_tps, max_ttft_s=max_ttft, budget_usd=budget,
                           kwh_price_usd=kwh_price, platform=platform,
                           form=form, condition=condition, vendor=vendor, top=top)
        return _json(recommendation_dict(recommend(req, specs=specs)))

    @app.get("/api/compare", responses=_JSON_DOC, summary="One model on 2-6 machines side by side")
    async def api_compare(
        model: Annotated[str, Query(max_length=200, description="catalog name or alias")],
        hardware: Names = [],  # noqa: B006 (FastAPI copies query defaults)
        quant: Str = None, ctx: Annotated[str | None, Query(max_length=20)] = None, kv_cache: Str = None,
        engine: Str = None, ram: Str = None,
        headroom: Annotated[str | None, Query(max_length=20)] = None,
        kwh_price: Annotated[float | None, Query(description="electricity price, USD per kWh")] = None,
    ) -> Response:
        from ..compare import compare
        from ..options import FitOptions, catalog_model, request_from_options
        from ..report.json_out import compare_dict

        if not 2 <= len(hardware) <= 6:
            raise InvalidInput(f"compare needs 2 to 6 machines, got {len(hardware)}", options=("hardware",))
        spec = catalog_model(model)
        reqs = []
        for h in hardware:
            system = _system([h], False)  # the page's own hardware checks, one machine at a time
            o = FitOptions(quant=quant, ctx=ctx, kv_cache=kv_cache, engine=engine, ram=ram, headroom=headroom,
                           kwh_price=kwh_price)
            reqs.append(request_from_options(spec, o, system=system))

        def work() -> Response:
            from ..api import fit

            return _json(compare_dict(compare([fit(r) for r in reqs])))

        with anyio.move_on_after(HEAVY_SECONDS) as scope:
            return await anyio.to_thread.run_sync(work, limiter=heavy, abandon_on_cancel=True)
        if scope.cancelled_caught:
            return _error(503, f"the request took longer than {HEAVY_SECONDS} s; compare fewer machines")
        return work()

    @app.get("/api/guide", responses=_JSON_DOC, summary="The hardware guide's sections for a stack")
    def api_guide(model: Names = []) -> Response:  # noqa: B006
        from ..options import catalog_model

        if len(model) > 8:
            raise InvalidInput(f"at most 8 models in a guide, got {len(model)}")
        names = tuple(catalog_model(m).name for m in model)
        return Response(content=_guide_doc(names), media_type="application/json")

    @app.get("/api/options", responses=_JSON_DOC, summary="Engines, quants, KV types and workloads for the forms")
    def api_options() -> Response:
        return _json(_options_doc())

    return app


@functools.cache
def _options_doc() -> dict[str, Any]:
    from ..advise import default_workloads
    from ..api import DEFAULT_STACK, quant_ladder
    from ..engines import ENGINES
    from ..hardware.links import link_catalog
    from ..launch import LAUNCH_ENGINES

    return {
        "engines": [{"name": e.name, "quants": list(quant_ladder(e.name)), "default_quant": e.default_quant,
                     "kv_types": list(e.kv_types), "default_kv": e.default_kv, "default_ctx": e.default_ctx,
                     "kv_split": "kv_cache_type_v" in e.settings,
                     "launch": e.name in LAUNCH_ENGINES} for e in ENGINES.values()],
        "workloads": [{"name": w.name, "kind": w.kind, "description": w.description}
                      for w in default_workloads()],
        "default_stack": list(DEFAULT_STACK),
        "links": [{"name": lk.name, "title": lk.title, "gb_s": lk.gb_s, "rtt_us": lk.rtt_us, "rdma": lk.rdma}
                  for lk in link_catalog()],
        "cluster_engines": [e.name for e in ENGINES.values() if e.cluster is not None],
    }
