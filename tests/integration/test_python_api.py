"""The public Python API as a notebook uses it (only `import emolake`), and every block of docs/python.md run in
order against the tiny lake."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def test_a_notebook_session_uses_only_the_public_api(tiny_lake):
    import emolake

    lake = emolake.open(tiny_lake)
    one = lake.nearest("The storm took the roof and we ran.", k=3)
    assert len(one) == 3 and [m["score"] for m in one] == sorted((m["score"] for m in one), reverse=True)
    many = lake.nearest(["The storm took the roof and we ran.", "We won the final!"], k=2)
    assert len(many) == 2 and many[0] == lake.nearest("The storm took the roof and we ran.", k=2)

    stack = lake.probes()
    vectors = np.asarray(stack)
    assert vectors.ndim == 3 and vectors.shape[:2] == (len(stack.layers), len(stack.emotions))
    assert np.allclose(np.linalg.norm(vectors, axis=-1), 1, atol=1e-4)
    assert stack.metadata()["lake_run"]["run_key"]

    tokens = lake.score("I opened the letter and my hands shook.")
    assert set(tokens["emotion"].unique()) == set(stack.emotions) and tokens["token_idx"].min() == 1

    frame = lake.sql("select kind, count(*) as n from probes group by kind order by kind")
    assert frame.columns == ["kind", "n"] and frame.height >= 1
    assert lake.sql("select 1 as one", as_arrow=True).column_names == ["one"]

    with pytest.raises(emolake.EmolakeError, match="only read-only SELECT"):
        lake.sql("drop view texts")
    with pytest.raises(emolake.EmolakeError, match="--layer 999"):
        lake.nearest("some text", layer=999)


def test_steer_changes_the_model_inside_the_block_only(tiny_lake):
    import emolake
    import torch  # the test may use torch; the package keeps it inside etl.model

    lake = emolake.open(tiny_lake)
    with lake.steer("calm", strength=4.0, layer=1) as loaded:
        ids = loaded.tokenizer("The train was late again and", return_tensors="pt")
        with torch.no_grad():
            steered = loaded.model(**ids).logits
    with torch.no_grad():
        after = loaded.model(**ids).logits
    with lake.steer("calm", strength=0.0, layer=1), torch.no_grad():
        zero = loaded.model(**ids).logits
    assert not torch.allclose(steered, after) and torch.allclose(zero, after)


def test_every_block_of_docs_python_md_runs(tiny_lake, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    (tmp_path / "lake").symlink_to(tiny_lake)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMOLAKE_LAKE", raising=False)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert os.path.exists("lake")
