"""Names people type for 2026 models: fine-tunes and repackagings resolve to their base with a note, GGUF
file names give model and quant, unsloth's dynamic quants and gpt-oss's native MXFP4 (issue 15 items 2, 5)."""

from __future__ import annotations

import json

import pytest

import rigfit
from rigfit.errors import UnknownModel, UnknownQuant
from rigfit.models.resolve import resolve_model
from rigfit.quant import GGUF_FILE_TYPES, GGUFFileType, resolve_quant, split_gguf_name
from rigfit.request import Search
from tests.conftest import run_cli


@pytest.mark.parametrize(("typed", "base"), [
    ("bekoozkan/godot-gemma-4-e4b-it-GGUF", "gemma-4-E4B-it"),  # a fine-tune's GGUF repo
    ("sakamakismile/Huihui-Qwen3.6-27B-abliterated-NVFP4-MTP", "Qwen3.6-27B"),
    ("cyankiwi/gemma-4-26B-A4B-it-AWQ-4bit", "gemma-4-26B-A4B-it"),
    ("unsloth/Qwen3.6-35B-A3B-GGUF", "Qwen3.6-35B-A3B"),
    ("mradermacher/Qwen3.6-27B-i1-GGUF", "Qwen3.6-27B"),
    ("Qwen2.5 Coder 7B Instruct GGUF", "Qwen2.5-Coder-7B-Instruct"),
    ("DeepSeek R1 Distill Qwen 14B Uncensored", "DeepSeek-R1-Distill-Qwen-14B"),
    ("bartowski/nvidia_Nemotron-Cascade-2-30B-A3B-GGUF", "Nemotron-Cascade-2-30B-A3B"),
    ("Meta-Llama-3.1-8B-Instruct-4bit", "Llama-3.1-8B-Instruct"),
    ("unsloth/Phi-4-mini-reasoning-GGUF", "Phi-4-mini-reasoning"),  # no size in the name: an exact match
])
def test_a_fine_tune_resolves_to_its_base(typed: str, base: str) -> None:
    spec = resolve_model(typed, online=False)
    assert spec.name == base and spec.resolved_from == typed


# the catalog's [[derivatives]]: published models whose names do not contain their base's, each with the source
# that names the base (throughput_modern.csv runs them: BTL-4-Compact 75 rows, Qwythos 35, Ornith 59)
@pytest.mark.parametrize(("typed", "base"), [
    ("badtheorylabs/BTL-4-Compact", "Qwen3.5-35B-A3B"),  # BTL-4 <- Ornith 1.0 35B <- Qwen3.5-35B-A3B
    ("bartowski/badtheorylabs_BTL-4-GGUF", "Qwen3.5-35B-A3B"),
    ("empero-ai/Qwythos-9B-Claude-Mythos-5-1M-GGUF", "Qwen3.5-9B"),
    ("Qwythos-9B-Claude-Mythos-5-1M", "Qwen3.5-9B"),  # the repo's name without its organisation
    ("cyankiwi/Ornith-1.0-35B-AWQ-INT4", "Qwen3.5-35B-A3B"),
    ("agentica-org/DeepCoder-14B-Preview", "DeepSeek-R1-Distill-Qwen-14B"),
    ("Jackrong/Qwopus3.6-27B-v2-MTP-GGUF", "Qwen3.6-27B"),
    ("nemotron3:33b", "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"),  # Ollama's Nemotron 3 Nano Omni tag
])
def test_a_listed_derivative_resolves_to_its_base(typed: str, base: str) -> None:
    spec = resolve_model(typed, online=False)
    assert spec.name == base and spec.resolved_from == typed and spec.resolved_via.startswith("the model it is built")


def test_the_plan_says_which_base_a_derivative_runs_as(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "fit", "agentica-org/DeepCoder-14B-Preview", "-q", "Q4_K_M", "-H", "RTX 3080",
                           "--json")
    assert code == 0
    notes = json.loads(out)["placement"]["notes"]
    assert notes[0] == ("'agentica-org/DeepCoder-14B-Preview' is planned as DeepSeek-R1-Distill-Qwen-14B, the model "
                        "it is built on (a fine-tune of deepseek-ai/DeepSeek-R1-Distill-Qwen-14B (baseModel; its model "
                        "card's base_model)) (same architecture and size)")


