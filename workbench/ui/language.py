"""Help ▸ Language (#29): the interface's language chosen, remembered, and applied to the open
windows without touching the project (see retranslate.py).

The app follows the system locale until the user picks a language; the choice is kept in
``settings.ini`` in the app-data folder (core.appdata, so the tests' throw-away folder holds
theirs). Qt's own strings (the standard dialogs' buttons) come from PyQt5's ``qtbase_zh_CN.qm``.
Where no font covers Chinese, the app stays in English and says which package gives one.
"""

from __future__ import annotations

from PyQt5.QtCore import QLibraryInfo, QSettings, QTranslator
from PyQt5.QtGui import QFontDatabase
from PyQt5.QtWidgets import QAction, QActionGroup, QApplication, QMainWindow

from workbench import i18n
from workbench.core.appdata import data_dir
from workbench.i18n import _

SETTINGS_FILE = "settings.ini"
LANGUAGE_KEY = "language"
# Said in English: without the font, Chinese would be drawn as boxes.
NO_CJK_FONT = ("The Chinese interface needs a Chinese font, and none is installed "
               "(Debian/Ubuntu: sudo apt install fonts-noto-cjk)")

_qt_translators: list[QTranslator] = []  # installed on the application; kept alive here
startup_note = ""  # what apply_startup_language said when the application was made


def _settings() -> QSettings:
    return QSettings(str(data_dir() / SETTINGS_FILE), QSettings.IniFormat)


def saved_language() -> str | None:
    """The language picked in Help ▸ Language, or None (follow the system)."""
    value = _settings().value(LANGUAGE_KEY, "", type=str)
    return i18n.normalize(value) if value else None


def remember_language(code: str) -> None:
    settings = _settings()
    settings.setValue(LANGUAGE_KEY, code)
    settings.sync()


def cjk_font_missing() -> bool:
    """True where no installed font covers Simplified Chinese."""
    return not QFontDatabase().families(QFontDatabase.SimplifiedChinese)


def install_qt_translations(app: QApplication, code: str) -> None:
    """Qt's own strings (Close, Cancel, Yes, the file dialog) in ``code``'s language."""
    while _qt_translators:
        app.removeTranslator(_qt_translators.pop())
    if code == i18n.ENGLISH:
        return
    folder = QLibraryInfo.location(QLibraryInfo.TranslationsPath)
    translator = QTranslator(app)
    if translator.load(f"qtbase_{code}", folder):
        app.installTranslator(translator)
        _qt_translators.append(translator)


def apply_startup_language(app: QApplication) -> str:
    """Before the first window: the saved language, else the system's. Returns a line to show
    ("" when there is nothing to say): Chinese without a Chinese font falls back to English."""
    i18n.set_language(saved_language())
    note = ""
    if i18n.language() != i18n.ENGLISH and cjk_font_missing():
        i18n.set_language(i18n.ENGLISH)
        note = NO_CJK_FONT
    install_qt_translations(app, i18n.language())
    return note


def switch_language(window: QMainWindow, code: str) -> bool:
    """Use ``code`` from now on, remembered, and retranslate every open window; False (and a
    line in the status bar) where the language cannot be shown."""
    from workbench.ui.retranslate import retranslate_all

    code = i18n.normalize(code)
    if code != i18n.ENGLISH and cjk_font_missing():
        window.statusBar().showMessage(NO_CJK_FONT, 30000)
        return False
    remember_language(code)
    old = i18n.language()
    i18n.set_language(code)
    install_qt_translations(QApplication.instance(), code)  # Qt's own, whatever was in use
    if code != old:
        retranslate_all(old, code)
    return True


def install_language_menu(window: QMainWindow, menu) -> None:
    """Help ▸ Language: English / 中文, each named in its own language (never translated)."""
    window.language_menu = menu.addMenu(_("&Language"))
    window.language_menu.setObjectName("languageMenu")
    group = QActionGroup(window.language_menu)
    group.setExclusive(True)
    window.language_actions = {}
    for code, name in i18n.LANGUAGES.items():
        action = QAction(name, group, objectName=f"language_{code}")
        action.setCheckable(True)
        action.setChecked(code == i18n.language())
        action.triggered.connect(lambda _checked=False, c=code: _on_language_picked(window, c))
        window.language_menu.addAction(action)
        window.language_actions[code] = action


def _on_language_picked(window: QMainWindow, code: str) -> None:
    switch_language(window, code)
    current = i18n.language()
    for each, action in window.language_actions.items():
        action.setChecked(each == current)
