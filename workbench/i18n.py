"""The one translation mechanism (#29): gettext catalogs from resources/i18n, looked up at run time.

Every user-visible string goes through ``_(text)``, ``ngettext(singular, plural, n)`` or, for a
string that needs a context to be translated right, ``pgettext(context, text)``. A module-level
constant is marked with ``N_(text)`` (which returns it unchanged) and translated with ``_()`` where
it is shown, so that switching the language in a running window takes effect. Placeholders are
filled after translating: ``_("{name} is not a dataset").format(name=name)``, never an f-string.

Two catalogs (gettext domains): ``core`` (everything Qt-free: core, actions, engine, the CLI) and
``ui`` (workbench/ui). One lookup serves both: ``ui`` first, then ``core``, then the English text
itself, so a core error line shown in the window is translated too. ``tools/i18n.py`` extracts the
strings (Babel), compiles the ``.mo`` files committed beside their ``.po`` and checks them. The
glossary both catalogs keep to (one Chinese term per concept) heads
resources/i18n/zh_CN/LC_MESSAGES/core.po. The engine speaks the language its client's requests
name (engine.protocol), so its error lines follow the window's choice.

No Qt here, and no Babel at run time: the standard library's gettext reads the ``.mo`` files.
"""

from __future__ import annotations

import gettext
import os
import threading
from pathlib import Path

# Beside the package, as the other resources (datasets, templates) are found.
LOCALE_DIR = Path(__file__).resolve().parent.parent / "resources" / "i18n"
DOMAINS = ("ui", "core")  # looked up in this order
ENGLISH = "en"
LANGUAGES = {ENGLISH: "English", "zh_CN": "中文"}  # code -> the language's own name

_chosen: str | None = None  # None: follow the environment
_catalogs: dict[str, gettext.NullTranslations] = {}
_lock = threading.Lock()


def N_(text: str) -> str:  # noqa: N802 - gettext's own name for the marker
    """Marks ``text`` for extraction without translating it (translate it where it is shown)."""
    return text


def _(text: str) -> str:
    """``text`` in the current language (itself where there is no translation)."""
    return _translations().gettext(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count ``n`` in the current language."""
    return _translations().ngettext(singular, plural, n)


def pgettext(context: str, text: str) -> str:
    """``text`` translated in a context, where one English word has two meanings."""
    return _translations().pgettext(context, text)


def set_language(code: str | None) -> str:
    """Use ``code`` ("en", "zh_CN", or a locale name such as "zh_CN.UTF-8") from now on; None
    follows the environment again. Returns the language now in use."""
    global _chosen
    _chosen = None if code is None else normalize(code)
    return language()


def language() -> str:
    """The code of the language in use: "en" or "zh_CN"."""
    return _chosen if _chosen is not None else system_language()


def system_language(environ=None) -> str:
    """The language the environment asks for, as POSIX locale variables are read (LC_ALL, then
    LC_MESSAGES, then LANG): "zh_CN" for any Chinese locale, else English."""
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return normalize(value)
    return ENGLISH


def normalize(code: str) -> str:
    """A locale name as one of LANGUAGES: "zh_CN.UTF-8", "zh-CN", "zh" -> "zh_CN"; anything we
    have no catalog for -> "en". Every Chinese locale gets the Simplified catalog, the only one."""
    base = code.split(".")[0].split("@")[0].replace("-", "_").strip()
    if base.lower().startswith("zh"):
        return "zh_CN"
    return base if base in LANGUAGES else ENGLISH


def format_number(value: float, decimals: int = 0) -> str:
    """A figure as the language writes it: digits grouped in thousands. English and Chinese
    both write 1,234.5 (decimal point '.', ',' between thousands)."""
    return f"{value:,.{decimals}f}"


def format_percent(fraction: float, decimals: int = 1) -> str:
    """A fraction as a percentage the way the language writes it (0.981 -> "98.1%")."""
    return f"{fraction * 100:,.{decimals}f}%"


def _translations() -> gettext.NullTranslations:
    code = language()
    found = _catalogs.get(code)
    if found is None:
        with _lock:
            found = _catalogs.get(code) or _load(code)
            _catalogs[code] = found
    return found


def _load(code: str) -> gettext.NullTranslations:
    """The domains' catalogs for ``code`` chained in lookup order (a missing one is skipped)."""
    chain = gettext.NullTranslations()
    if code == ENGLISH:
        return chain
    found = [gettext.translation(domain, LOCALE_DIR, languages=[code], fallback=True)
             for domain in DOMAINS]
    found = [t for t in found if isinstance(t, gettext.GNUTranslations)]
    if not found:
        return chain
    for later in found[1:]:
        found[0].add_fallback(later)
    return found[0]


def reload() -> None:
    """Read the catalogs again (after tools/i18n.py compiled new ones)."""
    with _lock:
        _catalogs.clear()
