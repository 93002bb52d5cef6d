"""`emolake steer-sweep --preset P`: `emolake run steer` (the preset's steering grid -> `steering_runs`), then the
summary per setting."""

from __future__ import annotations

from etl.commands._common import add_preset_options

SUMMARY = """
select layer, emotion, strength, n_runs, round(success_rate, 2) as success, round(surgical_rate, 2) as surgical,
       round(repetitive_rate, 2) as repetitive, round(explosive_rate, 2) as explosive,
       round(mean_target_delta, 3) as target_delta, round(median_perplexity_ratio, 2) as ppl_ratio,
       leaves_surgical_at
from steering_summary where model = ? and sweep = ? order by layer, emotion, strength
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
    from etl.lake import Lake, views
    from etl.model.load import model_slug

    preset = load_preset(args.preset, lake=args.lake, model=args.model, overrides=args.overrides)
    runner.execute("steer", preset, force=args.force)
    catalog = views.connect(Lake(preset.common.lake))
    table = catalog.con.sql(SUMMARY, params=[model_slug(preset.common.model), preset.name]).to_arrow_table()
    print(format_table(table, "table"))
    overall = catalog.con.execute(
        "select count(*), avg(success::integer), avg((regime = 'surgical')::integer) from steering_runs "
        "where model = ? and sweep = ?",
        [model_slug(preset.common.model), preset.name],
    ).fetchone()
    print(
        f"steering sweep {preset.name!r}: {overall[0]} runs, success rate {overall[1]:.3f}, surgical {overall[2]:.3f}"
    )
