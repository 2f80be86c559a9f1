"""What a model is for: the tasks ``models --task`` filters on, from the catalog's facts.

vision: the config carries a vision tower (``vision_config``) or the architecture is a vision-language one;
code: a coding model (Qwen Coder, Codestral, Devstral, North Code); reasoning: a model trained to think before
answering (DeepSeek R1 and its distills, QwQ, Magistral, Phi-4 reasoning, gpt-oss, "Thinking" releases, Qwen3
and later hybrid thinking models); chat: every instruction-tuned model.  The code/reasoning lists are the
model families' own names for them (their model cards), matched on the catalog name.
"""

from __future__ import annotations

import re

from .spec import ModelSpec

TASKS = ("chat", "code", "reasoning", "vision")
_CODE = re.compile(r"coder|codestral|devstral|code-|codegemma|starcoder", re.I)
_REASONING = re.compile(r"(?:^|-)r1(?:-|$)|qwq|magistral|reasoning|thinking|gpt-oss|cogito|qwen3(?:\.\d)?-|"
                        r"glm-4\.[5-9]|deepseek-v3\.[12]|kimi-k2|minimax-m2|nemotron-3|seed-oss", re.I)
_VISION_ARCH = ("qwen2vl", "qwen3vl", "qwen3vlmoe", "llama4", "gemma4", "mistral3", "qwen35", "qwen35moe")
_BASE = re.compile(r"(?:^|-)(?:base|pt)(?:$|-)", re.I)


def tasks_of(spec: ModelSpec) -> frozenset[str]:
    name = spec.name
    out = set()
    if not _BASE.search(name) or "instruct" in name.lower():
        out.add("chat")
    if _CODE.search(name):
        out.add("code")
    if _REASONING.search(name):
        out.add("reasoning")
    if spec.has_vision or spec.arch in _VISION_ARCH or re.search(r"-vl-|vision|gemma-3-(?:4|12|27)b", name, re.I):
        out.add("vision")
    return frozenset(out)
