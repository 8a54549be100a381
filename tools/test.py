"""Run the whole test suite: ``python3 tools/test.py [pytest args]``.

Sets up .venv on first run (see bootstrap.py).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, reexec_in_venv  # noqa: E402

if __name__ == "__main__":
    reexec_in_venv([str(Path(__file__).resolve()), *sys.argv[1:]])
    import os

    import pytest

    os.chdir(ROOT)
    code = pytest.main(sys.argv[1:])
    sys.exit(0 if code == pytest.ExitCode.OK else int(code))
