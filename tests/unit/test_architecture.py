"""House rules that a reviewer would otherwise have to remember."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = [
    "vmstui.errors",
    "vmstui.models",
    "vmstui.naming",
    "vmstui.topics",
    "vmstui.filters",
    "vmstui.config",
    "vmstui.flood",
    "vmstui.paths",
    "vmstui.store",
    "vmstui.hub",
    "vmstui.supervisor",
    "vmstui.desk",
    "vmstui.sources.genetec.source",
    "vmstui.sources.genetec.client",
    "vmstui.sources.genetec.names",
    "vmstui.sources.een.source",
    "vmstui.sources.camio.source",
    "vmstui.sources.registry",
    "vmstui.tls",
    "vmstui.bridge.service",
    "vmstui.bridge.http_in",
    "vmstui.bridge.mqtt_in",
    "vmstui.runtime",
    "vmstui.simulator",
    "vmstui.report",
]


def test_core_never_imports_textual() -> None:
    code = (
        "import sys\n"
        f"for name in {CORE!r}:\n"
        "    __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"core imported textual: {result.stdout}"


def test_no_module_is_too_long_without_a_reason() -> None:
    for path in (ROOT / "vmstui").rglob("*.py"):
        text = path.read_text()
        lines = text.count("\n")
        if lines > 450:
            assert "long because" in text.split('"""')[1], f"{path} has {lines} lines and no reason"


def test_one_place_builds_q_expressions() -> None:
    calls = (
        "AcknowledgeAlarm(",
        "TriggerAlarm(",
        "InvestigateAlarm(",
        "ForwardAlarm(",
        "CustomEvents.Add(",
    )
    for path in (ROOT / "vmstui").rglob("*.py"):
        if path.name == "qexpr.py" or "simulator" in path.parts:
            continue
        text = path.read_text()
        for call in calls:
            assert f'"{call}' not in text and f'f"{call}' not in text, f"{path} builds {call}"


def test_every_config_kind_has_a_runner() -> None:
    """One table of source kinds: the config accepts exactly the kinds the registry builds."""
    from vmstui.config import SOURCE_KINDS
    from vmstui.sources.registry import KINDS

    assert set(KINDS) == SOURCE_KINDS
    assert all(kind.kind == name for name, kind in KINDS.items())
