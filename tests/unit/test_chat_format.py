"""A tokenizer without a chat template (a base model, a GGUF without template metadata, as the bundled Gemma 3 270M)
gets plain User:/Assistant: turns at load time instead of failing at the first prompt; one with a template keeps it."""

from etl.model.chat import PLAIN_TURNS, ensure_chat_format
from etl.model.families import TINY_CHAT_TEMPLATE, tiny_tokenizer
from etl.model.generate import chat_prompt


def test_a_tokenizer_without_a_template_gets_plain_turns():
    tokenizer = tiny_tokenizer()
    tokenizer.chat_template = None
    assert ensure_chat_format(tokenizer)
    assert tokenizer.chat_template == PLAIN_TURNS
    assert chat_prompt(tokenizer, "Write a poem.") == "<|bos|>User: Write a poem.\n\nAssistant:"


def test_a_tokenizer_with_a_template_keeps_it():
    tokenizer = tiny_tokenizer()
    assert not ensure_chat_format(tokenizer)
    assert tokenizer.chat_template == TINY_CHAT_TEMPLATE
    assert chat_prompt(tokenizer, "hi") == "<|user|>hi<|end|><|assistant|>"