@pytest.mark.parametrize(("table", "problem"), [
    ({"repo": "a/b", "base": "No-Such-Model", "source": "x", "as_of": "2026-12-02", "notes": "n"},
     r"derivatives\[0\]\.base"),
    ({"repo": "Qwen/Qwen3-8B", "base": "Qwen3-8B", "source": "x", "as_of": "2026-12-02", "notes": "n"},
     r"derivatives\[0\]\.repo"),
    ({"repo": "a/b", "base": "Qwen3-8B", "source": "x", "as_of": "someday", "notes": "n"}, r"derivatives\[0\]\.as_of"),
])
def test_a_bad_derivative_is_named(table: dict[str, str], problem: str) -> None:
    from rigfit.catalogdata import embedded
    from rigfit.errors import CatalogError
    from rigfit.models.catalog import parse_catalog

    data = dict(embedded("models"))
    data["derivatives"] = [table]
    with pytest.raises(CatalogError, match=problem):
        parse_catalog(data, "test", lazy=True)


@pytest.mark.parametrize("typed", ["Qwythos GGUF", "qwen9.9", "my-model-7b"])
def test_a_name_without_a_base_and_size_stays_unknown(typed: str) -> None:
    with pytest.raises(UnknownModel):
        resolve_model(typed, online=False)


def test_the_plan_names_the_base() -> None:
    r = rigfit.fit("bekoozkan/godot-gemma-4-e4b-it-GGUF", hardware=["RTX 3060"])
    assert r.placement is not None
    assert r.placement.notes[0] == ("'bekoozkan/godot-gemma-4-e4b-it-GGUF' is planned as gemma-4-E4B-it, the "
                                    "catalog model its name contains (same architecture and size)")


@pytest.mark.parametrize(("name", "model", "quant"), [
    ("Qwen3.6-35B-A3B-UD-Q4_K_XL.gguf", "Qwen3.6-35B-A3B", "UD-Q4_K_XL"),
    ("gemma-4-26B-A4B-it-qat-Q4_0.gguf", "gemma-4-26B-A4B-it-qat", "Q4_0"),
    ("Qwen3-235B-A22B-Q4_K_M-00001-of-00003.gguf", "Qwen3-235B-A22B", "Q4_K_M"),
    ("DeepSeek-V4-Flash-UD-IQ2_XXS.gguf", "DeepSeek-V4-Flash", "UD-IQ2_XXS"),
    ("gpt-oss-120b-MXFP4.gguf", "gpt-oss-120b", "MXFP4_MOE"),
    ("Llama-3.2-1B-Instruct-Q8_0.gguf", "Llama-3.2-1B-Instruct", "Q8_0"),
    ("readme.gguf", None, None),
])
def test_gguf_file_names(name: str, model: str | None, quant: str | None) -> None:
    got = split_gguf_name(name)
    assert got == ((model, quant) if model else None)
    if quant:
        assert quant in GGUF_FILE_TYPES


def test_a_gguf_file_name_plans_its_model_at_its_quant() -> None:
    r = rigfit.fit("Qwen3.6-35B-A3B-UD-Q4_K_XL.gguf")
    assert r.spec.name == "Qwen3.6-35B-A3B" and r.quant.name == "UD-Q4_K_XL"


# unsloth's gpt-oss-120b GGUF page lists F16 65.4 GB, Q8_0 63.4 GB, Q4_K_M 62.8 GB (the MXFP4 experts stay
# MXFP4 in every file): within 1 %.
@pytest.mark.parametrize(("quant", "gb"), [(None, 63.4), ("Q4_K_M", 62.8), ("Q8_0", 63.4), ("F16", 65.4)])
def test_gpt_oss_keeps_its_mxfp4_experts(quant: str | None, gb: float) -> None:
    r = rigfit.fit("gpt-oss:120b", quant=quant)
    assert r.memory.model_file_bytes / 1e9 == pytest.approx(gb, rel=0.01)
    if quant is None:
        assert r.quant.name == "MXFP4_MOE"


