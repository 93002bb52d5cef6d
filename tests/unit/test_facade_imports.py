"""etl.api is the one facade: the scoring commands and the dashboard's live scoring reach probes, evaluation and the
model only through `EmoLake`, never by importing those packages (any import counts, one inside a function too)."""

from pathlib import Path

import pytest

from etl.layers import ROOT, imports, modules

BEHIND_THE_FACADE = ("etl.probes", "etl.evaluation", "etl.model")
"""What the front doors below may not import: etl.api calls it for them."""
COMMANDS = ("nearest", "classify", "similar", "score", "validate", "adapt", "steer", "export")
FRONT_DOORS = [f"etl/commands/{name}.py" for name in (*COMMANDS, "_common", "_tables")]
FRONT_DOORS += ["dashboards/live.py", "dashboards/context.py"]


def direct_imports(path: Path) -> list[str]:
    """The modules of BEHIND_THE_FACADE that the file imports, with their lines (`etl.layers.imports`, which parses)."""
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    found = imports(path, name, set(modules()))
    return sorted(f"{target} (line {line})" for target, line in found.items() if target.startswith(BEHIND_THE_FACADE))


@pytest.mark.parametrize("door", FRONT_DOORS)
def test_the_front_door_goes_through_etl_api(door):
    assert direct_imports(ROOT / door) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_calls_the_facade(command):
    path = ROOT / "etl" / "commands" / f"{command}.py"
    found = imports(path, f"etl.commands.{command}", set(modules()))
    assert any(target == "etl.api" or target.startswith("etl.api.") for target in found)


def test_the_check_sees_function_local_and_from_package_imports(tmp_path):
    planted = tmp_path / "door.py"
    planted.write_text(
        "from etl import api\n\n\ndef handle():\n    from etl.probes.scoring import open_scorer\n"
        "    from etl import evaluation\n    import etl.model.load\n"
    )
    found = imports(planted, "door", set(modules()))
    assert sorted(t for t in found if t.startswith(BEHIND_THE_FACADE)) == [
        "etl.evaluation",
        "etl.model.load",
        "etl.probes.scoring",
    ]
