"""Tiny random models for tests: `tiny-random` (a Llama), `tiny-random-N` (N layers) and `tiny-random:<family>`.

Each is 64 wide with 4 layers unless told, seeded, and shares one byte tokenizer built in memory (`tiny_tokenizer`),
so one lake's texts tokenise the same way for all of them. Only the config differs: what each family's real models
do differently (fused qkv, learned positions, scaled and tied embeddings, soft-capping) is what the tests exercise.
"""

from __future__ import annotations

from etl.errors import EmolakeError

PREFIX = "tiny-random:"
WIDTH, LAYERS = 64, 4
# Llama-style keyword arguments; GPT-2 and GPT-NeoX take their own (see `_config`).
LLAMA_LIKE = {
    "llama": ("LlamaConfig", "LlamaForCausalLM"),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM"),
    "mistral": ("MistralConfig", "MistralForCausalLM"),
    "phi3": ("Phi3Config", "Phi3ForCausalLM"),
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM"),
    "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM"),
}
OTHERS = {
    "gpt2": ("GPT2Config", "GPT2LMHeadModel"),
    "gpt_neox": ("GPTNeoXConfig", "GPTNeoXForCausalLM"),
}
FAMILIES = {**LLAMA_LIKE, **OTHERS}

TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def is_family_spec(spec: str) -> bool:
    return spec.startswith(PREFIX)


def available() -> list[str]:
    """The families the installed transformers can build (Qwen3 and Gemma 3 need recent versions)."""
    import transformers

    return [name for name, (config, model) in FAMILIES.items() if hasattr(transformers, config)]


def tiny_family(spec: str):
    """Builds (model, tokenizer) for `tiny-random:<family>`: random weights from seed 0, fp32, eager attention."""
    import torch
    import transformers

    family = spec.removeprefix(PREFIX)
    if family not in available():
        raise EmolakeError(f"unknown tiny model family {family!r} in {spec!r}: use tiny-random:<one of {available()}>")
    config_name, model_name = FAMILIES[family]
    tokenizer = tiny_tokenizer()
    config = getattr(transformers, config_name)(**_config(family, tokenizer))
    # Eager attention everywhere: the tests compare padded batches with single texts, and eager is the one
    # implementation every family has (Gemma 2 soft-caps its attention logits, which SDPA cannot).
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    return getattr(transformers, model_name)(config).to(torch.float32), tokenizer


def _config(family: str, tokenizer) -> dict:
    """Config keyword arguments: 64 wide, 4 layers, 4 heads, the byte tokenizer's vocabulary and special tokens."""
    tokens = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    if family == "gpt2":
        return {**tokens, "n_embd": WIDTH, "n_layer": LAYERS, "n_head": 4, "n_positions": 1024}
    if family == "gpt_neox":
        return {
            **tokens,
            "hidden_size": WIDTH,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "max_position_embeddings": 1024,
            "rotary_pct": 0.25,
        }
    shape = {
        "hidden_size": WIDTH,
        "intermediate_size": 128,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 1024,
    }
    if family in ("gemma2", "gemma3", "qwen3"):
        shape["head_dim"] = 16
    if family in ("gemma2", "gemma3"):
        shape["sliding_window"] = 8  # short enough that the tests' texts cross it
    return {**tokens, **shape}


def tiny_tokenizer():
    """A byte-level tokenizer (256 byte tokens + specials) built in memory: no download, fully deterministic."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_tokens = pre_tokenizers.ByteLevel.alphabet()
    specials = ["<|pad|>", "<|bos|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
    vocab = {tok: i for i, tok in enumerate(specials + sorted(byte_tokens))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<|pad|>", bos_token="<|bos|>", eos_token="<|end|>"
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer


def tiny_random(layers: int = 4):
    """A 64-wide random Llama (4 layers unless told; `tiny-random-N` has N) with seed 0 and the byte tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config).to(torch.float32), tokenizer
