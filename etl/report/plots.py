"""The report's figures, each written as PNG (for the page) and SVG (zoomable), atomically.

Figures are built on matplotlib's object API (`Figure`, no pyplot state), so nothing depends on a display or on a
global backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from etl.lake import atomic_path

COLOURS = ("#1f77b4", "#d62728", "#9467bd", "#8c564b", "#17becf", "#e377c2")
SOURCE_STYLES = ("-", "--", ":", "-.")


def save(figure, directory: Path, stem: str) -> list[str]:
    """Writes `stem`.png and `stem`.svg into `directory`; returns their file names."""
    names = []
    for extension, options in (("png", {"dpi": 130}), ("svg", {})):
        final = directory / f"{stem}.{extension}"
        with atomic_path(final) as tmp:
            figure.savefig(tmp, format=extension, bbox_inches="tight", **options)
        names.append(final.name)
    return names


def new_figure(width: float, height: float, rows: int = 1, columns: int = 1):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots(rows, columns, squeeze=False)


def layer_curve(rows: list[dict], directory: Path) -> list[str]:
    """Held-out top-1 (thick) and top-5 (thin) per layer, colour by kind, line style by source; r below."""
    from matplotlib.ticker import MaxNLocator

    figure, axes = new_figure(9, 7.5, rows=2)
    accuracy, geometry = axes[0][0], axes[1][0]
    sources = sorted({r["source"] for r in rows}, key=lambda s: (s != "reference", s))
    kinds = sorted({r["kind"] for r in rows}, key=lambda k: (k != "expression", k))
    for s_index, source in enumerate(sources):
        style = SOURCE_STYLES[s_index % len(SOURCE_STYLES)]
        for k_index, kind in enumerate(kinds):
            colour = COLOURS[k_index % len(COLOURS)]
            series = sorted((r for r in rows if r["source"] == source and r["kind"] == kind), key=lambda r: r["layer"])
            layers = [r["layer"] for r in series]
            if any(r["top1"] is not None for r in series):
                top1 = [np.nan if r["top1"] is None else r["top1"] for r in series]
                top5 = [np.nan if r["top5"] is None else r["top5"] for r in series]
                accuracy.plot(layers, top1, style, color=colour, lw=2, label=f"{kind} top-1 ({source})")
                accuracy.plot(layers, top5, style, color=colour, lw=0.8, alpha=0.5, label=f"{kind} top-5 ({source})")
            if kind == "expression":
                for name, colour_r in (("pc1_valence_r", "#2ca02c"), ("pc2_arousal_r", "#ff7f0e")):
                    values = [np.nan if r.get(name) is None else r[name] for r in series]
                    geometry.plot(layers, values, style, marker="o", ms=3, color=colour_r, label=f"{name} ({source})")
    chance = [r["chance_top1"] for r in rows if r["kind"] == "expression" and r.get("chance_top1")]
    if chance:
        accuracy.axhline(min(chance), color="grey", lw=0.8, ls=":", label="chance (expression)")
    accuracy.set(ylabel="held-out accuracy", ylim=(0, 1.02), title="Held-out classification by layer (topics held out)")
    accuracy.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    geometry.set(
        xlabel="layer", ylabel="Pearson r", ylim=(-1, 1), title="Expression probes: PC1 vs valence, PC2 vs arousal"
    )
    geometry.axhline(0, color="grey", lw=0.5)
    geometry.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for ax in (accuracy, geometry):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    return save(figure, directory, "layer_curve")


def emotion_map(rows: list[dict], title: str, directory: Path) -> list[str]:
    """Probes on their PC1/PC2 plane, coloured by human valence rating (grey: unrated), every point labelled."""
    from matplotlib import colormaps

    figure, axes = new_figure(11, 8.5)
    ax = axes[0][0]
    rated = [r for r in rows if r["valence"] is not None]
    unrated = [r for r in rows if r["valence"] is None]
    ax.scatter([r["pc1"] for r in unrated], [r["pc2"] for r in unrated], c="#bbbbbb", s=14, label="no rating")
    points = ax.scatter(
        [r["pc1"] for r in rated],
        [r["pc2"] for r in rated],
        c=[r["valence"] for r in rated],
        cmap=colormaps["RdYlGn"],
        vmin=1,
        vmax=9,
        s=22,
        edgecolors="black",
        linewidths=0.3,
    )
    for r in rows:
        ax.annotate(r["emotion"], (r["pc1"], r["pc2"]), fontsize=5.5, xytext=(2, 2), textcoords="offset points")
    figure.colorbar(points, ax=ax, label="valence (Warriner et al. 2013, 1-9)")
    ax.axhline(0, color="grey", lw=0.4)
    ax.axvline(0, color="grey", lw=0.4)
    ax.set(xlabel="PC1 (oriented to valence)", ylabel="PC2 (oriented to arousal)", title=title)
    ax.legend(fontsize=7, loc="lower right")
    return save(figure, directory, "emotion_map")


def similarity_matrix(
    emotions: list[str], matrix: np.ndarray, title: str, directory: Path, boundaries: list[int] | None = None
) -> list[str]:
    """The probes' cosine matrix (already ordered by cluster), every emotion named on both axes.

    `boundaries`: row indices where a new cluster starts, drawn as thin lines.
    """
    n = len(emotions)
    size = max(6.0, min(20.0, n * 0.09))
    figure, axes = new_figure(size + 1.5, size)
    ax = axes[0][0]
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    for start in boundaries or []:
        ax.axhline(start - 0.5, color="black", lw=0.6)
        ax.axvline(start - 0.5, color="black", lw=0.6)
    font = max(2.5, min(8.0, 400 / max(n, 1)))
    ax.set_xticks(range(n), emotions, rotation=90, fontsize=font)
    ax.set_yticks(range(n), emotions, fontsize=font)
    ax.set_title(title)
    figure.colorbar(image, ax=ax, shrink=0.6, label="cosine")
    return save(figure, directory, "similarity_matrix")


def dose_curve(rows: list[dict], title: str, directory: Path) -> list[str]:
    """Change of each probe's score from the first (harmless) dose, per template: mean from the dose on, last token."""
    templates = sorted({r["template"] for r in rows})
    figure, axes = new_figure(10, 3.6 * len(templates), rows=len(templates))
    for ax, template in zip((row[0] for row in axes), templates, strict=True):
        series = [r for r in rows if r["template"] == template]
        doses = [d for _, d in sorted({(r["dose_index"], r["dose"]) for r in series})]
        for e_index, emotion in enumerate(sorted({r["emotion"] for r in series})):
            points = sorted((r for r in series if r["emotion"] == emotion), key=lambda r: r["dose_index"])
            colour = COLOURS[e_index % len(COLOURS)]
            x = [r["dose_index"] for r in points]
            for key, style, label in (
                ("score_mean", "-o", "mean from the dose on"),
                ("score_last", "--", "last token"),
            ):
                values = np.array([r[key] for r in points])
                ax.plot(x, values - values[0], style, color=colour, ms=3, lw=1.5, label=f"{emotion} ({label})")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xticks(range(len(doses)), doses, rotation=30, fontsize=7, ha="right")
        ax.set(ylabel="change from first dose", title=f"{template.replace('_', ' ')}: {title}")
        ax.legend(fontsize=7)
    axes[-1][0].set_xlabel("dose, harmless to dangerous")
    return save(figure, directory, "dose_curve")


