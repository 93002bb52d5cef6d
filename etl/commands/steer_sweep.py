"""`emolake steer-sweep --preset P`: `emolake run steer` (the preset's steering grid -> `steering_runs`), then the
summary per setting."""

from __future__ import annotations

from etl.commands._common import add_preset_options

SUMMARY = """
select kind, layer, emotion, strength, n_runs, round(judged_success_rate, 2) as judged,
       round(nrc_lexicon_success_rate, 2) as lexicon, round(tfidf_family_success_rate, 2) as tfidf,
       round(success_rate, 2) as own_probe, round(surgical_rate, 2) as surgical,
       round(repetitive_rate, 2) as repetitive, round(explosive_rate, 2) as explosive,
       round(mean_target_delta, 3) as target_delta, round(median_perplexity_ratio, 2) as ppl_ratio,
       leaves_surgical_at
from steering_summary where model = ? and sweep = ? order by kind, layer, emotion, strength
"""
OVERALL = """
select reader, n_runs, success_rate, success_low, success_high from steering_judged
where model = ? and sweep = ? and scope = 'overall' order by reader = 'judged' desc, reader = 'own_probe', reader
"""
CONTROLS = """
select kind, success_rate, success_low, success_high from steering_judged
where model = ? and sweep = ? and scope = 'kind' and reader = 'judged' and list_contains(?, kind) order by kind
"""


def register(subparsers) -> None:
    command = subparsers.add_parser("steer-sweep", help="steering sweep of a preset: fills steering_runs")
    add_preset_options(command)
    command.add_argument("--force", action="store_true", help="run even if an identical sweep already finished")
    command.set_defaults(handler=handle)


def handle(args) -> None:
    from etl import runner
    from etl.commands._tables import format_table
    from etl.config import load_preset
    from etl.config.steer import NULL_KINDS
    from etl.lake import Lake, views
    from etl.model.load import model_slug

    preset = load_preset(args.preset, lake=args.lake, model=args.model, overrides=args.overrides)
    runner.execute("steer", preset, force=args.force)
    catalog = views.connect(Lake(preset.common.lake))
    table = catalog.con.sql(SUMMARY, params=[model_slug(preset.common.model), preset.name]).to_arrow_table()
    print(format_table(table, "table"))
    key = [model_slug(preset.common.model), preset.name]
    surgical = catalog.con.execute(
        "select avg((regime = 'surgical')::integer) from steering_runs where model = ? and sweep = ? and not control",
        key,
    ).fetchone()[0]
    readers = catalog.con.execute(OVERALL, key).fetchall()
    rates = ", ".join(
        f"{'own probe' if reader == 'own_probe' else reader} {rate:.3f} ({low:.2f}-{high:.2f})"
        for reader, _, rate, low, high in readers[1:]
    )
    _, n, rate, low, high = readers[0]
    print(
        f"steering sweep {preset.name!r}: {n} runs, judged success rate {rate:.3f} (95% interval {low:.2f}-{high:.2f});"
        f" {rates}; surgical {surgical:.3f}"
    )
    controls = catalog.con.execute(CONTROLS, [*key, list(NULL_KINDS)]).fetchall()
    if controls:
        shown = ", ".join(f"{kind} {rate:.3f} ({low:.2f}-{high:.2f})" for kind, rate, low, high in controls)
        print(f"controls (null directions, judged success rate): {shown}")
