"""The JSON API: the same documents as the CLI's --json, the CLI's one-line errors as HTTP 422, catalog-only
lookups (no endpoint opens a path the request names), and the OpenAPI schema."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rigfit.cli import main
from rigfit.web.app import create_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(), base_url="http://127.0.0.1:8765")


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def cli_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    return err.rstrip("\n")


SAME_AS_CLI = [
    ("/api/fit", [("model", "qwen2.5-coder:32b"), ("ctx", "16k")], ["fit", "qwen2.5-coder:32b", "--ctx", "16k"]),
    ("/api/fit", [("model", "llama3.1:8b"), ("hardware", "RTX 3090"), ("ctx", "32k"), ("kv_cache", "q8_0")],
     ["fit", "llama3.1:8b", "-H", "RTX 3090", "--ctx", "32k", "--kv-cache", "q8_0"]),
    ("/api/fit", [("model", "Llama-3.1-70B-Instruct"), ("quant", "Q4_K_M"), ("hardware", "RTX 3090"),
                  ("hardware", "RTX 3060"), ("ctx", "8192")],
     ["fit", "Llama-3.1-70B-Instruct", "-q", "Q4_K_M", "-H", "RTX 3090", "-H", "RTX 3060", "--ctx", "8192"]),
    ("/api/fit", [("model", "qwen2.5-coder:32b"), ("hardware", "2x RTX 4090"), ("engine", "vllm"), ("quant", "AWQ"),
                  ("ctx", "16k"), ("command", "vllm")],
     ["fit", "qwen2.5-coder:32b", "-H", "2x RTX 4090", "-e", "vllm", "-q", "AWQ", "--ctx", "16k", "--command", "vllm"]),
    ("/api/fit", [("model", "qwen2.5-coder:32b"), ("hardware", "M4 Max 40-core 64GB"), ("ctx", "max")],
     ["fit", "qwen2.5-coder:32b", "-H", "M4 Max 40-core 64GB", "--ctx", "max"]),
    ("/api/fit", [("model", "qwen2.5-coder:32b"), ("hardware", "RTX 3090"), ("ctx", "8k"), ("command", "ollama"),
                  ("curve", "true")],
     ["fit", "qwen2.5-coder:32b", "-H", "RTX 3090", "--ctx", "8k", "--command", "ollama", "--curve"]),
    ("/api/models", [], ["models"]),
    ("/api/models", [("hardware", "RTX 4060 Ti 16GB"), ("ctx", "8k")],
     ["models", "--hardware", "RTX 4060 Ti 16GB", "--ctx", "8k"]),
    ("/api/hardware", [("kind", "apple"), ("min_memory", "64GB")],
     ["hardware", "list", "--kind", "apple", "--min-memory", "64GB"]),
    ("/api/hardware/4090", [], ["hardware", "show", "4090"]),
    ("/api/recommend", [("top", "3")], ["recommend", "--top", "3"]),
    ("/api/recommend", [("model", "qwen2.5-coder:32b"), ("workload", "code"), ("budget", "3500")],
     ["recommend", "-m", "qwen2.5-coder:32b", "--workload", "code", "--budget", "3500"]),
    ("/api/guide", [("model", "llama3.1:8b")], ["guide", "-m", "llama3.1:8b"]),
]


@pytest.mark.parametrize(("path", "params", "cli"), SAME_AS_CLI)
def test_api_returns_the_cli_json(client: TestClient, capsys: pytest.CaptureFixture[str], path: str,
                                  params: list[tuple[str, str]], cli: list[str]) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == cli_json(capsys, *cli)


BAD = [
    ([("model", "llama-9000")], ["fit", "llama-9000"]),
    ([("model", "llama3.1:8b"), ("ctx", "lots")], ["fit", "llama3.1:8b", "--ctx", "lots"]),
    ([("model", "llama3.1:8b"), ("ctx", "0")], ["fit", "llama3.1:8b", "--ctx", "0"]),
    ([("model", "llama3.1:8b"), ("hardware", "RTX 9999")], ["fit", "llama3.1:8b", "-H", "RTX 9999"]),
    ([("model", "llama3.1:8b"), ("quant", "Q9_K")], ["fit", "llama3.1:8b", "-q", "Q9_K"]),
    ([("model", "llama3.1:8b"), ("engine", "vllm"), ("quant", "Q4_K_M")],
     ["fit", "llama3.1:8b", "-e", "vllm", "-q", "Q4_K_M"]),
    ([("model", "llama3.1:8b"), ("hardware", "3090"), ("command", "tabby")],
     ["fit", "llama3.1:8b", "-H", "3090", "--command", "tabby"]),
    ([("model", "llama3.1:8b"), ("hardware", "3090"), ("engine", "vllm"), ("command", "ollama")],
     ["fit", "llama3.1:8b", "-H", "3090", "-e", "vllm", "--command", "ollama"]),
    ([("model", "llama3.1:8b"), ("hardware", "3090"), ("tensor_split", "a,b")],
     ["fit", "llama3.1:8b", "-H", "3090", "--tensor-split", "a,b"]),
    ([("model", "llama3.1:8b"), ("ctx", "4096"), ("prompt_tokens", "8000")],
     ["fit", "llama3.1:8b", "--ctx", "4096", "--prompt-tokens", "8000"]),
    ([("model", "llama3.1:8b"), ("ctx", "4096"), ("depth_tokens", "8000")],
     ["fit", "llama3.1:8b", "--ctx", "4096", "--depth", "8000"]),
]


@pytest.mark.parametrize(("params", "cli"), BAD)
def test_bad_fit_input_is_422_with_the_cli_line(client: TestClient, capsys: pytest.CaptureFixture[str],
                                                params: list[tuple[str, str]], cli: list[str]) -> None:
    resp = client.get("/api/fit", params=params)
    assert resp.status_code == 422
    body = resp.json()
    line = cli_error(capsys, *cli)
    # the same message; the CLI adds the flags it is about, the web lists its query parameters
    assert body["error"] == "rigfit: error: " + body["detail"] and line.startswith(body["error"])
    assert (line != body["error"]) == bool(body["parameters"])
    assert "\n" not in body["error"]


@pytest.mark.parametrize(("path", "params", "cli"), [
    ("/api/recommend", [("budget", "300")], ["recommend", "--budget", "300"]),
    ("/api/recommend", [("platform", "macos"), ("vendor", "nvidia")],
     ["recommend", "--platform", "macos", "--vendor", "nvidia"]),
    ("/api/recommend", [("workload", "gaming")], ["recommend", "--workload", "gaming"]),
    ("/api/hardware/RTX%209999", [], ["hardware", "show", "RTX 9999"]),
    ("/api/models", [("hardware", "3090"), ("engine", "nope")], ["models", "-H", "3090", "--engine", "nope"]),
    ("/api/guide", [("model", "nope-7b")], ["guide", "-m", "nope-7b"]),
])
def test_other_endpoints_422_with_the_cli_line(client: TestClient, capsys: pytest.CaptureFixture[str], path: str,
                                               params: list[tuple[str, str]], cli: list[str]) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == 422
    assert cli_error(capsys, *cli).startswith(resp.json()["error"])


@pytest.mark.parametrize("value", ["x", "1.5", "", "99999999999999999999999"])
def test_type_errors_are_one_line_422(client: TestClient, value: str) -> None:
    resp = client.get("/api/fit", params={"model": "llama3.1:8b", "prompt_tokens": value})
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err.startswith(("rigfit: error: prompt_tokens", "rigfit: error: prompt tokens")) and "\n" not in err


@pytest.mark.parametrize("model", ["pyproject.toml", "./README.md", "/etc/passwd", "../../x.gguf", "tests",
                                   "src/rigfit/data/models.toml", "Qwen/Qwen3-235B-not-in-catalog"])
def test_model_paths_and_hub_ids_are_never_opened(client: TestClient, model: str) -> None:
    resp = client.get("/api/fit", params={"model": model})
    assert resp.status_code == 422
    assert resp.json()["detail"].startswith(f"unknown model {model!r}")


@pytest.mark.parametrize("hw", ["pyproject.toml", "tests/data/custom_gpu.toml", "/etc/hostname", "README.md"])
def test_hardware_files_are_never_opened(client: TestClient, hw: str) -> None:
    resp = client.get("/api/fit", params={"model": "llama3.1:8b", "hardware": hw})
    assert resp.status_code == 422
    assert resp.json()["detail"].startswith("unknown hardware")


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/static/../pyproject.toml", "/static/%2e%2e/app.py",
                                  "/static/..%2f..%2fcli.py", "/static/nothing.js", "/etc/passwd",
                                  "/api/../pyproject.toml"])
def test_static_files_stay_in_their_folder(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_page_and_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for ref in ("/static/app.js", "/static/style.css"):
        assert ref in page.text
        assert client.get(ref).status_code == 200
    for text in (page.text, client.get("/static/app.js").text, client.get("/static/style.css").text):
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text  # no CDN: the page works offline


def test_openapi_lists_every_endpoint_with_the_error_schema(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/fit", "/api/recommend", "/api/models", "/api/hardware", "/api/guide"):
        op = spec["paths"][path]["get"]
        assert set(op["responses"]) == {"200", "422"}
        assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    params = {p["name"] for p in spec["paths"]["/api/fit"]["get"]["parameters"]}
    assert {"model", "quant", "ctx", "kv_cache", "engine", "hardware", "this_machine", "command", "curve"} <= params


def test_options_feed_the_forms(client: TestClient) -> None:
    doc = client.get("/api/options").json()
    llama = next(e for e in doc["engines"] if e["name"] == "llama.cpp")
    assert llama["launch"] and "Q4_K_M" in llama["quants"] and "q8_0" in llama["kv_types"]
    assert {w["name"] for w in doc["workloads"]} >= {"chat", "code", "qlora"}


def test_curve_grows_memory_and_keeps_the_plan(client: TestClient) -> None:
    doc = client.get("/api/fit", params={"model": "qwen2.5-coder:32b", "hardware": "RTX 3090", "quant": "Q4_K_M",
                                         "ctx": "16k", "curve": "true"}).json()
    pts = doc["context_curve"]["points"]
    ctxs = [p["context_tokens"] for p in pts]
    assert ctxs == sorted(ctxs) and 16384 in ctxs and ctxs[-1] == doc["model"]["max_context"]
    assert all(a["total_bytes"] <= b["total_bytes"] for a, b in itertools.pairwise(pts))
    at16k = next(p for p in pts if p["context_tokens"] == 16384)
    assert at16k["verdict"] == doc["placement"]["verdict"] and at16k["total_bytes"] == doc["memory"]["total_bytes"]


def test_rigfit_serve_binds_loopback_and_answers() -> None:
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "rigfit", "serve", "--port", str(port), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        doc = json.loads("".join(proc.stdout.readline() for _ in range(5)))  # the JSON block, 5 lines
        assert doc["url"] == f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                resp = httpx.get(doc["api"] + "hardware/3090", timeout=1)
                break
            except httpx.HTTPError:
                import time

                time.sleep(0.1)
        assert resp.status_code == 200 and resp.json()["name"] == "NVIDIA GeForce RTX 3090"
        with socket.create_connection(("127.0.0.1", port)):
            pass  # listening on loopback ...
        probe = socket.socket()
        try:  # ... and not on the machine's other addresses
            probe.settimeout(1)
            other = socket.gethostbyname(socket.gethostname())
            if not other.startswith("127."):
                assert probe.connect_ex((other, port)) != 0
        finally:
            probe.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # reaps it and closes the pipes


@pytest.mark.parametrize(("args", "message"), [
    (["serve", "--port", "0"], "rigfit: error: port must be between 1 and 65535, got 0\n"),
    (["serve", "--port", "70000"], "rigfit: error: port must be between 1 and 65535, got 70000\n"),
])
def test_serve_bad_port(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(args) == 2
    assert capsys.readouterr().err == message


def test_this_machine_plans_on_the_detected_hardware(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    resp = client.get("/api/fit", params={"model": "llama3.1:8b", "this_machine": "true", "ctx": "8k"})
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["placement"]["verdict"] in ("gpu", "partial_offload", "cpu", "does_not_fit")
    assert doc == cli_json(capsys, "fit", "llama3.1:8b", "--this-machine", "--ctx", "8k")
    both = client.get("/api/fit", params={"model": "llama3.1:8b", "this_machine": "true", "hardware": "3090"})
    assert both.status_code == 422 and both.json()["detail"] == "give hardware names or this_machine, not both"


def test_errors_name_query_parameters_not_cli_flags(client: TestClient) -> None:
    body = client.get("/api/fit", params=[("model", "llama3.1:8b"), ("hardware", "2x RTX 3090"),
                                          ("tensor_parallel", "2")]).json()
    assert body["detail"] == "llama.cpp has no tensor or pipeline parallelism (vLLM has)"
    assert body["parameters"] == ["tensor_parallel", "pipeline_parallel", "engine"]
    assert "--" not in body["error"]
    body = client.get("/api/fit", params=[("model", "llama3.1:8b"), ("ctx", "max")]).json()
    assert body["parameters"] == ["ctx", "hardware"]


# hostile-input findings 10-12 (issue 13)
def test_dns_rebinding_host_is_refused() -> None:
    app = TestClient(create_app(), base_url="http://attacker.example:8765")
    resp = app.get("/api/fit", params={"model": "llama3.1:8b", "this_machine": "true"})
    assert resp.status_code == 400 and "not served here" in resp.json()["error"]
    for host in ("http://localhost:8765", "http://127.0.0.1:8765", "http://[::1]:8765"):
        assert TestClient(create_app(), base_url=host).get("/api/options").status_code == 200


def test_security_headers_and_no_store(client: TestClient) -> None:
    resp = client.get("/api/fit", params={"model": "llama3.1:8b", "this_machine": "true"})
    assert resp.headers["Cache-Control"] == "no-store"
    page = client.get("/")
    for name in ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"):
        assert name in page.headers
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_oversize_url_is_json_422(client: TestClient) -> None:
    resp = client.get("/api/fit?" + "&".join(f"hardware=3090&x{i}=" + "a" * 100 for i in range(100)))
    assert resp.status_code == 422 and resp.json()["error"].startswith("rigfit: error: request URL of")


@pytest.mark.parametrize(("params", "message"), [
    ([("model", "llama3.1:8b"), ("hardware", "3090"), ("ram", "0")], "system RAM must be between"),
    ([("model", "llama3.1:8b"), ("hardware", "3090"), ("engine", "vllm"), ("quant", "AWQ"), ("tensor_parallel", "0")],
     "tensor parallel size"),
    ([("model", "llama3.1:8b"), *[("hardware", "64x RTX 3090")] * 2], "at most 64 devices"),
])
def test_zero_and_oversized_requests(client: TestClient, params: list[tuple[str, str]], message: str) -> None:
    resp = client.get("/api/fit", params=params)
    assert resp.status_code == 422 and message in resp.json()["detail"]


def test_a_heavy_request_past_its_time_is_503(monkeypatch: pytest.MonkeyPatch) -> None:
    import rigfit.web.app as web

    monkeypatch.setattr(web, "HEAVY_SECONDS", 0.0)
    app = TestClient(create_app(), base_url="http://127.0.0.1:8765")
    resp = app.get("/api/fit", params={"model": "llama3.1:8b", "hardware": "3090", "curve": "true"})
    assert resp.status_code == 503 and "took longer than" in resp.json()["error"]
    assert app.get("/api/fit", params={"model": "llama3.1:8b", "quant": "Q4_K_M"}).status_code == 200


def test_mmproj_on_the_web(client: TestClient) -> None:
    ok = client.get("/api/fit", params={"model": "qwen3-vl-8b", "mmproj": "true"})
    assert ok.status_code == 200
    assert any(i["name"] == "vision encoder (mmproj)" for i in ok.json()["memory"]["items"])
    bad = client.get("/api/fit", params={"model": "llama3.1:8b", "mmproj": "true"})
    assert bad.status_code == 422 and "has no vision tower" in bad.json()["detail"]


def test_op_offload_on_the_web(client: TestClient) -> None:
    """op_offload=false is llama.cpp's --no-op-offload: the launch command says it, Ollama cannot honour it."""
    ok = client.get("/api/fit", params={"model": "gpt-oss-120b", "hardware": "RTX 3090", "op_offload": "false"})
    assert ok.status_code == 200 and ok.json()["placement"]["n_cpu_moe"] > 0
    bad = client.get("/api/fit", params={"model": "gpt-oss-120b", "hardware": "RTX 3090", "engine": "ollama",
                                         "op_offload": "false"})
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("Ollama has no setting for op offload")


