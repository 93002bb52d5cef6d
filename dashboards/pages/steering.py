"""Steering: add an emotion's vector to the residual stream, compare the continuations, and browse the sweep."""

from __future__ import annotations

import threading

import numpy as np
from dash import Input, Output, State, dcc, html

from dashboards.components import (
    GRAPH_CONFIG,
    card,
    empty_state,
    error_box,
    labelled,
    page_header,
    parse_probe_value,
    probe_controls,
    probe_state,
    register_probe_controls,
)
from dashboards.context import AppContext
from dashboards.live import LiveScores
from dashboards.pages import steering_sweep
from dashboards.permalink import encode, parse
from dashboards.tokens import p99, token_text
from etl.config.steer import OPERATORS
from etl.errors import EmolakeError

PATH = "/steering"
TITLE = "Steering"
PREFIX = "st"
KIND = "expression"
"""The kind whose probes pick the layer and emotion and trace the texts (`emolake steer` reads with it too); the
vector added is the steering recipe's (`etl.steering.recipe.kind_and_layer`), as in `emolake steer` and the API."""
EXAMPLE = "Write a short story about a man waiting for a train."
SIDE_BY_SIDE = {
    "display": "grid",
    "gridTemplateColumns": "minmax(0, 1fr) minmax(0, 1fr)",
    "gap": "1rem",
    "overflowWrap": "anywhere",
}
STRENGTH_MARKS = {v: f"{v:g}" for v in (-0.5, -0.25, 0, 0.25, 0.5, 0.75, 1.0)}
_steerers: dict[tuple[str, str], object] = {}
_steerers_lock = threading.Lock()


def layout(ctx: AppContext, query: str = ""):
    header = page_header(
        TITLE,
        "Add an emotion's probe vector to the residual stream at one layer and compare the continuation with the "
        "unsteered one from the same seed. Strength is a fraction of the layer's mean residual norm on neutral text.",
    )
    if not ctx.models_sources():
        return html.Div([header, empty_state("The lake has no probes yet.", ctx.reader.target("probes"))])
    state = {k: v for k, v in parse(query).items() if k != "kind"}
    return html.Div(
        [
            dcc.Location(id="st-url", refresh=False),
            dcc.Store(id="st-wanted-emotion", data=state.get("emotion")),
            header,
            probe_controls(ctx, PREFIX, show_kind=False, state=default_state(ctx) | state),
            html.Div(
                [
                    labelled("Emotion", dcc.Dropdown(id="st-emotion", clearable=False), "emotion"),
                    labelled(
                        "Operator",
                        dcc.RadioItems(
                            id="st-operator",
                            options=list(OPERATORS),
                            value=OPERATORS[0],
                            inline=True,
                            className="radio-inline",
                        ),
                        "operator",
                    ),
                    labelled("Seed", dcc.Input(id="st-seed", type="number", value=0, min=0, step=1), "seed"),
                ],
                className="controls-row",
            ),
            labelled(
                "Strength (fraction of the residual norm)",
                dcc.Slider(
                    id="st-strength",
                    min=-0.5,
                    max=1.0,
                    step=0.05,
                    value=float(state["strength"]) if is_number(state.get("strength")) else 0.2,
                    marks=STRENGTH_MARKS,
                ),
                "strength",
            ),
            dcc.Textarea(id="st-prompt", value=state.get("prompt", EXAMPLE), className="text-input", rows=2),
            html.Button("Steer", id="st-run", n_clicks=0, className="primary"),
            html.Div(id="st-status"),
            dcc.Loading(html.Div(id="st-result"), delay_show=300),
            card(
                "Sweep",
                steering_sweep.section(ctx),
                subtitle="From `steering_summary`, `steering_best` and `steering_judged` (`make steer`): judged "
                "success by strength and kind, the best setting per emotion, and the random and shuffled controls.",
            ),
        ]
    )


def default_layer(layers: list[int]) -> int | None:
    """The layer `emolake steer` steers by default (`etl.probes.policy.default_steering_layer`), or the nearest
    layer with probes; None without probes. The depth is read off the deepest probed layer."""
    from etl.probes.policy import default_steering_layer

    return default_steering_layer(max(layers) + 1, layers) if layers else None


def default_state(ctx: AppContext) -> dict:
    """The pickers' first values: the preferred probe set at the steering default layer."""
    model, source = ctx.models_sources()[0]
    return {"model": model, "source": source, "kind": KIND, "layer": default_layer(ctx.layers(model, source, KIND))}