def dose_by_layer(rows: list[dict], directory: Path) -> list[str]:
    """Spearman rho of each probe's score with the dose's rank, at every layer: does any layer track the danger?"""
    from matplotlib.ticker import MaxNLocator

    from etl.evaluation.stats import spearman

    templates = sorted({r["template"] for r in rows})
    figure, axes = new_figure(10, 3.2 * len(templates), rows=len(templates))
    for ax, template in zip((row[0] for row in axes), templates, strict=True):
        series = [r for r in rows if r["template"] == template]
        for e_index, emotion in enumerate(sorted({r["emotion"] for r in series})):
            colour = COLOURS[e_index % len(COLOURS)]
            layers = sorted({r["layer"] for r in series if r["emotion"] == emotion})
            for key, style, label in (
                ("score_mean", "-o", "mean from the dose on"),
                ("score_last", "--", "last token"),
            ):
                rho = []
                for layer in layers:
                    points = sorted(
                        (r for r in series if r["emotion"] == emotion and r["layer"] == layer),
                        key=lambda r: r["dose_index"],
                    )
                    rho.append(spearman([r["dose_index"] for r in points], [r[key] for r in points]))
                ax.plot(layers, rho, style, color=colour, ms=3, label=f"{emotion} ({label})")
        ax.axhline(0, color="grey", lw=0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(ylim=(-1.05, 1.05), ylabel="Spearman rho with dose", title=template.replace("_", " "))
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes[-1][0].set_xlabel("layer")
    return save(figure, directory, "dose_by_layer")


def scenario_matrix(scenarios: list[str], targets: list[str], z: np.ndarray, title: str, directory: Path) -> list[str]:
    """Scenario x target-emotion scores, z-scored within each scenario over all emotions; the diagonal is the target."""
    figure, axes = new_figure(8, 6.5)
    ax = axes[0][0]
    limit = float(np.nanmax(np.abs(z))) if z.size else 1.0
    image = ax.imshow(z, cmap="PuOr_r", vmin=-limit, vmax=limit)
    ax.set_xticks(range(len(targets)), targets, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(scenarios)), scenarios, fontsize=8)
    for i in range(len(scenarios)):
        for j in range(len(targets)):
            ax.text(j, i, f"{z[i, j]:.1f}", ha="center", va="center", fontsize=6)
    ax.set(xlabel="probe (target emotions)", ylabel="scenario", title=title)
    figure.colorbar(image, ax=ax, shrink=0.7, label="z-score within the scenario")
    return save(figure, directory, "scenario_matrix")


def deflection_curve(rows: list[dict], directory: Path) -> list[str]:
    """Mean matched cosine of deflection and expression probes per layer, beside the unmatched baseline."""
    figure, axes = new_figure(9, 3.8)
    ax = axes[0][0]
    for s_index, source in enumerate(sorted({r["source"] for r in rows})):
        series = sorted((r for r in rows if r["source"] == source), key=lambda r: r["layer"])
        colour = COLOURS[s_index % len(COLOURS)]
        layers = [r["layer"] for r in series]
        ax.plot(layers, [r["matched_cosine"] for r in series], "-o", ms=3, color=colour, label=f"{source} matched")
        raw = [np.nan if r.get("raw_matched_cosine") is None else r["raw_matched_cosine"] for r in series]
        if not np.all(np.isnan(raw)):
            ax.plot(layers, raw, "--s", ms=3, color=colour, label=f"{source} matched, before orthogonalisation")
        ax.plot(
            layers,
            [r["unmatched_abs_cosine"] for r in series],
            ":",
            color=colour,
            label=f"{source} |unmatched|",
        )
    ax.axhline(0.05, color="grey", lw=0.8, ls="--", label="paper: ~0.05")
    ax.set(xlabel="layer", ylabel="cosine", title="Deflection vs expression probes of the same emotion")
    ax.legend(fontsize=7)
    return save(figure, directory, "deflection")
