"""Dashboard logic without a model or a browser: the read-only reader, rendering helpers and page callbacks."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_lake import put

from dashboards.context import AppContext
from dashboards.data import LakeReader, saved_queries
from dashboards.live import LiveScorer, LiveScores
from dashboards.pages import PAGES, emotion_map, modules, probe_quality, sql_console, token_viewer
from dashboards.tokens import colour, from_rows, heatmap_figure, p99, shown_emotions, span_table, token_text
from etl.errors import EmolakeError
from etl.generation.texts import to_table
from etl.lake import Lake
from etl.lake.schemas import PROBE_CENTERS, PROBES, fixed_vectors

EMOTIONS = ["afraid", "angry", "calm", "happy", "proud", "sad"]
HIDDEN = 8


def probe_table(vectors: np.ndarray) -> pa.Table:
    """Probe rows with the columns the `probes` view selects (values are placeholders but for the vectors)."""
    n = len(EMOTIONS)
    return pa.table(
        {
            "emotion": EMOTIONS,
            "vector": vectors.tolist(),
            "n_texts": [2] * n,
            "norm_kept": [1.0] * n,
            "baseline_corpora": ["neutral_story"] * n,
            "baseline_variance": [0.5] * n,
            "baseline_components": [1] * n,
            "variance_removed": [0.5] * n,
            "estimator": ["mean_diff"] * n,
            "expression_space_variance": [None] * n,
            "config_hash": ["test"] * n,
            "model_spec": ["tiny-random"] * n,
            "created_at": ["2026-01-01T00:00:00"] * n,
        },
        schema=PROBES,
    )


def build_lake(root, with_probes: bool = True) -> Lake:
    """Texts for six emotions, and (optionally) unit probes of two kinds at two layers plus their centres."""
    lake = Lake(root)
    rows = [
        {"text_id": f"{e}-{i}", "emotion": e, "topic": f"topic {i}", "text": f"A story {i} about being {e}."}
        for e in EMOTIONS
        for i in range(2)
    ]
    path = lake.partition("texts", source="reference", corpus="emotional_story") / "part-0.parquet"
    put(to_table(rows), path)
    if with_probes:
        rng = np.random.default_rng(0)
        for kind in ("expression", "deflection"):
            for layer in (1, 2):
                vectors = rng.normal(size=(len(EMOTIONS), HIDDEN)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                part = lake.partition("probes", model="tiny-random", source="reference", kind=kind, layer=layer)
                put(fixed_vectors(probe_table(vectors)), part / "part-0.parquet")
        for layer in (1, 2):
            # The schema the probes stage writes: the centre, the emotions it averages, the texts' median length.
            center = pa.table(
                {"vector": [[0.0] * HIDDEN], "n_emotions": [len(EMOTIONS)], "median_tokens": [40.0]},
                schema=PROBE_CENTERS,
            )
            put(
                fixed_vectors(center),
                lake.partition("probe_centers", model="tiny-random", source="reference", kind="expression", layer=layer)
                / "part-0.parquet",
            )
    return lake


@pytest.fixture
def ctx(tmp_path):
    lake = build_lake(tmp_path / "lake")
    return AppContext(LakeReader(lake), LiveScorer(lake))


@pytest.fixture
def bare_ctx(tmp_path):
    lake = build_lake(tmp_path / "lake", with_probes=False)
    return AppContext(LakeReader(lake), LiveScorer(lake))


def fake_scores(n_tokens: int = 5) -> LiveScores:
    text = " ".join(f"w{i}" for i in range(n_tokens + 1))
    offsets = [(3 * i, 3 * i + 2) for i in range(1, n_tokens + 1)]
    tokens = [text[a:b] for a, b in offsets]
    scores = np.arange(n_tokens * len(EMOTIONS), dtype=np.float32).reshape(n_tokens, len(EMOTIONS)) % 7 - 3
    return LiveScores(text, tokens, offsets, scores, list(EMOTIONS))


# the read-only reader


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("select * from read_csv('/etc/passwd')", "refused"),
        ("select * from read_text('/etc/hostname')", "refused"),
        ("select * from glob('/etc/*')", "refused"),
        ("copy (select 1) to '/tmp/emolake-console.csv'", "only read-only SELECT"),
        ("attach '/tmp/emolake-console.db'", "only read-only SELECT"),
        ("install httpfs", "only read-only SELECT"),
        ("set enable_external_access = true", "only read-only SELECT"),
        ("create table t as select 1", "only read-only SELECT"),
        ("select 1; drop view texts", "only read-only SELECT"),
        ("select 1; select 2", "one statement"),
        ("select * from query('create table t as select 1')", "single SELECT"),
        ("select * from query('copy (select 1) to ''/tmp/emolake-console.csv''')", "single SELECT"),
    ],
)
def test_console_refuses_everything_but_reading_the_views(ctx, sql, message):
    with pytest.raises(EmolakeError, match=message):
        ctx.reader.console(sql)


def test_console_reads_lake_files_but_no_file_outside_the_lake(ctx, tmp_path):
    inside = ctx.reader.lake.root.resolve() / "texts"
    assert ctx.reader.console(f"select count(*) as n from read_parquet('{inside}/**/*.parquet')").rows == [{"n": 12}]
    outside = tmp_path / "elsewhere.parquet"
    pq.write_table(pa.table({"secret": [1]}), outside)
    with pytest.raises(EmolakeError, match="refused"):
        ctx.reader.console(f"select * from read_parquet('{outside}')")
    with pytest.raises(EmolakeError, match="refused"):
        ctx.reader.console(f"select * from read_parquet('{inside}/../../elsewhere.parquet')")


def test_locked_configuration_cannot_be_reopened_even_by_trusted_code(ctx):
    import duckdb

    cursor = ctx.reader.cursor()
    with pytest.raises(duckdb.Error, match="locked"):
        cursor.execute("set enable_external_access = true")
    with pytest.raises(duckdb.Error):
        cursor.execute("select * from read_csv('/etc/passwd')")


def test_console_reads_views_with_a_row_limit(ctx):
    result = ctx.reader.console("select text_id from texts order by text_id", row_limit=5)
    assert result.columns == ["text_id"]
    assert len(result.rows) == 5 and result.truncated
    full = ctx.reader.console("select count(*) as n from stories")
    assert full.rows == [{"n": 12}] and not full.truncated


def test_console_stops_a_query_at_the_time_limit(ctx):
    with pytest.raises(EmolakeError, match=r"0\.2 s limit"):
        ctx.reader.console(
            "select count(*) from range(100000000) a, range(1000) b where a.range * b.range = 7", time_limit_s=0.2
        )


def test_console_names_the_target_of_an_empty_view(ctx):
    with pytest.raises(EmolakeError, match=r"no `evaluation_layers` yet: run `make evaluate`"):
        ctx.reader.console("select * from evaluation_layers")


def test_views_appear_when_their_data_does(bare_ctx, tmp_path):
    assert not bare_ctx.reader.has("probes")
    build_lake(tmp_path / "lake")
    assert "probes" in bare_ctx.reader.retry_missing()
    assert bare_ctx.reader.console("select count(*) as n from probes").rows == [{"n": 24}]


def test_saved_queries_are_read_with_their_descriptions():
    saved = {name: (description, sql) for name, description, sql in saved_queries()}
    assert "texts_per_corpus" in saved
    assert saved["texts_per_corpus"][0].startswith("how many texts")


# rendering


def test_colour_scale_saturates_at_the_99th_percentile():
    values = np.concatenate([np.linspace(-1, 1, 999), [50.0]])
    assert p99(values) < 2
    assert colour(100.0, 1.0) == colour(1.0, 1.0)
    assert colour(-0.5, 1.0).startswith("rgba(37, 99, 235")
    assert p99(np.zeros(0)) == 1.0


def test_ranks_and_span_ranking():
    scores = fake_scores()
    ranks = scores.ranks()
    assert (ranks.min(axis=1) == 1).all() and (ranks.max(axis=1) == len(EMOTIONS)).all()
    best = int(np.argmax(scores.scores[0]))
    assert ranks[0, best] == 1
    ranking = scores.span_ranking(3, 1)
    means = scores.scores[1:4].mean(axis=0)
    assert ranking[0] == (EMOTIONS[int(np.argmax(means))], pytest.approx(float(means.max())))
    assert [v for _, v in ranking] == sorted((v for _, v in ranking), reverse=True)


def test_token_text_reproduces_the_text_and_tags_each_token():
    scores = fake_scores()
    children = token_text(scores, "calm")
    assert "".join(c.children for c in children) == scores.text
    tagged = [c for c in children if c.className == "tok"]
    assert [getattr(c, "data-i") for c in tagged] == [str(i) for i in range(len(scores.tokens))]
    assert "rank" in tagged[0].title


def test_heatmap_shows_the_chosen_emotions_with_a_p99_scale():
    scores = fake_scores()
    figure = heatmap_figure(scores, ["sad", "calm"])
    trace = figure.data[0]
    assert list(trace.y) == ["sad", "calm"]
    assert trace.zmax == pytest.approx(p99(scores.scores[:, [5, 2]]))
    assert np.asarray(trace.z).shape == (2, len(scores.tokens))


def test_no_checked_emotion_means_the_texts_strongest():
    scores = fake_scores()
    assert shown_emotions(scores, ["calm", "unknown"]) == ["calm"]
    top = shown_emotions(scores, [])
    assert len(top) == len(EMOTIONS)
    peaks = scores.scores.max(axis=0)
    assert peaks[EMOTIONS.index(top[0])] == peaks.max()


def test_span_table_lists_the_span_and_its_ranking():
    table = span_table(fake_scores(), 1, 2)
    assert table.children[0].children[0].startswith("Tokens 1–2 (2)")


def test_scores_rows_round_trip_to_live_scores():
    scores = fake_scores(3)
    rows = [
        {
            "token_idx": i + 1,
            "token": t,
            "char_start": a,
            "char_end": b,
            "emotion": e,
            "score": float(scores.scores[i, j]),
        }
        for i, (t, (a, b)) in enumerate(zip(scores.tokens, scores.offsets, strict=True))
        for j, e in enumerate(EMOTIONS)
    ]
    back = from_rows(scores.text, rows[::-1])
    assert back.tokens == scores.tokens and back.offsets == scores.offsets
    np.testing.assert_array_equal(back.scores, scores.scores)


# pages


def test_pages_are_registered_once_with_unique_paths_and_ids(ctx):
    pages = modules()
    assert [p.__name__.rsplit(".", 1)[1] for p in pages] == list(PAGES)
    assert len({p.PATH for p in pages}) == len(pages)
    ids = []

    def collect(component):
        if getattr(component, "id", None) is not None:
            ids.append(str(component.id))
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if hasattr(child, "to_plotly_json"):
                collect(child)

    for page in pages:
        assert page.TITLE and callable(page.layout) and callable(page.register)
        collect(page.layout(ctx))
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("page", [token_viewer, emotion_map, probe_quality])
def test_pages_without_probes_name_the_make_target(bare_ctx, page):
    assert "make probes" in str(page.layout(bare_ctx))


def test_probe_quality_empty_states_name_make_evaluate(ctx):
    assert "make evaluate" in str(probe_quality.curves(ctx, "tiny-random", "expression", 1))
    assert "make evaluate" in str(probe_quality.logit_lens(ctx, {"model": "tiny-random"}))


def test_cosine_matrix_from_probes_is_symmetric_with_unit_diagonal(ctx):
    emotions, matrix, where = probe_quality.cosine_matrix(ctx, "tiny-random", "reference", "expression", 1)
    assert sorted(emotions) == EMOTIONS and "probes" in where
    np.testing.assert_allclose(np.diag(matrix), 1, atol=1e-5)
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-6)


def test_probe_controls_offer_every_kind_and_the_layers(ctx):
    assert ctx.kinds("tiny-random", "reference") == ["expression", "deflection"]
    assert ctx.layers("tiny-random", "reference", "deflection") == [1, 2]
    assert ctx.best_layer("tiny-random", "reference", "expression") == 2


def test_group_choice_checks_its_emotions():
    available = ["afraid", "angry", "calm", "happy", "proud", "sad"]
    assert token_viewer.group_selection("fear", available) == ["afraid"]
    assert token_viewer.group_selection("all", available) == available
    assert token_viewer.group_selection("top", available) == []


def test_emotion_options_are_the_probe_sets_emotions(ctx):
    options = token_viewer.emotion_options(ctx, "tiny-random|reference", "deflection", 2)
    assert sorted(o["value"] for o in options) == EMOTIONS


def test_map_falls_back_to_pca_oriented_by_valence(ctx):
    points, where = emotion_map.map_points(ctx, "tiny-random", "reference", "expression", 1)
    assert "PCA" in where and sorted(p["emotion"] for p in points) == EMOTIONS
    rated = [p for p in points if p["valence"] is not None]
    assert np.corrcoef([p["pc1"] for p in rated], [p["valence"] for p in rated])[0, 1] > 0
    assert {p["cluster"] for p in points} >= {"fear", "joy"}
    figure = emotion_map.map_figure(points, "cluster")
    assert sum(len(trace.x) for trace in figure.data) == len(EMOTIONS)


def test_map_detail_lists_neighbours_by_cosine(ctx):
    emotions, vectors = emotion_map.probe_matrix(ctx, "tiny-random", "reference", "expression", 1)
    near = emotion_map.neighbours(emotions, vectors, "calm", k=5)
    assert "calm" not in [e for e, _ in near] and len(near) == 5
    assert [c for _, c in near] == sorted((c for _, c in near), reverse=True)
    detail = str(emotion_map.detail(ctx, "tiny-random|reference", "expression", 1, "calm"))
    assert "A story 0 about being calm." in detail


def test_sql_console_callback_shows_rows_or_one_error_line(ctx):
    status, table = sql_console.run_query(ctx, "select emotion, count(*) as n from stories group by 1 order by 1")
    assert "6 rows" in status.children and len(table.data) == 6
    status, table = sql_console.run_query(ctx, "delete from texts")
    assert table is None and "only read-only SELECT" in status.children
    assert sql_console.to_csv(ctx, "select 1 as a, 'x' as b") == "a,b\n1,x\n"
    assert sql_console.cell(list(range(20))).endswith("(20 values)]")


def test_serve_listens_on_loopback_by_default_and_checks_its_arguments(cli, tmp_path):
    from etl.service.app import is_loopback

    args = serve_parser_defaults()
    assert (args.host, args.port) == ("127.0.0.1", 8050)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    code, _, err = cli("--lake", tmp_path, "serve", "--port", "0")
    assert code == 1 and "--port 0" in err
    code, _, err = cli("--lake", tmp_path, "serve", "--host", "example.org")
    assert code == 1 and "not an IP address" in err
    code, _, err = cli("--lake", tmp_path / "missing", "serve")
    assert code == 1 and "run `make all`" in err


def serve_parser_defaults():
    from etl.cli import parser

    return parser().parse_args(["serve"])


def test_generation_quality_copes_with_an_empty_rejects_view(ctx):
    from dashboards.pages import dataset
    from etl.lake.schemas import REJECT_SCHEMA

    path = ctx.reader.lake.partition("rejects", source="reference", corpus="emotional_story") / "part-0.parquet"
    put(to_table([], REJECT_SCHEMA), path)
    assert "rejects" in ctx.reader.retry_missing()
    parts = str(dataset.quality(ctx))
    assert "No texts were rejected" in parts and "emotional_story" in parts
