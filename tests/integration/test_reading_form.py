"""A text written mostly in capitals is read in sentence case by every scorer (#22 item 5): `nearest` gives the
answer of the sentence-case text, and per-token scores keep the tokens and offsets of the text as given."""

import numpy as np
import pytest

from etl.lake import Lake
from etl.probes.scoring import open_scorer

pytestmark = pytest.mark.integration
SHOUTED, READ = (
    "I YELLED AT MY LITTLE SISTER AND NOW SHE IS CRYING.",
    "I yelled at my little sister and now she is crying.",
)


def test_nearest_reads_a_shouted_text_as_its_sentence_case(tiny_lake):
    scorer = open_scorer(Lake(tiny_lake))
    shouted, read = scorer.nearest([SHOUTED, READ], 6)
    assert shouted == read
    np.testing.assert_allclose(*scorer.vectors([SHOUTED, READ]), atol=1e-5)


def test_token_scores_keep_the_texts_own_characters(tiny_lake):
    from etl.model.load import load
    from etl.probes.stored import read_layers
    from etl.probes.token_scores import score_texts

    scorer = open_scorer(Lake(tiny_lake))
    probes = read_layers(
        Lake(tiny_lake), scorer.probe_set.model, "reference", [scorer.probe_set.kind], [scorer.probe_set.layer]
    )
    shouted, read = score_texts(load(scorer.model_spec), [SHOUTED, READ], probes)
    joined = "".join(shouted.tokens)
    assert len(joined) > 40 and SHOUTED.endswith(joined) and shouted.offsets == read.offsets
    key = (scorer.probe_set.kind, scorer.probe_set.layer)
    np.testing.assert_allclose(shouted.scores[key], read.scores[key], atol=1e-4)
