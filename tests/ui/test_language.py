"""The window in Chinese (#29): Help ▸ Language switches the open window between English and 中文
without touching the project, the choice is remembered, the system locale is followed until
then, and no font for Chinese means English and one line saying which package gives one."""

from __future__ import annotations

import pytest
from PyQt5.QtWidgets import QGroupBox, QMessageBox, QPushButton, QTextBrowser

from workbench import i18n
from workbench.core.templates import load_template
from workbench.ui import language
from workbench.ui.main_window import MainWindow


@pytest.fixture
def own_settings(tmp_path, monkeypatch):
    """A settings folder of the test's own (the choice is written there), a Chinese font found
    (the texts are read off the widgets; whether a font draws them is another test)."""
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(language, "cjk_font_missing", lambda: False)
    return tmp_path


@pytest.fixture
def window(qtbot, own_settings):
    i18n.set_language("en")
    w = MainWindow(load_template("mnist-mlp"), load_dataset=False)
    w.resize(1024, 700)
    w.show()
    yield w
    language.install_qt_translations(language.QApplication.instance(), i18n.ENGLISH)
    _close(w)


def _close(w) -> None:
    w.training_panel.shutdown()
    w.state.undo_stack.setClean()  # the test's edits: nothing to ask about
    w.close()
    w.deleteLater()


def _group_titles(w) -> set[str]:
    return {box.title() for box in w.builder_panel.findChildren(QGroupBox)}


def test_help_language_switches_to_chinese_and_back_keeping_the_project(window):
    w = window
    state, project = w.state, w.state.project
    w.builder_panel.stack.delete()  # one edit on the undo stack (the input row: no-op)
    w.state.select(1)
    w.builder_panel.stack.delete()
    undo_steps = state.undo_stack.count()
    assert undo_steps == 1
    assert w.tabs.tabText(0) == "Training"

    w.language_actions["zh_CN"].trigger()
    assert i18n.language() == "zh_CN"
    assert language.saved_language() == "zh_CN"  # remembered
    assert w.language_actions["zh_CN"].isChecked()
    assert w.tabs.tabText(0) == "训练"
    assert w.help_menu.title() == "帮助(&H)"
    assert "层类型" in _group_titles(w)  # the palette's box
    assert w.builder_panel.stack.tree.headerItem().text(2) == "输出形状"
    assert "参数总数" in w.builder_panel.stack.totals.text() or \
        "TensorFlow" in w.builder_panel.stack.totals.text()
    # The same project, document and undo history: nothing was rebuilt around them.
    assert w.state is state and w.state.project is project
    assert state.undo_stack.count() == undo_steps
    assert len(project.model.layers) == 3

    w.language_actions["en"].trigger()
    assert i18n.language() == "en" and language.saved_language() == "en"
    assert w.tabs.tabText(0) == "Training"
    assert w.help_menu.title() == "&Help"
    assert "Layers" in _group_titles(w)
    assert w.builder_panel.stack.tree.headerItem().text(2) == "Output shape"
    assert state.undo_stack.count() == undo_steps


def test_open_help_follows_the_switch(window):
    """The quick start and the shortcuts, open when the language changes, change with it."""
    quick, keys = window.show_quick_start(), window.show_shortcuts()
    window.language_actions["zh_CN"].trigger()
    assert quick.windowTitle() == "快速入门 — Workbench"
    assert "构建模型" in quick.findChild(QTextBrowser).toPlainText()
    assert "键盘快捷键" in keys.findChild(QTextBrowser).toPlainText()
    window.language_actions["en"].trigger()
    assert quick.windowTitle() == "Quick start — Workbench"
    quick.close()
    keys.close()


def test_qt_own_buttons_follow_the_language(window, qtbot):
    """Qt's standard buttons (Close, Cancel) come from PyQt5's qtbase_zh_CN.qm."""
    window.language_actions["zh_CN"].trigger()
    box = QMessageBox(QMessageBox.Question, "t", "q", QMessageBox.Cancel)
    qtbot.addWidget(box)
    texts = [b.text() for b in box.findChildren(QPushButton)]
    assert any("取消" in t for t in texts), texts


