import numpy as np

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
    assert segments_of(deflection, ("deflection_dialogue",)) == [("masking", [(8, 16)])]
    spans["speakers"] = [{"name": "AI", "emotion": "calm"}, {"name": "Person", "emotion": "sad"}]
    speaker = {"corpus": "speaker_dialogue", "spans": json.dumps(spans)}
    assert segments_of(speaker, ("speaker_dialogue",)) == [("speaker_0", [(21, 26)]), ("speaker_1", [(8, 16)])]
    assert segments_of({"corpus": "emotional_story", "spans": None}, ("speaker_dialogue",)) == [("text", None)]
    assert np.array_equal(segment_positions([8], 50, [[[(8, 16)]]], [OFFSETS])[0][0], [3, 4])