def test_unsloth_dynamic_names() -> None:
    assert GGUF_FILE_TYPES["Q4_K_XL"] is GGUF_FILE_TYPES["UD-Q4_K_XL"]
    ud = rigfit.fit("Qwen3-32B", quant="UD-Q4_K_XL").memory.model_file_bytes
    km = rigfit.fit("Qwen3-32B", quant="Q4_K_M").memory.model_file_bytes
    assert 1.0 < ud / km < 1.05  # unsloth's Qwen3-32B: UD-Q4_K_XL 20.0 GB, Q4_K_M 19.8 GB


@pytest.mark.parametrize(("name", "base"), [("UD-Q6_K", "Q6_K"), ("UD-Q3_K_M", "Q3_K_M"), ("UD-IQ4_NL", "IQ4_NL"),
                                           ("ud-iq4_xs", "IQ4_XS"), ("UD-Q4_K_XL-QAT", "Q4_K_M"),
                                           ("Q4_0-QAT", "Q4_0")])
def test_unsloth_plain_names_and_qat_files(name: str, base: str) -> None:
    """unsloth tags plain-typed files of its dynamic method UD- too (throughput_modern.csv: UD-Q6_K, UD-Q3_K_M,
    UD-IQ4_NL); a -QAT file (Gemma's quantization-aware checkpoints) has its type's layout."""
    q = resolve_quant(name)
    assert isinstance(q, GGUFFileType) and q.base == base


def test_ud_is_not_a_16_bit_prefix() -> None:
    with pytest.raises(UnknownQuant, match="unknown quantization 'UD-F16'"):
        resolve_quant("UD-F16")


def test_best_quant_skips_16_bit_for_q8_0() -> None:
    """llama.cpp's quantize table: Q8_0 is +0.0026 perplexity at Llama-3-8B; a search never settles on BF16
    when Q8_0 reaches the same verdict (half the bytes, about twice the decode speed)."""
    r = rigfit.fit("llama3.1:8b", hardware=["RTX 6000 Ada"], search=Search.BEST_QUANT)
    assert r.quant.name == "Q8_0" and r.placement is not None and r.placement.verdict == "gpu"


def test_a_q8_0_kv_cache_before_a_lower_weight_quant() -> None:
    """What a new user hit (issue 17 item 2): DeepSeek-R1-Distill-Qwen-32B at 32k on a 4090 stays on the GPU
    at Q4_K_M with a q8_0 KV cache (about 38 tok/s) instead of dropping its weights below Q4_K_M; asking for
    an f16 cache keeps that choice."""
    r = rigfit.fit("deepseek-r1:32b", hardware=["RTX 4090"], context_tokens=32768, search=Search.BEST_QUANT)
    assert (r.quant.name, r.memory.run.kv_cache_type) == ("Q4_K_M", "q8_0")
    assert r.placement is not None and r.placement.verdict == "gpu" and r.speed is not None
    assert r.speed.decode_tokens_per_s == pytest.approx(38, rel=0.1)
    f16 = rigfit.fit("deepseek-r1:32b", hardware=["RTX 4090"], context_tokens=32768, kv_cache_type="f16",
                     search=Search.BEST_QUANT)
    assert f16.memory.run.kv_cache_type == "f16" and f16.quant.name != "Q4_K_M"


@pytest.mark.parametrize(("text", "n"), [("7B", 7_000_000_000), ("30b", 30_000_000_000), ("500M", 500_000_000),
                                         ("1.5T", 1_500_000_000_000), ("123", 123)])
def test_parameter_counts_as_typed(text: str, n: int) -> None:
    from rigfit.options import parse_params

    assert parse_params(text) == n


@pytest.mark.parametrize("text", ["7Q", "", "-1B", "1e9", "x" * 100])
def test_bad_parameter_counts_are_one_line(text: str) -> None:
    from rigfit.errors import InvalidInput
    from rigfit.options import parse_params

    with pytest.raises(InvalidInput):
        parse_params(text)


