"""Fine-tuning memory and time: full fine-tune (mixed-precision AdamW), LoRA and QLoRA with
transformers + PEFT + bitsandbytes on CUDA/ROCm, and LoRA / QLoRA with Apple's mlx-lm.

Memory is itemized like inference memory (``memory.MemoryItem``):

* weights: the frozen or trained base; QLoRA keeps the linear layers in NF4 with double quantization
  (4 + 8/64 + 32/(64*256) = 4.127 bits, bitsandbytes ``functional.quantize_4bit`` blocksize 64) and PEFT's
  ``prepare_model_for_kbit_training`` casts every other 16-bit parameter (embeddings, lm_head, norms) to
  fp32; mlx-lm QLoRA trains adapters on an MLX 4-bit g64 base (4.5 bits, ``mlx.core.quantize``);
* trainable state: full fine-tune per the transformers guide ``model_memory_anatomy``: 6 B/param weights
  (16-bit + fp32 master), 4 B gradients, 8 B AdamW moments (2 B with 8-bit AdamW); LoRA adapters are fp32:
  4 B weight + 4 B gradient + 8 B AdamW = 16 B per adapter parameter (PEFT keeps adapter weights in fp32);
* activations: per layer, the tensors autograd keeps for a pre-norm SwiGLU block in 16-bit (adapted from
  Korthikanti et al. 2022, "Reducing Activation Recomputation", section 4.1, to GQA attention and a gated
  MLP); with gradient checkpointing only each layer's input (2*s*b*h bytes) is kept plus one layer being
  recomputed; without flash/SDPA attention the s^2 score and softmax matrices are kept too;
* logits: s*b*V for the bf16 logits, their fp32 upcast in the loss, the saved log-softmax and its
  gradient (2 + 4 + 4 + 4 B; transformers ``loss_utils.ForCausalLMLoss`` upcasts to fp32);
* runtime: CUDA context, cuBLAS workspace and kernels (about 1 GiB measured on PyTorch 2.x) and a 10 %
  allocator margin on everything that is allocated during the step.

Time per epoch = dataset tokens x FLOPs per token / (dense 16-bit tensor rate x utilization), FLOPs per
token from the 6N rule (Kaplan et al. 2020: forward 2N, backward 4N) with LoRA's backward needing only the
activation gradients (2N), plus one more forward when gradient checkpointing recomputes, plus causal
attention.  The utilization (model FLOPs utilization) is stated in every result: 0.35 for 16-bit
training on one CUDA GPU (the 30-35 % usual for single-GPU HF Trainer runs, as also used by ftune's
``core/time.py``), 0.25 for QLoRA (the NF4 dequantization in every matmul), 0.30 on Apple GPUs.
These are priors, not fitted: no public training-time table is in ``calibration/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .breakdown import MemoryItem, sum_items
from .errors import InvalidInput, UnknownName
from .hardware.spec import Device
from .models.spec import ModelSpec
from .models.tensor import Tensor
from .models.tensors import build_tensors
from .units import GIB
from .vocab import Component

METHODS = ("full", "lora", "qlora")
FRAMEWORKS = ("transformers", "mlx")
OPTIMIZERS = ("adamw", "adamw-8bit")
TARGETS = ("all-linear", "attention")
# LoRA targets by llama.cpp tensor name (PEFT "all-linear" = every nn.Linear in the blocks but lm_head;
# "attention" = q_proj + v_proj, PEFT's default for Llama-style models, peft/utils/constants.py).
_ALL_LINEAR = ("attn_q.", "attn_k.", "attn_v.", "attn_qkv.", "attn_output.", "attn_q_a.", "attn_q_b.",
               "attn_kv_a_mqa.", "attn_kv_b.", "ffn_gate.", "ffn_up.", "ffn_down.", "ffn_gate_exps.",
               "ffn_up_exps.", "ffn_down_exps.", "ffn_gate_shexp.", "ffn_up_shexp.", "ffn_down_shexp.",
               "ssm_in.", "ssm_out.")
_ATTENTION = ("attn_q.", "attn_v.", "attn_qkv.", "attn_q_b.", "attn_kv_b.")
NF4_DQ_BITS = 4 + 8 / 64 + 32 / (64 * 256)  # bitsandbytes NF4 with double quantization
MLX_4BIT_BITS = 4 + 2 * 16 / 64  # mlx.core.quantize: 4-bit, group 64, fp16 scale + bias
CUDA_RUNTIME_BYTES = 1 * GIB
MLX_RUNTIME_BYTES = GIB // 4
ALLOCATOR_MARGIN = 0.10
UTILIZATION = {("transformers", "full"): 0.35, ("transformers", "lora"): 0.35, ("transformers", "qlora"): 0.25,
               ("mlx", "full"): 0.30, ("mlx", "lora"): 0.30, ("mlx", "qlora"): 0.30}
MULTI_GPU_SCALING = 0.9  # data-parallel efficiency per extra GPU over PCIe (prior)


@dataclass(frozen=True, slots=True, kw_only=True)
class FineTune:
    method: str  # full | lora | qlora
    framework: str = "transformers"  # transformers (PyTorch + PEFT + bitsandbytes) | mlx (mlx-lm)
    lora_rank: int = 16
    lora_targets: str = "all-linear"
    seq_len: int = 2048
    micro_batch: int = 1
    gradient_checkpointing: bool = True
    flash_attention: bool = True
    optimizer: str = "adamw"
    dataset_tokens: int = 10_000_000
    epochs: int = 3


def check_finetune(ft: FineTune) -> None:
    for value, allowed, what in ((ft.method, METHODS, "fine-tune method"), (ft.framework, FRAMEWORKS, "framework"),
                                 (ft.optimizer, OPTIMIZERS, "optimizer"), (ft.lora_targets, TARGETS, "LoRA targets")):
        if value not in allowed:
            raise UnknownName(what, value, allowed)
    if ft.framework == "mlx" and ft.optimizer != "adamw":
        raise InvalidInput(f"8-bit AdamW is a bitsandbytes optimizer; mlx-lm has no {ft.optimizer!r}")
    for name, v, hi in (("LoRA rank", ft.lora_rank, 4096), ("sequence length", ft.seq_len, 1 << 20),
                        ("micro-batch", ft.micro_batch, 4096), ("epochs", ft.epochs, 1000),
                        ("dataset tokens", ft.dataset_tokens, 10**13)):
        if not 1 <= v <= hi:
            raise InvalidInput(f"{name} must be between 1 and {hi:,}, got {v}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingMemory:
    model: str
    finetune: FineTune
    items: tuple[MemoryItem, ...]
    params_total: int
    params_trainable: int
    notes: tuple[str, ...] = field(default=())

    def total(self, component: Component | None = None) -> int:
        return sum_items(self.items, component)

    @property
    def total_bytes(self) -> int:
        return self.total()


def _lora_params(tensors: tuple[Tensor, ...], rank: int, targets: str) -> int:
    prefixes = _ALL_LINEAR if targets == "all-linear" else _ATTENTION
    n = 0
    for t in tensors:
        if t.layer is None or not t.name.endswith(".weight") or len(t.shape) < 2:
            continue
        short = t.name.split(".", 2)[2]
        if short.startswith(prefixes):
            experts = t.shape[2] if len(t.shape) > 2 else 1
            n += experts * rank * (t.shape[0] + t.shape[1])  # A: r x in, B: out x r
    return n


def layer_activation_bytes(spec: ModelSpec, seq_len: int, batch: int, flash_attention: bool) -> int:
    """16-bit tensors autograd keeps for one pre-norm attention + SwiGLU block (see module docstring)."""
    h, q = spec.hidden_size, spec.n_heads * spec.head_dim
    kv = spec.n_kv_heads * spec.head_dim
    f = (spec.expert_ffn_size or spec.ffn_size) * max(1, spec.n_experts_active) if spec.is_moe else spec.ffn_size
    per_token = 2 * (4 * h + q + 2 * kv + 2 * q + 4 * f)  # norms/residual in, q k v, attn out, gate/up/act/prod
    out = seq_len * batch * per_token
    if not flash_attention:
        out += 4 * spec.n_heads * seq_len * seq_len * batch  # scores + softmax, 2 B each
    return out


def training_memory(spec: ModelSpec, ft: FineTune) -> TrainingMemory:
    check_finetune(ft)
    tensors = build_tensors(spec)
    linear = sum(t.n_elements for t in tensors if t.is_linear)
    total = sum(t.n_elements for t in tensors)
    other = total - linear
    s, b = ft.seq_len, ft.micro_batch
    items: list[MemoryItem] = []
    notes: list[str] = []
    add = items.append
    mlx = ft.framework == "mlx"
    if ft.method == "full":
        trainable = total
        add(MemoryItem(component=Component.WEIGHTS, name="weights (16-bit + fp32 master copy)", n_bytes=6 * total))
        add(MemoryItem(component=Component.GRADIENTS, name="gradients", n_bytes=4 * total))
        opt = 2 if ft.optimizer == "adamw-8bit" else 8
        add(MemoryItem(component=Component.OPTIMIZER, name=f"{ft.optimizer} moments", n_bytes=opt * total))
    else:
        trainable = _lora_params(tensors, ft.lora_rank, ft.lora_targets)
        if ft.method == "lora":
            add(MemoryItem(component=Component.WEIGHTS, name="frozen base (bf16)", n_bytes=2 * total))
        elif mlx:
            add(MemoryItem(component=Component.WEIGHTS, name="frozen base (MLX 4-bit g64)",
                           n_bytes=round(linear * MLX_4BIT_BITS / 8) + 2 * other))
        else:
            add(MemoryItem(component=Component.WEIGHTS, name="frozen base (NF4 + double quant)",
                           n_bytes=round(linear * NF4_DQ_BITS / 8)))
            add(MemoryItem(component=Component.WEIGHTS, name="embeddings, lm_head, norms (fp32)", n_bytes=4 * other,
                           note="prepare_model_for_kbit_training casts them to fp32"))
        add(MemoryItem(component=Component.WEIGHTS, name=f"LoRA adapters r={ft.lora_rank} (fp32)",
                       n_bytes=4 * trainable))
        add(MemoryItem(component=Component.GRADIENTS, name="adapter gradients (fp32)", n_bytes=4 * trainable))
        opt = 2 if ft.optimizer == "adamw-8bit" else 8
        add(MemoryItem(component=Component.OPTIMIZER, name=f"{ft.optimizer} moments", n_bytes=opt * trainable))
    one_layer = layer_activation_bytes(spec, s, b, ft.flash_attention)
    if ft.gradient_checkpointing:
        act = spec.n_layers * 2 * s * b * spec.hidden_size + one_layer
        add(MemoryItem(component=Component.ACTIVATIONS, name="activations (checkpointed)", n_bytes=act))
    else:
        add(MemoryItem(component=Component.ACTIVATIONS, name="activations", n_bytes=spec.n_layers * one_layer))
    logit_b = 6 if mlx else 14
    add(MemoryItem(component=Component.ACTIVATIONS, name="logits and loss",
                   n_bytes=s * b * spec.vocab_size * logit_b))
    step = (Component.ACTIVATIONS, Component.GRADIENTS, Component.OPTIMIZER)
    dynamic = sum(i.n_bytes for i in items if i.component in step)
    add(MemoryItem(component=Component.OVERHEAD,
                   name="runtime (CUDA context, kernels)" if not mlx else "runtime (Metal)",
                   n_bytes=MLX_RUNTIME_BYTES if mlx else CUDA_RUNTIME_BYTES))
    add(MemoryItem(component=Component.OVERHEAD, name="allocator margin (10% of step allocations)",
                   n_bytes=round(dynamic * ALLOCATOR_MARGIN)))
    if spec.is_moe:
        notes.append("MoE: every expert is held; activations counted for the active experts only")
    return TrainingMemory(model=spec.name, finetune=ft, items=tuple(items), params_total=total,
                          params_trainable=trainable, notes=tuple(notes))


def flops_per_token(spec: ModelSpec, ft: FineTune) -> float:
    """Training FLOPs per token: forward 2N + causal attention, backward 2x forward for full fine-tuning or
    1x for adapters (activation gradients only), one more forward with gradient checkpointing."""
    tensors = build_tensors(spec)
    n_matmul = sum(t.n_elements for t in tensors if t.is_linear and not t.name.startswith("token_embd"))
    if spec.is_moe:
        exp = sum(t.n_elements for t in tensors if "_exps" in t.name)
        n_matmul -= exp - exp * spec.n_experts_active // max(1, spec.n_experts)
    n_matmul += spec.hidden_size * spec.vocab_size  # lm_head (tied or not, it is a matmul)
    attn = 2 * spec.n_layers * spec.n_heads * spec.head_dim * ft.seq_len  # QK^T + AV, causal half of 2*2*s
    fwd = 2.0 * n_matmul + attn
    passes = (3.0 if ft.method == "full" else 2.0) + (1.0 if ft.gradient_checkpointing else 0.0)
    return fwd * passes


def device_training_tflops(device: Device) -> float | None:
    """Dense 16-bit matmul rate used for training: tensor-core BF16/FP16 (FP32 accumulate) on GPUs; Apple
    GPUs run FP16 at their FP32 rate (no separate matrix-unit figure before M5)."""
    return device.fp16_tflops or device.fp32_tflops


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingTime:
    tokens_per_s: float
    epoch_s: float
    total_s: float
    utilization: float
    tflops: float  # per device
    n_devices: int
    parallel: str  # single | data-parallel | layer-split


def training_time(spec: ModelSpec, ft: FineTune, device: Device, n_devices: int = 1,
                  parallel: str = "single") -> TrainingTime | None:
    rate = device_training_tflops(device)
    if rate is None:
        return None
    util = UTILIZATION[(ft.framework, ft.method)]
    per_dev = rate * 1e12 * util / flops_per_token(spec, ft)
    if parallel == "data-parallel":
        tps = per_dev * n_devices * (MULTI_GPU_SCALING if n_devices > 1 else 1.0)
    else:
        tps = per_dev  # a layer split runs the devices one after another
    epoch = ft.dataset_tokens / tps
    return TrainingTime(tokens_per_s=tps, epoch_s=epoch, total_s=epoch * ft.epochs, utilization=util,
                        tflops=rate, n_devices=n_devices, parallel=parallel)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingFit:
    memory: TrainingMemory
    fits: bool
    parallel: str  # single | data-parallel | layer-split | none
    per_device_bytes: int
    usable_bytes: int  # per device
    time: TrainingTime | None
    reason: str = ""


def fit_training(spec: ModelSpec, ft: FineTune, device: Device, usable_bytes: int, count: int = 1) -> TrainingFit:
    """Does the job fit ``count`` devices of one kind?  One device's worth of memory per copy
    (data parallel, DDP) when it fits one; otherwise the layers split over the devices as
    ``device_map="auto"`` does (weights and optimizer split; runtime on each)."""
    mem = training_memory(spec, ft)
    need = mem.total_bytes
    if need <= usable_bytes:
        par = "data-parallel" if count > 1 else "single"
        return TrainingFit(memory=mem, fits=True, parallel=par, per_device_bytes=need, usable_bytes=usable_bytes,
                           time=training_time(spec, ft, device, count, par))
    if count > 1 and ft.framework == "transformers":
        runtime = mem.total(Component.OVERHEAD)
        per = (need - runtime) // count + runtime
        if per <= usable_bytes:
            return TrainingFit(memory=mem, fits=True, parallel="layer-split", per_device_bytes=per,
                               usable_bytes=usable_bytes, time=training_time(spec, ft, device, count, "layer-split"))
    return TrainingFit(memory=mem, fits=False, parallel="none", per_device_bytes=need, usable_bytes=usable_bytes,
                       time=None, reason=f"needs {need / GIB:.1f} GiB, {count} x {usable_bytes / GIB:.1f} GiB usable")
