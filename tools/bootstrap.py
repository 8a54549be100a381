"""Make sure ``.venv`` in the repository holds what the Workbench needs, then run inside it.

Used by ``main.py`` (the app) and ``tools/test.py`` (the test suite) so that both README commands
work on a fresh clone: the first run creates the virtual environment and installs the project
(``pip install -e .[test]``); later runs only compare a stamp of pyproject.toml. Standard library
only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("WORKBENCH_VENV", ROOT / ".venv"))
STAMP = VENV / ".workbench-installed"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _inside_venv() -> bool:
    try:
        return Path(sys.prefix).resolve() == VENV.resolve()
    except OSError:
        return False


def ensure_environment(quiet: bool = False) -> Path:
    """Create or update the virtual environment; return its Python."""
    python = _venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == _wanted_stamp():
        return python
    say = (lambda *_: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    if not python.exists():
        say(f"Workbench: first run: creating a virtual environment in {VENV} ...")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    say("Workbench: installing TensorFlow, PyQt5, pyqtgraph and the test tools "
        "(once; a few minutes) ...")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
    log = VENV / "install.log"
    # pip's and the build backend's chatter goes to a log; the terminal only sees it on failure.
    with open(log, "w") as out:
        for step in (["install", "--upgrade", "pip"], ["install", "-e", f"{ROOT}[test]"]):
            if subprocess.run([*pip, *step], stdout=out, stderr=subprocess.STDOUT).returncode:
                out.flush()
                tail = log.read_text(errors="replace").splitlines()[-15:]
                sys.exit("\n".join(tail) + "\nWorkbench: installing the dependencies failed "
                         f"(full log: {log}). Check the connection to the package index and "
                         "run again.")
    STAMP.write_text(_wanted_stamp() + "\n")
    return python


def reexec_in_venv(argv: list[str]) -> None:
    """Replace this process with the same command under the venv's Python, unless already there."""
    python = ensure_environment()
    if _inside_venv():
        return
    os.execv(str(python), [str(python), *argv])