def test_no_chinese_font_keeps_english_and_names_the_package(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(language, "cjk_font_missing", lambda: True)
    i18n.set_language("en")
    w = MainWindow(load_template("mnist-mlp"), load_dataset=False)
    w.language_actions["zh_CN"].trigger()
    assert i18n.language() == "en"
    assert w.tabs.tabText(0) == "Training"
    assert "fonts-noto-cjk" in w.statusBar().currentMessage()
    assert w.language_actions["en"].isChecked()
    assert language.saved_language() is None  # nothing remembered that cannot be shown
    # At start-up: the system asks for Chinese, no font: English, and the same line.
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    note = language.apply_startup_language(language.QApplication.instance())
    assert i18n.language() == "en" and "fonts-noto-cjk" in note
    _close(w)


def test_start_follows_the_system_until_a_language_is_picked(qapp, own_settings, monkeypatch):
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    try:
        assert language.apply_startup_language(qapp) == ""
        assert i18n.language() == "zh_CN"
        language.remember_language("en")  # Help ▸ Language ▸ English, in an earlier session
        language.apply_startup_language(qapp)
        assert i18n.language() == "en"
        monkeypatch.setenv("LANG", "C.UTF-8")
        language.remember_language("zh_CN")
        language.apply_startup_language(qapp)
        assert i18n.language() == "zh_CN"
    finally:
        language.install_qt_translations(qapp, i18n.ENGLISH)


def test_no_two_english_texts_share_a_chinese_one():
    """Switching back maps each shown Chinese text to its English source: one source each."""
    import gettext
    from collections import defaultdict

    found = gettext.translation("ui", i18n.LOCALE_DIR, languages=["zh_CN"])
    sources = defaultdict(list)
    for msgid, text in found._catalog.items():
        if isinstance(msgid, str) and msgid:
            sources[text].append(msgid)
    assert {text: ids for text, ids in sources.items() if len(ids) > 1} == {}


@pytest.fixture(scope="module")
def chinese_window(qapp, request, tmp_path_factory):
    """One window for the layout checks: the MLP trained briefly (every tab has something to
    show), in Chinese, at 1024×700."""
    from pytestqt.qtbot import QtBot

    from tests.ui.test_evaluation import train_briefly

    bot = QtBot(request)
    patch = pytest.MonkeyPatch()
    patch.setenv("WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("settings")))
    patch.setattr(language, "cjk_font_missing", lambda: False)
    i18n.set_language("en")
    w = MainWindow(load_template("mnist-mlp"))
    w.show()
    bot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                  timeout=60_000)
    train_briefly(w)
    assert language.switch_language(w, "zh_CN")
    w.resize(1024, 700)
    bot.waitUntil(lambda: (w.width(), w.height()) == (1024, 700), timeout=5000)
    yield w
    language.switch_language(w, "en")
    i18n.set_language(None)  # (conftest's reset ran before this module-scoped teardown)
    patch.undo()
    _close(w)
    bot.wait(10)


@pytest.mark.parametrize("tab", ["training_panel", "graph_panel", "evaluation_panel",
                                 "weights_panel", "draw_panel", "dataset_panel",
                                 "experiments_panel"])
def test_every_tab_fits_1024_by_700_in_chinese(qtbot, chinese_window, tab):
    """As tests/ui/test_layout.py checks the English window: nothing laid over another, no
    button's text cut, the window's minimum within 1024×700."""
    from tests.ui.test_layout import _cut_buttons, _overlaps

    w = chinese_window
    # conftest sets the language back to the environment's after each test: Chinese again
    # (texts redrawn meanwhile came back in English).
    assert language.switch_language(w, "zh_CN")
    w.resize(1024, 700)
    w.tabs.setCurrentWidget(getattr(w, tab))
    qtbot.wait(100)
    assert w.tabs.tabText(0) == "训练"
    hint = w.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700
    assert _overlaps(w) == []
    assert _cut_buttons(w) == []
