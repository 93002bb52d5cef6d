"""A chat format for tokenizers that ship none: base models, and GGUF files without template metadata (the bundled
Gemma 3 270M is the base model, not the instruct one).

Every model is prompted through its chat template (`etl.model.generate.chat_prompt`: the instruction prompts, the
model's own stories, steering). A tokenizer without one gets plain `User:` / `Assistant:` lines at load time instead
of failing there. Tried on the bundled Gemma 3 270M (2026-12-07): under Gemma's own turn markers, which its base
model never learned, it repeated the request; under plain lines it answered in prose.
"""

from __future__ import annotations

import logging

log = logging.getLogger("emolake")

PLAIN_TURNS = (
    "{{ bos_token or '' }}{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def ensure_chat_format(tokenizer) -> bool:
    """Gives `tokenizer` the plain turn format when it has no chat template; returns whether it did."""
    if getattr(tokenizer, "chat_template", None):
        return False
    tokenizer.chat_template = PLAIN_TURNS
    log.info("the tokenizer has no chat template: using plain User:/Assistant: turns (etl/model/chat.py)")
    return True
