"""The window is complete in Simplified Chinese (#29): every text of workbench/ui that goes
through ``_()``, ``ngettext`` or ``N_`` has a translation in ui.po, none fuzzy, none stale (gone
from the sources), the placeholders kept, and the committed ui.mo says what ui.po says. After
changing texts: ``tools/i18n.py extract ui``, translate, ``tools/i18n.py compile ui``."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import ROOT


def _tool():
    spec = importlib.util.spec_from_file_location("i18n_tool_ui", ROOT / "tools" / "i18n.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tool  # (its dataclass looks itself up there)
    spec.loader.exec_module(tool)
    return tool


def test_every_window_text_is_translated_and_compiled():
    tool = _tool()
    problems = tool.check("ui", "zh_CN")
    found = {name: [tool._shown(item[:2]) if isinstance(item, tuple) else str(item)
                    for item in items] for name, items in problems.items()}
    assert found == {}, (f"{found}\nrun: python tools/i18n.py extract ui, translate "
                         "resources/i18n/zh_CN/LC_MESSAGES/ui.po, then compile ui")
