"""Batched sampling from a local causal LM with its chat template (left padding, attention mask, stop at EOS)."""

from __future__ import annotations


def chat_prompt(tokenizer, request: str) -> str:
    """The request wrapped in the model's chat template, ready for the assistant's answer."""
    messages = [{"role": "user", "content": request}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def sample(loaded, requests: list[str], max_new_tokens: int, temperature: float, seed: int) -> list[str]:
    """One sampled completion per request, in order, from a single padded batch."""
    import torch

    tokenizer, model = loaded.tokenizer, loaded.model
    prompts = [chat_prompt(tokenizer, r) for r in requests]
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = previous_side
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    torch.manual_seed(seed)
    with torch.inference_mode():
        output = model.generate(
            **batch,
            do_sample=True,
            temperature=temperature,
            top_p=0.95,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    new_tokens = output[:, batch["input_ids"].shape[1] :]
    return [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