def test_what_runs_by_task_and_size_most_useful_first() -> None:
    """Usable speed (10 tok/s, the chat workload's minimum) first, then the most capable (dense-equivalent
    parameters x the quant's kept quality), then the fastest."""
    from rigfit.api import resolve_hardware, what_runs
    from rigfit.models.tasks import tasks_of
    from rigfit.quality import relative_loss
    from rigfit.ranking import USABLE_TOKENS_PER_S, dense_equivalent_params

    runs = what_runs(resolve_hardware(["RTX 3090"]), task="code", min_params=7_000_000_000)
    assert runs and all("code" in tasks_of(r.spec) and (r.spec.params_total or 0) >= 7e9 for r in runs)
    usable = [r for r in runs if r.placement and r.placement.verdict == "gpu" and r.speed
              and r.speed.decode_tokens_per_s >= USABLE_TOKENS_PER_S]
    scores = [dense_equivalent_params(r.spec) * (1 - (relative_loss(r.quant.name) or 0)) for r in usable]
    assert scores == sorted(scores, reverse=True) and usable[0].spec.name == "Qwen2.5-Coder-32B-Instruct"


def test_moe_counts_as_the_geometric_mean() -> None:
    from rigfit.models.resolve import resolve_model
    from rigfit.ranking import dense_equivalent_params

    mixtral = resolve_model("Mixtral-8x7B-Instruct-v0.1")
    assert dense_equivalent_params(mixtral) == pytest.approx((46.7e9 * 12.9e9) ** 0.5, rel=0.02)


def test_a_usable_offload_at_the_usual_quant_beats_a_gpu_plan_at_iq2() -> None:
    """Qwen3.6-35B-A3B at 32k on a 12 GB RTX 4070 fits the GPU only at IQ2_M (perplexity +64 % on llama.cpp's
    table); Q4_K_M with the first layers' experts in RAM still decodes well above 10 tok/s, so it wins."""
    r = rigfit.fit("qwen3.6:35b-a3b", hardware=["RTX 4070"], ram_bytes=32 << 30, context_tokens=32768,
                   search=Search.BEST_QUANT)
    assert r.quant.name == "Q4_K_M" and r.placement is not None and r.placement.verdict == "partial_offload"
    assert r.placement.n_cpu_moe > 0 and r.speed is not None and r.speed.decode_tokens_per_s >= 10


def test_a_model_published_in_mxfp4_plans_at_it() -> None:
    r = rigfit.fit("gpt-oss:120b", hardware=["DGX Spark"], search=Search.BEST_QUANT)
    assert r.quant.name == "MXFP4_MOE" and r.placement is not None and r.placement.verdict == "gpu"


@pytest.mark.parametrize(("typed", "base"), [
    ("hf.co/unsloth/Qwen3-8B-GGUF:Q4_K_M", "Qwen3-8B"),  # Ollama's Hugging Face pull syntax
    ("huggingface.co/unsloth/gemma-3-27b-it-GGUF:Q8_0", "gemma-3-27b-it"),
    ("hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF", "Llama-3.2-3B-Instruct"),
    ("mistral-small3.2:24b", "Mistral-Small-3.2-24B-Instruct-2506"),  # a known name with its size as the tag
    ("olmo-3:32b", "Olmo-3-1125-32B"),  # a family and its size: the catalog model of that family at that size
    ("olmo-3.1:32b", "Olmo-3.1-32B-Instruct"),
    ("north-mini-code-1.0:mlx-nvfp4", "North-Mini-Code-1.0"),  # a tag of format words only: the model's one size
    ("laguna-xs-2.1:mxfp8", "Laguna-XS-2.1"),
])
def test_pull_names_and_sized_tags(typed: str, base: str) -> None:
    spec = resolve_model(typed, online=False)
    assert spec.name == base and spec.resolved_from == typed


def test_a_tag_of_another_size_stays_unknown() -> None:
    with pytest.raises(UnknownModel):
        resolve_model("mistral-small3.2:7b", online=False)  # no 7B Mistral Small 3.2
    with pytest.raises(UnknownModel):
        resolve_model("olmo-3:70b", online=False)  # no 70B Olmo 3


