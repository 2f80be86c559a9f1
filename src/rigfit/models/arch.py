"""The architecture registry: per architecture, the layer kinds it has and the tensors each layer holds.

Keyed by llama.cpp's ``general.architecture`` (``src/llama-arch.cpp`` LLM_ARCH_NAMES), with the Hugging Face
``model_type`` values and ``architectures`` classes that map to it (transformers' configuration classes,
llama.cpp ``convert_hf_to_gguf.py`` ModelBase.register).  Tensor names and shapes follow ``gguf-py``
TENSOR_NAMES and ``src/llama-model.cpp`` ``load_tensors`` (ggml-org/llama.cpp, 2025-2026).  A name that is
not here is an error that lists the supported ones: rigfit never sizes an unknown network as a llama.

Recurrent state per sequence and layer is what llama.cpp's recurrent memory allocates (``llama_hparams::
n_embd_r`` / ``n_embd_s`` in src/llama-hparams.cpp; both rows f32 in llama-memory-recurrent.cpp):
conv state ``(d_conv - 1) * (d_inner + 2 * n_group * d_state)`` and SSM state ``d_state * d_inner``
(Mamba-2, Gated DeltaNet; Mamba-1 has no groups, n_group 0), or ``n_embd * (l_cache - 1)`` for LFM2's short
convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..errors import UnknownName


class Attention(StrEnum):
    GQA = "gqa"  # separate Q, K, V projections (MHA/GQA/MQA)
    FUSED_QKV = "fused_qkv"  # one QKV projection (Phi-3)
    GATED_Q = "gated_q"  # Q projection doubled to carry an output gate (Qwen3-Next, Qwen3.5)
    MLA = "mla"  # multi-head latent attention (DeepSeek V2/V3, Kimi K2)
    COMPRESSED = "compressed"  # one shared 512-wide KV head, sliding window + compressed memory (DeepSeek V4)


class Mixer(StrEnum):
    """The token mixer of a layer that keeps a fixed-size state instead of a KV cache."""

    GATED_DELTANET = "gated_deltanet"  # Qwen3-Next, Qwen3.5/3.6 linear attention
    MAMBA1 = "mamba1"  # Jamba's selective-scan layers (Mamba-1: x_proj, dt_proj, A per channel)
    MAMBA2 = "mamba2"  # Nemotron-H, Granite 4.0-H, Falcon-H1, Mamba-2
    SHORTCONV = "shortconv"  # LFM2 gated short convolutions
    KIMI_DELTA = "kimi_delta"  # Kimi Delta Attention (Kimi Linear): per-channel-decay gated delta rule


@dataclass(frozen=True, slots=True, kw_only=True)
class Arch:
    name: str  # llama.cpp general.architecture
    hf_types: tuple[str, ...] = ()  # config.json model_type values
    hf_classes: tuple[str, ...] = ()  # config.json architectures[0] values
    attention: Attention = Attention.GQA
    mixer: Mixer | None = None  # the recurrent layers' mixer, for hybrids
    fused_up_gate: bool = False  # one ffn_up holding gate and up (Phi-3)
    gated_ffn: bool = True  # SwiGLU gate + up + down; False: up + down only (Nemotron-H squared ReLU)
    post_norms: bool = False  # post-attention and post-FFN norms (Gemma 2/3)
    pre_norms: bool = True  # norms before attention and FFN (EXAONE 4 has only the post norms)
    attn_sinks: bool = False  # per-head attention sink logits (gpt-oss)
    attn_gate: bool = False  # a separate output-gate projection beside Q (attn_gate: AFMoE, Laguna)
    sinks_sliding_only: bool = False  # attention sinks on the sliding-window layers only (MiMo-V2)
    learned_positions: bool = False  # a position embedding table (position_embd: GPT-2)
    biases: bool = False  # biases on the norms and the FFN as well (GPT-2's LayerNorms and MLP)
    attn_out_bias: bool = False
    expert_bias: bool = False  # biases on the router and expert matrices (gpt-oss)
    expert_probs_bias: bool = False  # routing score correction bias (DeepSeek V3, GLM-4.5)
    shared_expert_gate: bool = False  # a sigmoid gate on the shared expert (Qwen2-MoE, Qwen3-Next)
    qk_norm: bool = False  # RMS norm of Q and K
    qk_norm_full: bool = False  # ... over all heads at once (OLMo 2, MiniMax M2), not per head
    ffn_norm: bool = True  # a norm before the FFN (Nemotron-H blocks have one norm each)
    ffn_norm_name: str = "ffn_norm"  # its GGUF name (gpt-oss: post_attention_norm, LLM_TENSOR_ATTN_POST_NORM)
    split_beta_alpha: bool = False  # Gated DeltaNet beta and alpha as two tensors (Qwen3.5), not ssm_ba
    parallel_mixer: bool = False  # every layer runs attention and the recurrent mixer side by side (Falcon-H1)
    mixer_norm: bool = True  # the Mamba-2 mixer's gated RMS norm (ssm_norm)
    altup: bool = False  # Gemma 3n's AltUp streams and LAuReL residual per layer (llama.cpp LLM_ARCH_GEMMA3N)
    attn_bias: bool = False  # default for configs that do not say (Qwen2: biases on Q, K, V)
    tied: bool = False  # default tie_word_embeddings
    swa_pattern: int = 0  # default sliding-window period (every n-th layer full)
    source: str = "llama.cpp src/llama-model.cpp load_tensors"


_LLAMA_CPP = "llama.cpp src/llama-model.cpp load_tensors"

REGISTRY: tuple[Arch, ...] = (
    # MobileLLM (Meta, 2024): Llama's layers under its own model_type, the head shared with the embedding
    # (share_embedding); llama.cpp loads it as a llama (output falls back to token_embd)
    Arch(name="llama", hf_types=("llama", "mistral", "mixtral", "mobilellm"),
         hf_classes=("LlamaForCausalLM", "MistralForCausalLM", "MixtralForCausalLM", "MobileLLMForCausalLM")),
    # Xiaomi MiMo: Qwen2's layers (Q/K/V biases) plus MTP heads
    Arch(name="qwen2", hf_types=("qwen2", "mimo"), hf_classes=("Qwen2ForCausalLM", "MiMoForCausalLM"),
         attn_bias=True),
    Arch(name="qwen2moe", hf_types=("qwen2_moe",), hf_classes=("Qwen2MoeForCausalLM",), attn_bias=True,
         shared_expert_gate=True),
    Arch(name="qwen2vl", hf_types=("qwen2_5_vl", "qwen2_vl"),
         hf_classes=("Qwen2_5_VLForConditionalGeneration", "Qwen2VLForConditionalGeneration"), attn_bias=True),
    Arch(name="qwen3", hf_types=("qwen3",), hf_classes=("Qwen3ForCausalLM",), qk_norm=True),
    Arch(name="qwen3moe", hf_types=("qwen3_moe",), hf_classes=("Qwen3MoeForCausalLM",), qk_norm=True),
    Arch(name="qwen3vl", hf_types=("qwen3_vl",), hf_classes=("Qwen3VLForConditionalGeneration",), qk_norm=True),
    Arch(name="qwen3vlmoe", hf_types=("qwen3_vl_moe",), hf_classes=("Qwen3VLMoeForConditionalGeneration",),
         qk_norm=True),
    Arch(name="qwen3next", hf_types=("qwen3_next",), hf_classes=("Qwen3NextForCausalLM",),
         attention=Attention.GATED_Q, mixer=Mixer.GATED_DELTANET, qk_norm=True, shared_expert_gate=True,
         ffn_norm_name="post_attention_norm"),
    Arch(name="qwen35", hf_types=("qwen3_5", "qwen3_5_text"),
         hf_classes=("Qwen3_5ForConditionalGeneration", "Qwen3_5ForCausalLM"),
         attention=Attention.GATED_Q, mixer=Mixer.GATED_DELTANET, qk_norm=True, ffn_norm_name="post_attention_norm",
         split_beta_alpha=True),
    Arch(name="qwen35moe", hf_types=("qwen3_5_moe", "qwen3_5_moe_text"),
         hf_classes=("Qwen3_5MoeForConditionalGeneration", "Qwen3_5MoeForCausalLM"),
         attention=Attention.GATED_Q, mixer=Mixer.GATED_DELTANET, qk_norm=True, shared_expert_gate=True,
         ffn_norm_name="post_attention_norm",
         split_beta_alpha=True),
    Arch(name="gemma", hf_types=("gemma",), hf_classes=("GemmaForCausalLM",), tied=True),
    Arch(name="gemma2", hf_types=("gemma2",), hf_classes=("Gemma2ForCausalLM",), post_norms=True, tied=True,
         swa_pattern=2),
    Arch(name="gemma3", hf_types=("gemma3", "gemma3_text"),
         hf_classes=("Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"), post_norms=True, qk_norm=True,
         tied=True, swa_pattern=6),
    # Gemma 4 12B ships as gemma4_unified (images and audio projected into the text model without an encoder
    # tower); its text model is Gemma 4's (transformers models/gemma4_unified, Gemma4UnifiedTextConfig: the same
    # keys, global_head_dim, num_global_key_value_heads, attention_k_eq_v, layer_types)
    Arch(name="gemma4", hf_types=("gemma4", "gemma4_text", "gemma4_unified", "gemma4_unified_text"),
         hf_classes=("Gemma4ForConditionalGeneration", "Gemma4ForCausalLM", "Gemma4UnifiedForConditionalGeneration"),
         post_norms=True, qk_norm=True, tied=True, swa_pattern=6),
    # Gemma 3n (2025): Gemma 3's attention with per-layer embeddings, KV sharing (only layers 0-19 own a
    # cache: llama.cpp hparams.n_layer_kv_from_start = 20), 4 AltUp streams and a rank-64 LAuReL block per
    # layer (src/llama-hparams.h n_altup, laurel_rank; src/llama-model.cpp load_tensors LLM_ARCH_GEMMA3N)
    Arch(name="gemma3n", hf_types=("gemma3n", "gemma3n_text"),
         hf_classes=("Gemma3nForConditionalGeneration", "Gemma3nForCausalLM"), post_norms=True, qk_norm=True,
         tied=True, swa_pattern=5, altup=True),
    Arch(name="phi3", hf_types=("phi3",), hf_classes=("Phi3ForCausalLM",), attention=Attention.FUSED_QKV,
         fused_up_gate=True),
    Arch(name="deepseek2", hf_types=("deepseek_v2", "deepseek_v3", "kimi_k2", "kimi_k25", "glm4_moe_lite"),
         hf_classes=("DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM", "Glm4MoeLiteForCausalLM"),
         attention=Attention.MLA, expert_probs_bias=True),
    # DeepSeek V3.2: V3's layers plus a lightning indexer per layer (index_n_heads x index_head_dim queries,
    # one index_head_dim key per token cached beside the MLA latent; DeepSeek-V3.2 tech report, 2025)
    # GLM-5 (glm_moe_dsa) is the same design: MLA with DeepSeek sparse attention's indexer, MoE with sigmoid routing
    Arch(name="deepseek32", hf_types=("deepseek_v32", "glm_moe_dsa"),
         hf_classes=("DeepseekV32ForCausalLM", "GlmMoeDsaForCausalLM"),
         attention=Attention.MLA, expert_probs_bias=True),
    Arch(name="gpt-oss", hf_types=("gpt_oss",), hf_classes=("GptOssForCausalLM",), attn_bias=True,
         attn_out_bias=True, attn_sinks=True, expert_bias=True, swa_pattern=2, ffn_norm_name="post_attention_norm"),
    Arch(name="llama4", hf_types=("llama4", "llama4_text"),
         hf_classes=("Llama4ForConditionalGeneration", "Llama4ForCausalLM"), swa_pattern=4),
    Arch(name="mistral3", hf_types=("mistral3", "ministral3"),
         hf_classes=("Mistral3ForConditionalGeneration", "Ministral3ForCausalLM")),
    # GLM-4.6V-Flash / GLM-4.1V (glm4v) and GLM-4.6V / 4.5V (glm4v_moe): GLM-4 9B's and GLM-4.5-Air's text
    # layers under a vision model's config (llama.cpp conversion/glm.py writes them as glm4 / glm4moe)
    Arch(name="glm4", hf_types=("glm4", "glm4v"), hf_classes=("Glm4ForCausalLM", "Glm4vForConditionalGeneration"),
         attn_bias=True, post_norms=True),
    Arch(name="glm4moe", hf_types=("glm4_moe", "glm4v_moe"),
         hf_classes=("Glm4MoeForCausalLM", "Glm4vMoeForConditionalGeneration"), attn_bias=True,
         expert_probs_bias=True),
    Arch(name="minimax-m2", hf_types=("minimax_m2",), hf_classes=("MiniMaxM2ForCausalLM",), qk_norm=True,
         qk_norm_full=True, expert_probs_bias=True),
    Arch(name="olmo2", hf_types=("olmo2", "olmo3"), hf_classes=("Olmo2ForCausalLM", "Olmo3ForCausalLM"),
         qk_norm=True, qk_norm_full=True),
    Arch(name="smollm3", hf_types=("smollm3",), hf_classes=("SmolLM3ForCausalLM",), tied=True),
    Arch(name="granite", hf_types=("granite",), hf_classes=("GraniteForCausalLM",), tied=True),
    Arch(name="granitehybrid", hf_types=("granitemoehybrid",), hf_classes=("GraniteMoeHybridForCausalLM",),
         mixer=Mixer.MAMBA2, tied=True),
    # Falcon-H1: attention and a Mamba-2 mixer in parallel in every layer, so every layer holds a KV cache
    # and a recurrent state (llama.cpp create_memory: filter_attn and filter_recr both true for FALCON_H1)
    Arch(name="falcon-h1", hf_types=("falcon_h1",), hf_classes=("FalconH1ForCausalLM",), mixer=Mixer.MAMBA2,
         parallel_mixer=True, mixer_norm=False),  # Falcon-H1 configs: mamba_rms_norm false
    # Jamba (AI21): Mamba-1 layers with one attention layer in 8 (attn_layer_period / offset) and MoE on every
    # other layer (expert_layer_period / offset); llama.cpp LLM_ARCH_JAMBA, a hybrid memory like Nemotron-H's
    Arch(name="jamba", hf_types=("jamba",), hf_classes=("JambaForCausalLM",), mixer=Mixer.MAMBA1),
    Arch(name="nemotron_h", hf_types=("nemotron_h",), hf_classes=("NemotronHForCausalLM",), mixer=Mixer.MAMBA2,
         gated_ffn=False, ffn_norm=False, expert_probs_bias=True),
    Arch(name="lfm2", hf_types=("lfm2",), hf_classes=("Lfm2ForCausalLM",), mixer=Mixer.SHORTCONV, qk_norm=True,
         tied=True),
    Arch(name="lfm2moe", hf_types=("lfm2_moe",), hf_classes=("Lfm2MoeForCausalLM",), mixer=Mixer.SHORTCONV,
         qk_norm=True, tied=True, expert_probs_bias=True),
    # DeepSeek V4 (2026; config keys of DeepseekV4ForCausalLM): a query LoRA, one shared KV head, grouped
    # low-rank output, per-head sinks, a 128-token window on every layer plus a compressed memory of the
    # context (compress_ratios: 4 = compressed-sparse with a lightning indexer, 128 = heavily compressed,
    # 0 = dense); hyper-connections (hc_mult) are a few thousand parameters per layer and left out
    Arch(name="deepseek4", hf_types=("deepseek_v4",), hf_classes=("DeepseekV4ForCausalLM",),
         attention=Attention.COMPRESSED, attn_sinks=True, expert_probs_bias=True),
    Arch(name="command-r", hf_types=("cohere",), hf_classes=("CohereForCausalLM",), tied=True, ffn_norm=False),
    Arch(name="phimoe", hf_types=("phimoe",), hf_classes=("PhiMoEForCausalLM",), attn_bias=True,
         attn_out_bias=True),
    Arch(name="cohere2", hf_types=("cohere2",), hf_classes=("Cohere2ForCausalLM",), tied=True, swa_pattern=4),
    Arch(name="seed_oss", hf_types=("seed_oss",), hf_classes=("SeedOssForCausalLM",), attn_bias=True),
    Arch(name="ernie4_5", hf_types=("ernie4_5",), hf_classes=("Ernie4_5ForCausalLM",), tied=True),
    Arch(name="ernie4_5-moe", hf_types=("ernie4_5_moe",), hf_classes=("Ernie4_5_MoeForCausalLM",)),
    # Hunyuan A13B (tencent, 2025): GQA with per-head Q/K norms, 64 routed experts plus one shared expert of
    # intermediate_size in every layer (llama.cpp LLM_ARCH_HUNYUAN_MOE; convert_hf_to_gguf HunYuanMoEModel
    # reads the per-layer lists moe_intermediate_size, moe_topk, num_shared_expert, which must be uniform)
    Arch(name="hunyuan-moe", hf_types=("hunyuan", "hunyuan_v1_moe"), hf_classes=("HunYuanMoEV1ForCausalLM",),
         qk_norm=True, tied=True),
    # OLMoE: a MoE without shared experts, Q/K norms over all heads (llama.cpp LLM_ARCH_OLMOE)
    Arch(name="olmoe", hf_types=("olmoe",), hf_classes=("OlmoeForCausalLM",), qk_norm=True, qk_norm_full=True),
    # Arcee AFM: a llama with an ungated ReLU^2 MLP (llama.cpp LLM_ARCH_ARCEE: ffn_up and ffn_down only)
    Arch(name="arcee", hf_types=("arcee",), hf_classes=("ArceeForCausalLM",), gated_ffn=False),
    # Arcee Trinity (AFMoE, 2025): GQA with per-head Q/K norms and a sigmoid output gate as wide as Q
    # (attn_gate), sandwich norms around attention and FFN, num_dense_layers dense layers then MoE with
    # num_shared_experts shared experts and a routing bias; sliding window on 3 of 4 layers (llama.cpp
    # LLM_ARCH_AFMOE, src/models/afmoe.cpp; conversion/afmoe.py)
    Arch(name="afmoe", hf_types=("afmoe",), hf_classes=("AfmoeForCausalLM",), qk_norm=True, post_norms=True,
         attn_gate=True, expert_probs_bias=True),
    # poolside Laguna (2026): query heads per layer (num_attention_heads_per_layer), 8 KV heads, per-head Q/K
    # norms and a softplus output gate (one per head when gating is per-head, else head_dim per head); a
    # dense first layer, then MoE with one ungated shared expert and a routing bias; sliding window 512
    # (llama.cpp LLM_ARCH_LAGUNA, PR #25165, src/models/laguna.cpp)
    Arch(name="laguna", hf_types=("laguna",), hf_classes=("LagunaForCausalLM",), qk_norm=True, attn_gate=True,
         expert_probs_bias=True),
    # Cohere North (Cohere2MoE, 2026): Cohere 2's parallel block (one norm, attention and FFN side by side),
    # tied head, sliding window on 3 of 4 layers; first_k_dense_replace dense layers prefix_dense_intermediate_size
    # wide, then routed experts of intermediate_size with sigmoid routing (llama.cpp LLM_ARCH_COHERE2MOE,
    # PR #24260, src/models/cohere2moe.cpp)
    Arch(name="cohere2moe", hf_types=("cohere2_moe",), hf_classes=("Cohere2MoeForCausalLM",), tied=True,
         ffn_norm=False, swa_pattern=4),
    # Tencent Hy3 (2026): GQA with per-head Q/K norms on every layer, a dense first layer, then 192 routed
    # experts (sigmoid routing with an expert bias) plus num_shared_experts shared experts (llama.cpp
    # LLM_ARCH_HY_V3, src/models/hy-v3.cpp)
    Arch(name="hy_v3", hf_types=("hy_v3",), hf_classes=("HYV3ForCausalLM",), qk_norm=True, expert_probs_bias=True),
    # inclusionAI Ling 2.0 / Ring 2.0 (BailingMoeV2; its config says model_type bailing_moe, as version 1's, so
    # the class decides): fused QKV with per-head Q/K norms, dense first layers, then MoE with shared experts
    # and a routing bias (llama.cpp LLM_ARCH_BAILINGMOE2, src/models/bailingmoe2.cpp)
    Arch(name="bailingmoe2", hf_types=("bailing_moe_v2",), hf_classes=("BailingMoeV2ForCausalLM",),
         attention=Attention.FUSED_QKV, qk_norm=True, expert_probs_bias=True),
    # StepFun Step 3.5 / 3.7 Flash: 64 query heads on full-attention layers and 96 on the 512-token sliding
    # ones (attention_other_setting), 8 KV heads, per-head Q/K norms and a per-head output gate, 3 dense
    # layers, then 288 experts with a shared one and a routing bias (llama.cpp LLM_ARCH_STEP35, PR #19283)
    Arch(name="step35", hf_types=("step3p5",), hf_classes=("Step3p5ForCausalLM",), qk_norm=True, attn_gate=True,
         expert_probs_bias=True),
    # Xiaomi MiMo-V2-Flash: 9 full-attention layers (4 KV heads) among 39 sliding-window ones (8 KV heads,
    # window 128, attention sinks), keys 192 wide and values 128, a dense first layer, then 256 experts with a
    # routing bias (llama.cpp LLM_ARCH_MIMO2, PR #18328)
    # Mistral Small 4 (2026): DeepSeek V2's MLA and MoE (q LoRA, 128 experts with a shared one, every layer
    # MoE, softmax routing without a correction bias) under a Mistral3ForConditionalGeneration wrapper whose
    # text_config says mistral4 (llama.cpp LLM_ARCH_MISTRAL4, PR #20649: deepseek2's tensors and graph)
    Arch(name="mistral4", hf_types=("mistral4",), attention=Attention.MLA),
    # LG EXAONE 4.0 / 4.5: Q/K norms and only post-attention and post-FFN norms, no pre-norms; the 32B
    # interleaves 3 sliding-window layers (4096) with a global one (llama.cpp LLM_ARCH_EXAONE4, PR #14630;
    # EXAONE 4.5's text model converts to it, its vision tower to an mmproj)
    Arch(name="exaone4", hf_types=("exaone4", "exaone4_5", "exaone4_5_text"),
         hf_classes=("Exaone4ForCausalLM", "Exaone4_5_ForConditionalGeneration"), qk_norm=True, post_norms=True,
         pre_norms=False, swa_pattern=4),
    # Tencent Hunyuan dense 0.5B-7B: qwen3's layers (Q/K norms after RoPE), tied head (llama.cpp
    # LLM_ARCH_HUNYUAN_DENSE, PR #14878)
    Arch(name="hunyuan-dense", hf_types=("hunyuan_v1_dense",), hf_classes=("HunYuanDenseV1ForCausalLM",),
         qk_norm=True, tied=True),
    # Moonshot Kimi Linear (2025): Kimi Delta Attention layers (q, k, v with short convolutions, low-rank decay
    # and output gates) and, every 4th layer or so, MLA without a query LoRA; a dense first layer, then MoE with
    # a shared expert and a routing bias (llama.cpp LLM_ARCH_KIMI_LINEAR, PR #18755; src/models/kimi-linear.cpp)
    Arch(name="kimi-linear", hf_types=("kimi_linear",), hf_classes=("KimiLinearForCausalLM",),
         attention=Attention.MLA, mixer=Mixer.KIMI_DELTA, expert_probs_bias=True),
    # GPT-2 (and small replicas such as the TinyStories GPT-2s): learned positions, LayerNorms with biases,
    # fused QKV and every projection with a bias, an ungated GELU MLP 4 x n_embd wide (llama.cpp
    # LLM_ARCH_GPT2, src/models/gpt2.cpp; conversion writes the head as output.weight although GPT-2 ties it)
    Arch(name="gpt2", hf_types=("gpt2",), hf_classes=("GPT2LMHeadModel",), attention=Attention.FUSED_QKV,
         gated_ffn=False, attn_bias=True, attn_out_bias=True, learned_positions=True, biases=True),
    Arch(name="mimo2", hf_types=("mimo_v2_flash",), hf_classes=("MiMoV2FlashForCausalLM",), attn_sinks=True,
         sinks_sliding_only=True, expert_probs_bias=True),
)
BY_NAME: dict[str, Arch] = {a.name: a for a in REGISTRY}
_BY_HF: dict[str, Arch] = {k: a for a in REGISTRY for k in (*a.hf_types, *a.hf_classes)}


def supported() -> list[str]:
    return [a.name for a in REGISTRY]


def get_arch(name: str) -> Arch:
    """The registered architecture ``name`` (a llama.cpp arch name); UnknownArchitecture otherwise."""
    arch = BY_NAME.get(name)
    if arch is None:
        raise UnknownArchitecture(name)
    return arch


def arch_of_type(model_type: str) -> Arch | None:
    """The architecture a config's ``model_type`` names, or None."""
    return _BY_HF.get(model_type) or BY_NAME.get(model_type)


def arch_for_config(model_type: str, hf_class: str = "") -> Arch:
    """The architecture a config.json names by its ``architectures`` class or ``model_type``."""
    arch = _BY_HF.get(hf_class) or arch_of_type(model_type)
    if arch is None:
        raise UnknownArchitecture(model_type or hf_class)
    return arch


class UnknownArchitecture(UnknownName):
    def __init__(self, value: str) -> None:
        super().__init__("architecture", value, supported(),
                         hint="supported: " + ", ".join(supported()))


def recurrent_state_bytes(*, d_conv: int, d_inner: int, d_state: int, n_group: int, l_cache: int = 0,
                          n_embd: int = 0) -> int:
    """f32 bytes of one sequence's state in one recurrent layer (llama_hparams::n_embd_r + n_embd_s)."""
    if l_cache:
        return 4 * n_embd * (l_cache - 1)
    conv = max(d_conv - 1, 0) * (d_inner + 2 * n_group * d_state)
    return 4 * (conv + d_state * d_inner)