def emotion_options(ctx: AppContext, value: str, layer: int | None) -> list[str]:
    """The emotions with an expression probe at the chosen layer."""
    if layer is None:
        return []
    model, source = parse_probe_value(value)
    return ctx.reader.values(
        "select emotion from probes where model = ? and source = ? and kind = ? and layer = ? order by emotion",
        [model, source, KIND, layer],
    )


def steerer_for(ctx: AppContext, model: str, source: str):
    """One Steerer per probe set, built on first use with the default preset's `[steer]` table (the steering recipe
    `emolake steer` and the API use); residual norms are read from the lake or measured in memory."""
    from etl.model.load import load
    from etl.probes.stored import pick_model
    from etl.steering.compare import Steerer
    from etl.steering.recipe import preset_config

    key = (model, source)
    with _steerers_lock:
        if key not in _steerers:
            _, spec = pick_model(ctx.reader.lake, model, source, KIND)
            config = preset_config("default", ctx.reader.lake, spec, source)
            _steerers[key] = Steerer(ctx.reader.lake, load(spec), config, store_norms=False)
        return _steerers[key]


def run_comparison(ctx: AppContext, value: str, layer, emotion, strength, operator, prompt, seed):
    """The paired comparison for one setting; holds the live scorer's model lock (hooks go on the shared model)."""
    from etl.steering.compare import Case, Setting, check_request
    from etl.steering.recipe import kind_and_layer

    if not prompt or not prompt.strip():
        raise EmolakeError("write a prompt to steer")
    if layer is None or not emotion:
        raise EmolakeError("pick a layer and an emotion")
    # Everything a request carries is checked here, before the model is loaded or its lock taken.
    strength = check_request(emotion, 0 if strength in (None, "") else strength, prompt)
    layer = whole_number(layer, "layer")
    seed = whole_number(seed or 0, "seed")
    model, source = parse_probe_value(value)
    layers = ctx.layers(model, source, KIND)
    if layer not in layers:
        raise EmolakeError(f"layer {layer} has no {KIND} probes for {model}: pick one of {layers}")
    steerer = steerer_for(ctx, model, source)
    kind, layer = kind_and_layer(ctx.reader.lake, steerer.loaded, steerer.config, layer=layer)
    setting = Setting(emotion, layer, strength, operator or OPERATORS[0], steerer.config.positions, kind)
    # The token viewer's forward passes must not run while steering hooks sit on the same model object.
    with ctx.scorer._lock:
        (result,) = steerer.run([(setting, Case(prompt.strip(), seed))])
    return result


def whole_number(value, name: str) -> int:
    """A non-negative whole number from a form field, or a one-line error naming the field."""
    try:
        number = int(str(value))
    except ValueError:
        raise EmolakeError(f"{name} {value!r} is not a whole number") from None
    if not 0 <= number < 2**32:
        raise EmolakeError(f"{name} {value!r}: use a whole number from 0 up")
    return number


def live_scores(output, emotions: list[str], layer: int) -> LiveScores | None:
    """A steered or baseline output as the token renderer's LiveScores (None when it has no scored token)."""
    if output.trace is None or not output.trace.tokens:
        return None
    return LiveScores(
        output.text, output.trace.tokens, output.trace.offsets, output.trace.scores[(KIND, layer)], emotions
    )


