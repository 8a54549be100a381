"""Run the test suite: ``python3 tools/test.py [--all | --slow] [pytest args]``.

Two tiers. The default runs every test except those marked ``slow`` (the fast tier: a few
minutes on 2 cores); ``--all`` adds the slow tier (multi-worker, resume, long sweeps, the big
folder); ``--slow`` runs the slow tier alone (CI runs the fast tier, then this). Tests run in two
pytest-xdist workers, a file each at a time (``-n 0`` or ``-p no:xdist``: in this process).
Every run prints its 15 slowest tests; every test has a time bound (tests/conftest.py). A tier
with no test among the paths given passes (pytest's "no tests collected").

Sets up .venv on first run (see bootstrap.py).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, reexec_in_venv  # noqa: E402

TIERS = {"--all": None, "--slow": "slow"}
FAST = "not slow"
PARALLEL = min(2, os.cpu_count() or 1)  # pytest-xdist workers; "-n 0" runs in one process


def pytest_args(argv: list[str]) -> tuple[list[str], bool]:
    """The pytest command line for ``argv``, and whether a tier's marker filter was added."""
    tier = FAST
    rest = []
    for arg in argv:
        if arg in TIERS:
            tier = TIERS[arg]
        else:
            rest.append(arg)
    chose_markers = any(a == "-m" or a.startswith("-m") and not a.startswith("--") for a in rest)
    filtered = tier is not None and not chose_markers
    args = (["-m", tier] if filtered else []) + rest
    if not any(a.startswith("--durations") for a in rest):
        args.append("--durations=15")
    if PARALLEL > 1 and "no:xdist" not in rest and not any(
            a in ("-n", "--numprocesses") or a.startswith(("-n", "--numprocesses=")) for a in rest):
        # Two workers, a file each at a time (a file's fixtures stay in one process): the fast
        # tier took 4 min 30 s instead of 7 min 43 s on 2 cores at load ~2.4 (tests/conftest.py
        # gives each worker its share of the cores for TensorFlow).
        args += ["-n", str(PARALLEL), "--dist", "loadfile"]
    return args, filtered


if __name__ == "__main__":
    reexec_in_venv([str(Path(__file__).resolve()), *sys.argv[1:]])
    import pytest

    os.chdir(ROOT)
    args, filtered = pytest_args(sys.argv[1:])
    code = pytest.main(args)
    if filtered and code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("tools/test.py: no test of this tier among the paths given", flush=True)
        code = pytest.ExitCode.OK
    sys.exit(0 if code == pytest.ExitCode.OK else int(code))
