"""Before Qt starts on Linux: can its X11 platform plugin (xcb) load at all?

On a fresh Debian/Ubuntu desktop the pip-installed Qt lacks system libraries such as
libxcb-icccm4, and the QApplication then aborts the process with a long "could not load the Qt
platform plugin xcb" text that does not say what to install. ``problem()`` finds the missing
libraries first (``ldd`` on PyQt5's ``libqxcb.so``) and returns ONE readable line with the exact
``sudo apt-get install ...``. Nothing here imports Qt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from workbench.i18n import _

EXIT_CODE = 3  # the GUI cannot start on this system

# Debian/Ubuntu packages of the libraries Qt 5's xcb plugin links (where the name is not simply
# derived from the soname, see ``debian_package``).
PACKAGES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libpng16.so.16": "libpng16-16",
    "libxcb-util.so.1": "libxcb-util1",
    "libbrotlidec.so.1": "libbrotli1",
    "libz.so.1": "zlib1g",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
}


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package shipping ``soname`` (``libxcb-icccm.so.4`` -> ``libxcb-icccm4``).

    Debian names a library's package after its soname: the name, lower case, then the version,
    with a dash between when the name ends in a digit (``libxkbcommon-x11.so.0`` ->
    ``libxkbcommon-x11-0``).
    """
    if soname in PACKAGES:
        return PACKAGES[soname]
    name, _, version = soname.partition(".so")
    version = version.lstrip(".").split(".")[0]
    name = name.lower()
    if not version:
        return name
    return f"{name}{'-' if name[-1].isdigit() else ''}{version}"


def xcb_plugin() -> Path | None:
    """PyQt5's own xcb plugin (the one the QApplication will load), or None."""
    try:
        import PyQt5  # the package only: no Qt library is loaded by this
    except ImportError:
        return None
    plugin = Path(PyQt5.__file__).parent / "Qt5" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def run_ldd(path: Path) -> str:
    """``ldd``'s report on ``path`` ("" when there is no ldd or it fails)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        return subprocess.run([ldd, str(path)], capture_output=True, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ldd reports as ``not found``, in order, each once."""
    missing: list[str] = []
    for line in ldd_output.splitlines():
        name, arrow, where = line.strip().partition("=>")
        if arrow and where.strip().startswith("not found") and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def uses_xcb(environ: Mapping[str, str], platform: str) -> bool:
    """True when Qt will pick its xcb plugin: Linux, and QT_QPA_PLATFORM unset or xcb."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    return not chosen or chosen.split(":")[0].split(";")[0] == "xcb"


def message(missing: list[str]) -> str:
    packages = list(dict.fromkeys(debian_package(name) for name in missing))
    return "workbench: " + _("the window cannot open: Qt's X11 plugin needs {libraries}, "
                             "missing on this system; install them with: {command}").format(
        libraries=", ".join(missing), command=f"sudo apt-get install {' '.join(packages)}")


def problem(environ: Mapping[str, str] | None = None, platform: str | None = None,
            ldd: Callable[[Path], str] | None = None,
            plugin: Callable[[], Path | None] | None = None) -> str:
    """One readable line saying why Qt's xcb plugin cannot load and what to do; "" when it can
    (or when it is not the plugin Qt will use, or we cannot tell)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not uses_xcb(environ, platform):
        return ""
    path = (plugin or xcb_plugin)()
    if path is None:
        return ""
    missing = missing_libraries((ldd or run_ldd)(path))
    if missing:
        return message(missing)
    if not environ.get("DISPLAY"):
        return "workbench: " + _("the window cannot open: there is no X display (DISPLAY is "
                                 "not set); start the Workbench from a desktop session, or run "
                                 "`ssh -X`")
    return ""
