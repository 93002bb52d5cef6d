from pathlib import Path

import numpy as np

from etl.config import Common, ExtractConfig
from etl.model.residuals import segment_positions, span_positions
from etl.stages.extract import segments_of

# "Person: Hi there\nAI: Hello" tokenised as words, with position 0 a special token (empty offsets).
OFFSETS = [(0, 0), (0, 6), (6, 7), (8, 10), (11, 16), (17, 19), (19, 20), (21, 26)]


def test_span_positions_pick_tokens_inside_the_spans_and_never_position_0():
    assert span_positions(OFFSETS, [(8, 16)], 8).tolist() == [3, 4]
    assert span_positions(OFFSETS, [(0, 26)], 8).tolist() == list(range(1, 8))
    assert span_positions(OFFSETS, [(21, 26), (8, 10)], 8).tolist() == [3, 7]
    assert span_positions(OFFSETS, [(30, 40)], 8).tolist() == []


def test_segment_positions_default_rule_starts_at_skip_tokens():
    positions = segment_positions([10, 3], 5, None, None)
    assert positions[0][0].tolist() == [5, 6, 7, 8, 9] and positions[1][0].tolist() == []
    assert segment_positions([4], 0, None, None)[0][0].tolist() == [1, 2, 3]


def test_segments_of_deflection_and_speaker_dialogues():
    spans = {
        "turns": [{"speaker": "Person", "start": 8, "end": 16}, {"speaker": "AI", "start": 21, "end": 26}],
        "masking_speaker": "Person",
    }
    import json

    deflection = {"corpus": "deflection_dialogue", "spans": json.dumps(spans)}
    config = ExtractConfig(Common("tiny-random", Path("lake")))
    assert segments_of(deflection, config) == [("masking", [(8, 16)])]
    spans["speakers"] = [{"name": "AI", "emotion": "calm"}, {"name": "Person", "emotion": "sad"}]
    speaker = {"corpus": "speaker_dialogue", "spans": json.dumps(spans)}
    assert segments_of(speaker, config) == [("speaker_0", [(21, 26)]), ("speaker_1", [(8, 16)])]
    assert segments_of({"corpus": "emotional_story", "spans": None}, config) == [("text", None)]


def test_short_texts_average_every_token_and_prompts_read_their_last_one():
    config = ExtractConfig(Common("tiny-random", Path("lake")))
    short = {"corpus": "short_text", "spans": None, "model_text": "on my way, ten minutes"}
    assert segments_of(short, config) == [("text", [(0, 22)])]
    prompt = {"corpus": "emotion_prompt", "spans": None, "model_text": "<user>Write.</user>\n"}
    assert segments_of(prompt, config) == [("last", [(19, 20)])]  # the closing newline, the 20th character
    assert np.array_equal(segment_positions([8], 50, [[[(8, 16)]]], [OFFSETS])[0][0], [3, 4])
