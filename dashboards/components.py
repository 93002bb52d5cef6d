"""Pieces several pages share: empty states, cards, table cell style, and the model/source, kind and layer pickers."""

from __future__ import annotations

from dash import Input, Output, dcc, html

from dashboards.context import AppContext

GRAPH_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "autoScale2d"]}


def cell_style(max_width: int | None = None) -> dict:
    """The DataTable cell style of every page; with `max_width`, long cells are cut with an ellipsis."""
    style = {"fontFamily": "inherit", "fontSize": 13, "textAlign": "left"}
    if max_width is not None:
        style |= {"maxWidth": max_width, "overflow": "hidden", "textOverflow": "ellipsis"}
    return style


def empty_state(what: str, target: str, element_id: str | None = None) -> html.Div:
    """A notice that names the command that fills what is missing."""
    props = {"id": element_id} if element_id else {}
    return html.Div(
        [html.Strong(f"{what} "), "Run ", html.Code(target), " to fill it, then reload this page."],
        className="empty-state",
        **props,
    )


def error_box(message: str) -> html.Div:
    return html.Div(message, className="error-box", role="alert")


def card(title: str, *children, subtitle: str | None = None, class_name: str = "") -> html.Section:
    header = [html.H3(title)] + ([html.P(subtitle, className="subtitle")] if subtitle else [])
    return html.Section([*header, *children], className=f"card {class_name}".strip())


def page_header(title: str, lead: str) -> html.Header:
    return html.Header([html.H2(title), html.P(lead, className="lead")], className="page-header")


def probe_value(model: str, source: str) -> str:
    return f"{model}|{source}"


def parse_probe_value(value: str | None) -> tuple[str, str]:
    model, _, source = (value or "|").partition("|")
    return model, source


def probe_controls(
    ctx: AppContext, prefix: str, show_kind: bool = True, show_layer: bool = True, state: dict | None = None
) -> html.Div:
    """Model/source dropdown, probe kind radio and layer dropdown, preset to the default probe set
    (`etl.probes.policy.default_set`) of the preferred model and source, as `score` and the API use.

    `state` (from a permalink, or a page's own default) may name `model`, `source`, `kind` and `layer`; a value the
    lake does not hold falls back to the default."""
    state = state or {}
    pairs = ctx.models_sources()
    wanted = (state.get("model"), state.get("source", ctx.source))
    model, source = wanted if wanted in pairs else pairs[0]
    kinds = ctx.kinds(model, source)
    kind = state.get("kind") if state.get("kind") in kinds else kinds[0]
    layers = ctx.layers(model, source, kind)
    best = ctx.best_layer(model, source, kind)
    wanted = int(state["layer"]) if str(state.get("layer", "")).isdigit() else None
    layer = wanted if wanted in layers else ctx.default_layer(model, source, kind)
    controls = [
        labelled(
            "Probes",
            dcc.Dropdown(
                id=f"{prefix}-probeset",
                options=[{"label": f"{m} · {s}", "value": probe_value(m, s)} for m, s in pairs],
                value=probe_value(model, source),
                clearable=False,
            ),
            "probeset",
        ),
        labelled(
            "Mode",
            dcc.RadioItems(id=f"{prefix}-kind", options=kinds, value=kind, inline=True, className="radio-inline"),
            "kind" if show_kind else "kind hidden",
        ),
        labelled(
            "Layer",
            dcc.Dropdown(id=f"{prefix}-layer", options=layer_options(layers, best), value=layer, clearable=False),
            "layer" if show_layer else "layer hidden",
        ),
    ]
    return html.Div(controls, className="controls-row")


def probe_state(value: str | None, kind: str | None, layer: int | None) -> dict:
    """The probe pickers' values as permalink state."""
    model, source = parse_probe_value(value)
    return {"model": model, "source": source, "kind": kind, "layer": layer}


def layer_options(layers: list[int], best: int | None) -> list[dict]:
    return [{"label": f"{layer} (best)" if layer == best else str(layer), "value": layer} for layer in layers]


def labelled(label: str, control, class_name: str = "") -> html.Div:
    return html.Div([html.Label(label), control], className=f"control {class_name}".strip())


def register_probe_controls(app, ctx: AppContext, prefix: str, pick_layer=None) -> None:
    """Keeps the kind and layer pickers of one page consistent with the chosen model/source; the kind and layer go to
    the default set's (`AppContext.default_layer`), or to `pick_layer(layers)` where a page defaults to another
    (steering)."""

    @app.callback(
        Output(f"{prefix}-kind", "options"),
        Output(f"{prefix}-kind", "value"),
        Input(f"{prefix}-probeset", "value"),
        prevent_initial_call=True,
    )
    def kinds_for(value):
        kinds = ctx.kinds(*parse_probe_value(value))
        return kinds, (kinds[0] if kinds else None)

    @app.callback(
        Output(f"{prefix}-layer", "options"),
        Output(f"{prefix}-layer", "value"),
        Input(f"{prefix}-probeset", "value"),
        Input(f"{prefix}-kind", "value"),
        prevent_initial_call=True,
    )
    def layers_for(value, kind):
        model, source = parse_probe_value(value)
        best = ctx.best_layer(model, source, kind)
        layers = ctx.layers(model, source, kind)
        chosen = pick_layer(layers) if pick_layer else ctx.default_layer(model, source, kind)
        return layer_options(layers, best), chosen
