"""The translation mechanism (#29): language choice, fallback to English, the ui -> core chain,
N_ markers, plurals, and the committed .mo files matching their .po sources."""

import importlib.util
import io
import sys

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from tests.conftest import ROOT
from workbench import i18n
from workbench.core.datasets.dataset import TASKS
from workbench.i18n import N_, _, ngettext


def load_tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tools" / "i18n.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tool  # (its dataclass looks itself up there)
    spec.loader.exec_module(tool)
    return tool


@pytest.fixture
def environ(monkeypatch):
    """The locale variables cleared; ``environ(LANG=...)`` sets some."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_


def test_the_language_follows_the_environment_until_one_is_chosen(environ):
    environ(LANG="zh_CN.UTF-8")
    assert i18n.language() == "zh_CN"
    assert _("usage: ") == "用法："
    environ(LANG="C.UTF-8")
    assert i18n.language() == "en" and _("usage: ") == "usage: "
    assert i18n.set_language("zh_CN") == "zh_CN"
    assert _("usage: ") == "用法："  # chosen: the environment no longer decides
    assert i18n.set_language(None) == "en"


@pytest.mark.parametrize("environ_, expected", [
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),  # LC_ALL wins, as POSIX says
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.GB18030"}, "zh_CN"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": ""}, "zh_CN"),  # empty: not set
    ({"LANG": "zh_TW.UTF-8"}, "zh_CN"),  # the only Chinese catalog
    ({"LANG": "de_DE@euro"}, "en"), ({"LANG": "C"}, "en"), ({}, "en"),
])
def test_system_language(environ_, expected):
    assert i18n.system_language(environ_) == expected


def test_an_untranslated_text_and_english_stay_english():
    i18n.set_language("zh_CN")
    assert _("A sentence nobody translated {x}").format(x=1) == "A sentence nobody translated 1"
    assert ngettext("{n} file", "{n} files", 1) == "{n} file"
    assert ngettext("{n} file", "{n} files", 3) == "{n} files"
    i18n.set_language("en")
    assert _("Unknown dataset '{name}': use one of {valid}, or the path of an .npz file or of "
             "a folder of class sub-folders of images.").startswith("Unknown dataset")


def test_a_marked_constant_is_extracted_and_translated_where_shown():
    assert N_("regression") == "regression"  # the marker itself changes nothing
    assert "classification" in {m.id for m in load_tool().extract("core")}
    i18n.set_language("zh_CN")
    assert [_(task) for task in TASKS] == ["分类", "回归"]
    i18n.set_language("en")
    assert [_(task) for task in TASKS] == ["classification", "regression"]  # switched back


def _mo(path, entries):
    catalog = Catalog(locale="zh_CN")
    for msgid, msgstr in entries.items():
        catalog.add(msgid, msgstr)
    out = io.BytesIO()
    write_mo(out, catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def test_the_ui_catalog_comes_first_then_core_then_english(tmp_path, monkeypatch):
    messages = tmp_path / "zh_CN" / "LC_MESSAGES"
    _mo(messages / "core.mo", {"Train": "训练(core)", "Loss": "损失",
                               ("{n} file", "{n} files"): ("{n} 个文件",)})
    _mo(messages / "ui.mo", {"Train": "训练"})
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reload()
    try:
        i18n.set_language("zh_CN")
        assert (_("Train"), _("Loss"), _("Epoch")) == ("训练", "损失", "Epoch")
        assert ngettext("{n} file", "{n} files", 1) == "{n} 个文件"  # Chinese: one form
        assert ngettext("{n} dir", "{n} dirs", 2) == "{n} dirs"
        (messages / "ui.mo").unlink()  # a language with only the core catalog still works
        i18n.reload()
        assert _("Train") == "训练(core)"
    finally:
        monkeypatch.undo()
        i18n.reload()


def test_committed_mo_files_match_their_po_and_keep_the_placeholders():
    tool = load_tool()
    for domain in tool.DOMAINS:
        if not tool.po_path(domain, "zh_CN").exists():  # ui.po: the window's own catalog
            continue
        catalog = tool.read_catalog(tool.po_path(domain, "zh_CN"), "zh_CN", domain)
        assert tool.mo_mismatches(tool.po_path(domain, "zh_CN"), catalog) == [], (
            f"run: python tools/i18n.py compile {domain}")
        problems = tool.check_catalog(domain, "zh_CN", catalog, Catalog(), with_mo=False)
        assert problems.placeholders == []


def test_the_check_finds_a_changed_placeholder_and_a_stale_mo(tmp_path, monkeypatch):
    tool = load_tool()
    catalog = Catalog(locale="zh_CN")
    catalog.add("{name} is not a dataset", "{名字} 不是数据集")
    catalog.add("{n} epochs", "{n} 轮")
    template = Catalog()
    template.add("{n} epochs")
    template.add("{count} samples")
    monkeypatch.setattr(tool, "po_path", lambda domain, language: tmp_path / "core.po")
    _mo(tmp_path / "core.mo", {"{n} epochs": "{n} 个轮次"})
    problems = tool.check_catalog("core", "zh_CN", catalog, template)
    assert [p[0] for p in problems.placeholders] == ["{name} is not a dataset"]
    assert problems.missing == [("{count} samples", None)]
    assert problems.stale == [("{name} is not a dataset", None)]
    assert set(problems.mo) == {"{n} epochs", "{name} is not a dataset"}


def test_numbers_are_written_as_the_language_writes_them():
    for language in i18n.LANGUAGES:
        i18n.set_language(language)
        assert i18n.format_number(1234567) == "1,234,567"
        assert i18n.format_number(0.5, 2) == "0.50"
        assert i18n.format_percent(0.9812) == "98.1%"


def test_the_core_catalog_is_complete_and_current():
    """Every text of the Qt-free code, the CLI, the report and the templates has its zh_CN
    translation, none is stale or fuzzy or changes a placeholder, and core.mo is compiled from
    core.po. On failure: python tools/i18n.py extract core, translate the new entries of
    resources/i18n/zh_CN/LC_MESSAGES/core.po, python tools/i18n.py compile core."""
    problems = load_tool().check("core", "zh_CN")
    assert not problems.items(), "; ".join(
        f"{name}: {[item[0] if isinstance(item, tuple) else item for item in found][:5]}"
        for name, found in problems.items())