def test_threads_on_the_web(client: TestClient) -> None:
    """threads is llama.cpp's -t: it reaches the launch settings; vLLM cannot honour it, 0 is out of range."""
    ok = client.get("/api/fit", params={"model": "llama3.1:8b", "hardware": "Ryzen 7 7700", "threads": "4"})
    assert ok.status_code == 200 and ok.json()["settings"]["n_threads"] == 4
    bad = client.get("/api/fit", params={"model": "llama3.1:8b", "hardware": "RTX 4090", "engine": "vllm",
                                         "threads": "4"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("vLLM has no setting for a CPU thread count")
    zero = client.get("/api/fit", params={"model": "llama3.1:8b", "threads": "0"})
    assert zero.status_code == 422 and "CPU threads must be between 1 and 1024" in zero.json()["detail"]


def test_n_cpu_moe_on_the_web(client: TestClient) -> None:
    """n_cpu_moe is llama.cpp's --n-cpu-moe: placed as asked; a dense model or an out-of-range count is a 422
    naming the parameter."""
    ok = client.get("/api/fit", params={"model": "gpt-oss-120b", "quant": "Q4_K_M", "hardware": "RTX 3090",
                                        "n_cpu_moe": "30"})
    assert ok.status_code == 200 and ok.json()["placement"]["n_cpu_moe"] == 30
    bad = client.get("/api/fit", params={"model": "gpt-oss-120b", "hardware": "RTX 3090", "n_cpu_moe": "99"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("the layers whose experts stay in RAM")
    dense = client.get("/api/fit", params={"model": "llama3.1:8b", "hardware": "RTX 3090", "n_cpu_moe": "3"})
    assert dense.status_code == 422 and "not a mixture-of-experts model" in dense.json()["detail"]