@pytest.mark.parametrize("engine", ["llama.cpp", "ollama"])
def test_a_pull_name_plans_its_own_file(capsys: pytest.CaptureFixture[str], engine: str) -> None:
    code, out, _ = run_cli(capsys, "fit", "hf.co/unsloth/Qwen3-8B-GGUF:Q4_K_M", "-e", engine, "-H", "RTX 4090",
                           "--json")
    assert code == 0 and json.loads(out)["quant"] == "Q4_K_M"


# Ollama's MLX tags (qwen3.6:27b-mlx, north-mini-code-1.0:mlx-mxfp8, gemma4:12b-nvfp4) are safetensors models its
# MLX runner serves on Apple silicon (Ollama 0.19 and later), not GGUF files for its llama.cpp: they plan on that
# runner (engine "ollama-mlx") in the mode the tag names, a plain -mlx tag in NVFP4; a tag of format words only
# is the model's one size; the same model's GGUF tag stays on llama.cpp; on a GPU the runner does not serve it is
# one line (exit 2).
@pytest.mark.parametrize(("tag", "quant"), [
    ("qwen3.6:27b-mlx", "OLLAMA-NVFP4"), ("north-mini-code-1.0:mlx-mxfp8", "OLLAMA-MXFP8"),
    ("gemma4:e4b-mlx", "OLLAMA-NVFP4"), ("laguna-xs-2.1:nvfp4", "OLLAMA-NVFP4"), ("qwen3.6:27b-int4", "OLLAMA-INT4"),
])
def test_an_ollama_mlx_tag_plans_on_its_mlx_runner(capsys: pytest.CaptureFixture[str], tag: str, quant: str) -> None:
    code, out, _ = run_cli(capsys, "fit", tag, "-e", "ollama", "-H", "M4 Pro 48GB", "--json")
    d = json.loads(out)
    assert code == 0 and (d["engine"], d["quant"]) == ("ollama-mlx", quant)
    code, out, err = run_cli(capsys, "fit", tag, "-e", "ollama", "-H", "RTX 4090")
    assert code == 2 and out == ""
    assert err.strip() == ("rigfit: error: Ollama (MLX runner) does not run on NVIDIA GeForce RTX 4090 (cuda); it "
                           "runs on metal (--engine, --hardware)")
    code, out, _ = run_cli(capsys, "fit", "qwen3.6:27b", "-e", "ollama", "-H", "M4 Pro 48GB", "--json")
    assert code == 0 and (json.loads(out)["engine"], json.loads(out)["quant"]) == ("ollama", "Q4_K_M")


@pytest.mark.parametrize(("tag", "quant"), [("deepseek-r1:8b", "Q4_K_M"), ("deepseek-r1:8b-0528-qwen3-q8_0", "Q8_0")])
def test_ollama_s_deepseek_r1_8b_is_the_qwen3_distill(tag: str, quant: str) -> None:
    """Since May 2025 Ollama's deepseek-r1:8b is DeepSeek-R1-0528-Qwen3-8B (ollama.com/library/deepseek-r1), not the
    Llama-8B distill it first named; its explicit tags carry the quant."""
    r = rigfit.fit(tag, engine="ollama")
    assert r.spec.name == "DeepSeek-R1-0528-Qwen3-8B" and r.quant.name == quant


@pytest.mark.parametrize(("tag", "quant"), [("gemma3:27b-it-qat", "Q4_0"), ("gemma4:e4b-it-qat", "Q4_0"),
                                            ("gemma3:27b", "Q4_K_M"), ("gemma3:4b-it-q8_0", "Q8_0")])
def test_ollama_qat_tags_are_google_s_q4_0_files(tag: str, quant: str) -> None:
    """Ollama's -qat tags carry Google's quantization-aware-trained Q4_0 GGUFs (gemma-3-27b-it-qat-q4_0-gguf run as
    gemma3:27b-it-qat), not the library's Q4_K_M default; other tags keep their quant or the default."""
    assert rigfit.fit(tag, engine="ollama").quant.name == quant
