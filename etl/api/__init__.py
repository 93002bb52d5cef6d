"""emolake's public Python API, importable as `emolake` (pyproject maps the import name onto this package).

    import emolake
    lake = emolake.open("lake")
    lake.nearest("My dog died this morning.")            # [{"emotion": ..., "score": cosine}, ...]
    lake.sql("select * from best_layers")                 # a polars DataFrame
    probes = lake.probes()                                # np.asarray(probes): [layers, emotions, hidden]
    with lake.steer("calm", strength=0.2) as model:       # a loaded model, steered inside the block
        ...
    server = emolake.connect("http://127.0.0.1:8050")     # a running `emolake serve`: the same nearest, score

Only the names in `__all__` are the API; everything else is `etl`, the implementation, and may change. It is also
the one door of the CLI's scoring commands (nearest, classify, similar, score, validate, adapt) and of the dashboard's
live scoring: they call `EmoLake`, never `etl.probes` or `etl.evaluation` themselves (docs/layout.md). The modules
here import one another by their `etl.api` names, so `emolake.EmoLake is etl.api.EmoLake`: facade.py (`open`,
`connect`, `EmoLake`), labelled.py (its methods that write what a user's texts give), answers.py (what they return).
"""

from __future__ import annotations

from etl import __version__
from etl.api.answers import LabelledRun, Matches, TokenScores, check_texts
from etl.api.facade import EmoLake, connect, open
from etl.errors import EmolakeError, ShortTextWarning
from etl.probes.export import ProbeStack
from etl.probes.ids import ProbeSetId
from etl.probes.policy import MIN_TOKENS
from etl.service.client import RemoteLake

__all__ = [
    "MIN_TOKENS",
    "EmoLake",
    "EmolakeError",
    "LabelledRun",
    "Matches",
    "ProbeSetId",
    "ProbeStack",
    "RemoteLake",
    "ShortTextWarning",
    "TokenScores",
    "__version__",
    "check_texts",
    "connect",
    "open",
]