def trace_figure(result, layer: int):
    """The target probe's score token by token, baseline and steered."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for name, output in (("baseline", result.baseline), ("steered", result.steered)):
        scores = live_scores(output, result.emotions, layer)
        if scores is None:
            continue
        column = scores.scores[:, result.target]
        figure.add_trace(
            go.Scatter(
                x=list(range(len(column))),
                y=column,
                mode="lines+markers",
                name=name,
                text=scores.tokens,
                hovertemplate="%{text}<br>%{y:.2f}<extra>" + name + "</extra>",
            )
        )
    figure.update_layout(
        template="plotly_white",
        height=280,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        title={"text": f"{result.setting.emotion} probe per token (layer {layer})", "font": {"size": 12}},
        xaxis={"title": "output token"},
        yaxis={"title": "score"},
    )
    return figure


def judges_view(result, readings: dict[str, dict], judged: bool) -> html.Div:
    """Each pre-registered judge's reading of the target in both texts, beside the steered model's own probe."""
    header = html.Tr([html.Th(name) for name in ("reader", "reads", "baseline", "steered", "rose")])
    cells = [
        (name, reading["label"], reading["baseline"], reading["steered"], reading["agrees"])
        for name, reading in readings.items()
    ]
    own = (o.scores[result.target] for o in (result.baseline, result.steered))
    cells.append(("own probe (the steered model)", result.setting.emotion, *own, result.target_delta > 0))
    rows = [header] + [
        html.Tr(
            [
                html.Td(reader),
                html.Td(reads),
                html.Td(_reading(before)),
                html.Td(_reading(after)),
                html.Td("yes" if rose else "no"),
            ]
        )
        for reader, reads, before, after, rose in cells
    ]
    verdict = "judged success" if judged else "no judged success"
    return html.Div(
        [html.Table(rows, className="judges"), html.P(html.Strong(verdict), id="st-judged")], id="st-judges"
    )


def comparison_view(result, layer: int, judges: html.Div | None = None) -> html.Div:
    """Both texts side by side, coloured by the target probe, with the verdict, the judges and the traces."""
    columns = []
    both = [live_scores(o, result.emotions, layer) for o in (result.baseline, result.steered)]
    values = [s.scores[:, result.target] for s in both if s is not None]
    vmax = p99(np.concatenate(values)) if values else 1.0
    for name, output, scores in zip(("Baseline", "Steered"), (result.baseline, result.steered), both, strict=True):
        body = token_text(scores, result.setting.emotion, vmax) if scores is not None else "(empty output)"
        columns.append(
            card(
                name,
                html.Div(body, className="token-text", id=f"st-{name.lower()}-text"),
                subtitle=f"{result.setting.emotion} {output.scores[result.target]:+.2f} · "
                f"perplexity {output.perplexity:.1f} · repetition {output.repetition:.2f}",
            )
        )
    verdict = html.P(
        [
            html.Strong(f"regime: {result.regime}"),
            f" · target_delta {result.target_delta:+.2f} · perplexity ratio {result.perplexity_ratio:.2f}",
            " · own probe rose" if result.success else "",
        ],
        id="st-verdict",
    )
    return html.Div(
        [
            verdict,
            *([judges] if judges is not None else []),
            html.Div(columns, className="side-by-side", style=SIDE_BY_SIDE),
            card("Probe trace", dcc.Graph(figure=trace_figure(result, layer), config=GRAPH_CONFIG)),
        ]
    )


def register(app, ctx: AppContext) -> None:
    register_probe_controls(app, ctx, PREFIX, pick_layer=default_layer)

    @app.callback(
        Output("st-url", "search"),
        Input("st-probeset", "value"),
        Input("st-layer", "value"),
        Input("st-emotion", "value"),
        Input("st-strength", "value"),
        Input("st-run", "n_clicks"),
        State("st-prompt", "value"),
    )
    def remember(value, layer, emotion, strength, _clicks, prompt):
        """The steering setting as the URL query (a permalink)."""
        state = probe_state(value, KIND, layer) | {"emotion": emotion, "strength": strength, "prompt": prompt}
        return "?" + encode({k: v for k, v in state.items() if k != "kind"})

    @app.callback(
        Output("st-emotion", "options"),
        Output("st-emotion", "value"),
        Input("st-probeset", "value"),
        Input("st-layer", "value"),
        State("st-emotion", "value"),
        State("st-wanted-emotion", "data"),
    )
    def emotions_for(value, layer, current, wanted):
        options = emotion_options(ctx, value, layer)
        if current in options:
            return options, current
        if wanted in options:  # the permalink's emotion, on first draw
            return options, wanted
        return options, ("afraid" if "afraid" in options else (options[0] if options else None))

    @app.callback(
        Output("st-result", "children"),
        Output("st-status", "children"),
        Input("st-run", "n_clicks"),
        State("st-probeset", "value"),
        State("st-layer", "value"),
        State("st-emotion", "value"),
        State("st-strength", "value"),
        State("st-operator", "value"),
        State("st-prompt", "value"),
        State("st-seed", "value"),
        prevent_initial_call=True,
    )
    def steer(_clicks, value, layer, emotion, strength, operator, prompt, seed):
        from etl.api.steering import judge

        try:
            result = run_comparison(ctx, value, layer, emotion, strength, operator, prompt, seed)
        except EmolakeError as exc:
            return [], error_box(str(exc))
        surgical = result.regime == "surgical"
        readings, judged = judge(ctx.reader.lake, result.baseline.text, result.steered.text, emotion, surgical)
        steerer = steerer_for(ctx, *parse_probe_value(value))
        note = html.P(
            f"{emotion} x {float(strength or 0):+g} at layer {layer} ({operator}); outputs scored at layer "
            f"{steerer.score_layer}; norm {steerer.norms[int(layer)]:.1f}.",
            className="muted",
        )
        return comparison_view(result, steerer.score_layer, judges_view(result, readings, judged)), note


def is_number(value: str | None) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _reading(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"  # None: the judge found no word it knows
