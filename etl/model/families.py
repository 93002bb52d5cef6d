"""Tiny random models of every major decoder-only family, for tests: `tiny-random:<family>`.

Each is 64 wide with 4 layers, seeded, and shares the byte tokenizer of `tiny-random` (`etl.model.load.tiny_tokenizer`),
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

    from etl.model.load import tiny_tokenizer

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
