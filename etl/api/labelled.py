"""The methods of `EmoLake` that write to the lake what a user's texts give: per-token scores (`emolake score`),
a validation on their labels (`emolake validate`) and probes adapted to them (`emolake adapt`). Each one delegates
to the library function that does the work and lands the rows; this module only names the arguments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from etl.api.answers import LabelledRun, check_texts, text_list
from etl.config.runner import RunnerConfig
from etl.errors import EmolakeError
from etl.lake import Lake


class LabelledMethods:
    """Mixed into `EmoLake` (etl/api/facade.py), whose lake, model and source they use."""

    lake: Lake
    source: str
    _model: str | None

    def write_scores(
        self,
        texts: Sequence[str],
        ids: Sequence[str] | None = None,
        id_column: str | None = None,
        kinds: Sequence[str] | None = None,
        layers: Sequence[int] | None = None,
        batch_tokens: int = 8192,
        runner: RunnerConfig | None = None,
    ):
        """Scores `texts` with every kind at every layer asked for (default: the default probe set) and writes one
        row per text, token and emotion to the lake's `scores` dataset in one commit, replacing earlier rows of the
        same text ids (`etl.probes.scores_dataset.score_into_lake`). `ids`: each text's id, from the input's
        `id_column` (default: a hash of the text). Returns what was written: n_texts, kinds, layers, rows, and the
        warning of each short text by text id."""
        from etl.probes.scores_dataset import score_into_lake

        texts = text_list(texts)
        check_texts(texts)
        if batch_tokens < 1:
            raise EmolakeError(f"batch_tokens {batch_tokens}: use a positive integer")
        kinds, layers = (None if x is None else list(x) for x in (kinds, layers))
        ids = None if ids is None else list(ids)
        model, source = self._model, self.source
        return score_into_lake(self.lake, texts, ids, id_column, model, source, kinds, layers, batch_tokens, runner)

    def validate(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        label_map: str | Path | None = None,
        kinds: Sequence[str] | None = None,
        layers: Sequence[int] | None = None,
        input_name: str | Path = "texts",
    ) -> LabelledRun:
        """Accuracy and macro-F1 with 95% intervals, per-class figures and a confusion matrix of each probe set asked
        for (each kind at each layer, or at its best; default: the default set) on labelled texts, predictions
        restricted to the emotions the labels use; writes one `validation_runs` row per set, with its
        `validation_classes` and `validation_families` rows (`etl.evaluation.validation`). `label_map`: a CSV
        (label,emotion) or JSON {label: emotion} file; `input_name`: the input as messages and rows name it."""
        from etl.evaluation import validation

        kinds, layers = (None if x is None else list(x) for x in (kinds, layers))
        found = labelled(texts, labels, label_map, input_name)
        asked = validation.prepare(self.lake, found, self._model, self.source, kinds, layers)
        return LabelledRun(validation.run(self.lake, asked), asked.unmapped)

    def adapt(
        self,
        name: str,
        texts: Sequence[str],
        labels: Sequence[str],
        label_map: str | Path | None = None,
        folds: int | None = None,
        input_name: str | Path = "texts",
    ) -> LabelledRun:
        """Builds a `short` probe set from labelled texts, compares it over k folds (`folds`, default 5, fewer when a
        label is rare) beside this source's default set, the lexical baseline and a shuffled-label null, and lands
        it under source `name` (`etl.evaluation.adapt`): select it later with `emolake.open(lake, source=name)`.
        Returns the comparison's rows (method, n_texts, chance, accuracy, macro_f1 and gain with their intervals)."""
        from etl.evaluation import adapt

        folds = adapt.FOLDS if folds is None else folds
        found = labelled(texts, labels, label_map, input_name)
        asked = adapt.prepare(self.lake, found, name, self._model, self.source, folds)
        return LabelledRun(adapt.run(self.lake, asked), asked.unmapped)


def labelled(texts: Sequence[str], labels: Sequence[str], label_map: str | Path | None, input_name: str | Path):
    """The `etl.evaluation.validation.Labelled` of `validate` and `adapt`: texts, labels, the label map's path."""
    from etl.evaluation.validation import Labelled

    mapping = None if label_map is None else Path(label_map)
    return Labelled(Path(input_name), list(texts), list(labels), mapping)
