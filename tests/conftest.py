"""Test configuration: headless Qt, quiet TensorFlow, no network, a time bound on every test, and
the session's shared fixtures.

Shared by the whole session (fixtures live here, never imported from another test module):
- ``tensorflow`` (autouse): TensorFlow imported once, with the CPU split into logical devices as
  the window does, so a run mirrored over 2 devices really mirrors whatever test imports it first.
- ``tiny_project``: a folder with a small real-digit ``digits.npz`` (400 train, 100 test) and
  ``mlp.json``, the MLP template on it (2 epochs): what the CLI tests train. ``tiny`` is a copy
  of it in the test module's own folder, for tests that write there.
- ``trained_mlp``: the MLP template trained 1 epoch on 300 digits (evaluation, export, deploy).
- ``trained_cnn``: the default template (the CNN) trained 1 epoch on 600 digits (the Draw tab).
- ``cli``: ``workbench ...`` run in this process, its output read back (see ``CliRun``).
"""

import json
import os
import socket
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The tests read the English texts: a developer's Chinese locale must not translate them (#29; the
# tests of the translations choose their language themselves).
for _name in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp/runtime-workbench-tests")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
# Autosave/recovery files of the windows under test go to a throw-away folder, never the user's.
os.environ.setdefault("WORKBENCH_DATA_DIR", tempfile.mkdtemp(prefix="workbench-tests-"))
# Under pytest-xdist (-n N) each worker gets its share of the cores for TensorFlow's thread pools
# (set before TensorFlow is imported; the processes the tests start inherit it).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(_share))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(_share))

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "resources" / "templates"
# Every test ends within this (a hang fails with every thread's stack instead of eating the CI
# budget); ``--timeout`` or ``PYTEST_TIMEOUT`` replace it, a test's own timeout mark overrides it.
TEST_TIMEOUT_S = 300


def pytest_collection_modifyitems(config, items):
    if (config.getoption("timeout", None) is not None or os.environ.get("PYTEST_TIMEOUT")
            or config.getini("timeout")):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S, method="thread"))


# --- TensorFlow -----------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def tensorflow():
    """``(tf, keras)``, loaded before any test, the CPU split as the window splits it."""
    from workbench.core.distribute import split_cpu
    from workbench.core.tf_loader import load_tensorflow

    return load_tensorflow(setup=split_cpu)


# --- the tiny project and the trained models ---------------------------------------------------


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory):
    """A small real-digit .npz and a fast MLP project that uses it."""
    folder = tmp_path_factory.mktemp("tiny")
    with np.load(ROOT / "resources" / "datasets" / "mnist-10k.npz") as data:
        x, y = data["x"], data["y"]
    pick = np.random.default_rng(0).permutation(len(x))[:500]
    np.savez(folder / "digits.npz", x_train=x[pick[:400]], y_train=y[pick[:400]],
             x_test=x[pick[400:]], y_test=y[pick[400:]])
    project = json.loads((TEMPLATES / "mnist-mlp.json").read_text())
    project["dataset"] = str(folder / "digits.npz")
    project["training"]["epochs"] = 2
    (folder / "mlp.json").write_text(json.dumps(project))
    return folder


@pytest.fixture(scope="module")
def tiny(tiny_project, tmp_path_factory):
    """The tiny project copied into a folder of this module's own (its tests may write there)."""
    folder = tmp_path_factory.mktemp("tiny") / "project"
    shutil.copytree(tiny_project, folder)
    project = json.loads((folder / "mlp.json").read_text())
    project["dataset"] = str(folder / "digits.npz")
    (folder / "mlp.json").write_text(json.dumps(project))
    return folder


@dataclass(frozen=True)
class Trained:
    """A template trained one epoch: its project, the Keras model and the data it saw.

    Shared by many tests: read it, predict with it, save it; never train it further (use
    ``weights`` to make a model of one's own).
    """

    project: object
    model: object
    data: object

    @property
    def spec(self) -> dict:
        return self.project.model.to_dict()

    @property
    def weights(self) -> list:
        return [w.copy() for w in self.model.get_weights()]


@pytest.fixture(scope="session")
def trained_mlp():
    from workbench.actions.train import train
    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template

    project = load_template("mnist-mlp")
    project.training.epochs = 1
    data = load_dataset("mnist-embedded").subset(300, 100)
    return Trained(project, train(project.model, project.training, data, "d").model, data)


@pytest.fixture(scope="session")
def trained_cnn():
    from workbench.core.build import build_model, compile_model, set_seed
    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template

    project = load_template()
    data = load_dataset("mnist-embedded").subset(600)
    set_seed(0)
    model = build_model(project.model)
    compile_model(model, project.training)
    model.fit(data.x_train, data.y_train, epochs=1, batch_size=32, verbose=0)
    return Trained(project, model, data)


# --- the command line --------------------------------------------------------------------------


@dataclass
class CliRun:
    """What ``workbench ARGS`` did: exit code and output, as ``subprocess.run`` reports them."""

    args: list
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capfd, monkeypatch):
    """``cli(*args, cwd=None)``: ``workbench.cli.main(args)`` in this process (file descriptors
    1 and 2 captured, as a terminal would see them); a ``CliRun``. Where the process itself is
    the point (start-up noise, a broken pipe, a memory limit, devices made before TensorFlow's
    first op, a kill), use ``run_process``."""
    from workbench import cli as workbench_cli

    def run(*args, cwd=None) -> CliRun:
        argv = [str(a) for a in args]
        capfd.readouterr()  # what came before is not this command's
        with monkeypatch.context() as patch:
            if cwd is not None:
                patch.chdir(cwd)
            patch.setattr(sys, "argv", ["workbench", *argv])
            try:
                code = workbench_cli.main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 1
        out, err = capfd.readouterr()
        return CliRun(argv, code, out, err)

    return run


def run_process(*args, cwd=None, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    """``python -m workbench ARGS`` in a process of its own, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, env=env,
                          timeout=timeout, **kwargs)


@pytest.fixture
def process():
    """``process(*args, cwd=None)``: ``python -m workbench ARGS`` in a process of its own."""
    return run_process


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture
def free_ports():
    """``free_ports(n)``: n loopback ports free now, for worker processes to bind."""
    return _free_ports


@pytest.fixture
def random_classes_project(tmp_path):
    """A one-epoch softmax project on the built-in ``random-classes`` (8x8) data, in tmp_path."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps({
        "format": "workbench/1", "dataset": "random-classes",
        "model": {"input_shape": [8, 8], "layers": [
            {"class_name": "Flatten", "config": {}},
            {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]},
        "training": {"epochs": 1}}))
    return path


@pytest.fixture(autouse=True)
def language_follows_the_environment():
    """A test that chooses a language (Help ▸ Language, ``i18n.set_language``) leaves the next
    one following the environment again."""
    yield
    from workbench import i18n

    i18n.set_language(None)
