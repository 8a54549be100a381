"""A fresh Linux desktop without Qt's X11 libraries: one readable line with the apt command, and
an exit code, before Qt aborts. The library check is faked: ldd's report is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.ui import application, platform_check

# What ldd says on a fresh Debian 12 with an X server (abridged).
FRESH_DEBIAN = """\
	linux-vdso.so.1 (0x00007ffd5a9f2000)
	libQt5XcbQpa.so.5 => /venv/PyQt5/Qt5/plugins/platforms/../../lib/libQt5XcbQpa.so.5 (0x1)
	libxcb-icccm.so.4 => not found
	libxcb-image.so.0 => /lib/x86_64-linux-gnu/libxcb-image.so.0 (0x2)
	libxcb-keysyms.so.1 => not found
	libxcb-render-util.so.0 => not found
	libxcb-xinerama.so.0 => not found
	libxkbcommon-x11.so.0 => not found
	libxcb-icccm.so.4 => not found
	libxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x3)
"""
PLUGIN = Path("/venv/PyQt5/Qt5/plugins/platforms/libqxcb.so")
DESKTOP = {"DISPLAY": ":0"}


def check(environ, ldd_output=FRESH_DEBIAN, platform="linux"):
    return platform_check.problem(environ, platform, ldd=lambda _path: ldd_output,
                                  plugin=lambda: PLUGIN)


def test_missing_libraries_give_one_line_with_the_apt_command():
    text = check(DESKTOP)
    assert "\n" not in text
    assert text.endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1 "
                         "libxcb-render-util0 libxcb-xinerama0 libxkbcommon-x11-0")
    assert "libxcb-icccm.so.4" in text and "libxcb-image" not in text


@pytest.mark.parametrize(("soname", "package"), [
    ("libxcb-icccm.so.4", "libxcb-icccm4"), ("libxcb-xinerama.so.0", "libxcb-xinerama0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"), ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libdbus-1.so.3", "libdbus-1-3"), ("libglib-2.0.so.0", "libglib2.0-0"),
    ("libGL.so.1", "libgl1"), ("libxcb-util.so.1", "libxcb-util1"),
])
def test_sonames_map_to_debian_packages(soname, package):
    assert platform_check.debian_package(soname) == package


def test_nothing_to_say_when_xcb_can_load_or_is_not_used():
    assert check(DESKTOP, ldd_output=FRESH_DEBIAN.replace("not found", "/lib/x.so (0x9)")) == ""
    assert check({**DESKTOP, "QT_QPA_PLATFORM": "wayland"}) == ""
    assert check({**DESKTOP, "QT_QPA_PLATFORM": "offscreen"}) == ""
    assert check(DESKTOP, platform="darwin") == ""
    assert check({**DESKTOP, "QT_QPA_PLATFORM": "xcb"}) != ""  # chosen explicitly: checked
    assert check(DESKTOP, ldd_output="") == ""  # no ldd: let Qt try


def test_no_display_is_said_plainly():
    clean = FRESH_DEBIAN.replace("not found", "/lib/x.so (0x9)")
    assert "DISPLAY is not set" in check({}, ldd_output=clean)


def test_the_app_stops_with_the_line_before_qt_starts(monkeypatch, capsys):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(platform_check.sys, "platform", "linux")
    monkeypatch.setattr(platform_check, "xcb_plugin", lambda: PLUGIN)
    monkeypatch.setattr(platform_check, "run_ldd", lambda _path: FRESH_DEBIAN)
    # As in a fresh process: no QApplication yet (the one of this test session is hidden).
    monkeypatch.setattr(application, "_existing_application", lambda: None)
    with pytest.raises(SystemExit) as stopped:
        application.make_application([])
    assert stopped.value.code == platform_check.EXIT_CODE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sudo apt-get install libxcb-icccm4" in err[0]
