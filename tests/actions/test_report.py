"""The run report (#28): one self-contained HTML file whose figures are the window's figures,
written by `workbench report`, checked in a real (headless) browser where one is installed."""

import base64
import io
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.actions.evaluate import evaluate
from workbench.actions.report import render_report, write_report, write_report_for_project
from workbench.actions.train import train
from workbench.core import introspection, palette
from workbench.core.datasets import load_dataset
from workbench.core.modelio import save_model
from workbench.core.project import Project, save_project, weights_path
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.core.templates import load_template

L = LayerSpec.create
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Parts(HTMLParser):
    """Every image source, link target, script and element id of a page."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.scripts, self.ids, self.svgs = [], [], 0, set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("link", "a") and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self.svgs += 1
        if "id" in attrs:
            self.ids.add(attrs["id"])


def parts(html: str) -> _Parts:
    parser = _Parts()
    parser.feed(html)
    return parser


def decode(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,"), uri[:40]
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    image.load()
    return image


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-embedded").subset(300, 120)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits):
    """A project with two runs (the second with another learning rate), the second's weights
    saved beside it, as `workbench train` and the window's Save leave it."""
    folder = tmp_path_factory.mktemp("report")
    spec = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=12, activation="relu"),
                                L("Dense", units=10, activation="softmax")])
    project = Project(spec, TrainConfig(epochs=2, batch_size=50, validation_split=0.2),
                      "mnist-embedded", name="Tiny digits")
    for run_id, rate in ((1, 0.001), (2, 0.01)):
        project.training.learning_rate = rate
        run = train(spec, project.training, digits, "mnist-embedded", run_id=run_id)
        project.runs.append(run.outcome.record.to_dict())
    path = folder / "tiny.json"
    save_project(project, path)
    save_model(run.model, weights_path(path))
    return path, project, run.model


def test_the_report_holds_the_windows_figures(trained, digits, tmp_path):
    path, project, model = trained
    written = write_report(project, tmp_path / "r.html", digits, model)
    html = written.path.read_text(encoding="utf-8")
    assert written.run_id == 2 and written.notes == []
    found = parts(html)
    assert {"model", "data", "settings", "curves", "evaluation", "weights"} <= found.ids
    # Self-contained: every picture embedded and decodable, no script, nothing fetched.
    assert found.scripts == 0 and not found.links
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", html)
    assert len(found.images) >= 10 * 6 + 12 + 2  # samples, mistakes, weights and colour bar
    for uri in found.images:
        assert decode(uri).size[0] > 0
    assert found.svgs == 2  # the loss and accuracy curves
    # The numbers are the evaluation's (the Evaluation tab's report).
    report = evaluate(model, digits)
    cells = [int(c) for c in re.findall(r'<td style="background: [^"]+">(\d+)<span', html)]
    assert cells == report.confusion.reshape(-1).tolist()
    assert f"{report.accuracy * 100:.2f}%" in html
    for row in report.per_class:
        assert f"<td class=\"num\">{row['f1']:.3f}</td>" in html
    # What changed since run 1, in core.changes' words.
    assert "learning rate 0.001 → 0.01" in html
    # The first layer's 12 units as 28×28 pictures, tiled as the Weights tab tiles them, in its
    # colour map: pixel for pixel the picture core.introspection makes of the kernel.
    kernel = model.get_weights()[0]
    tiles = introspection.tile_images(introspection.dense_unit_images(kernel, (28, 28)),
                                      cols=5, pad=1, fill=np.nan)
    expected = palette.colorize(tiles, palette.DIVERGING, *introspection.symmetric_limits(kernel))
    weights = np.asarray(decode(found.images[-2]))
    scale = weights.shape[1] // expected.shape[1]
    assert scale >= 2 and weights.shape == (expected.shape[0] * scale, expected.shape[1] * scale, 3)
    np.testing.assert_array_equal(weights[::scale, ::scale], expected)


def test_an_earlier_run_leaves_out_what_needs_its_weights(trained, digits):
    _, project, model = trained
    html, run_id, notes = render_report(project, digits, model, run_id=1)
    assert run_id == 1 and any("run 2's" in note for note in notes)
    assert 'id="evaluation"' not in html and 'id="curves"' in html
    assert "The project's first run." in html


def test_the_report_in_chinese(trained, digits):
    """#29: the report speaks the language in use; its figures and Keras's names stay."""
    from workbench import i18n

    _path, project, model = trained
    i18n.set_language("zh_CN")
    html = render_report(project, digits, model)[0]
    assert '<html lang="zh-CN">' in html and "混淆矩阵" in html and "由 Workbench 于" in html
    assert "Confusion matrix" not in html and "Written by the Workbench" not in html
    assert "Dense" in html and "learning rate 0.001 → 0.01" in html
    i18n.set_language("en")
    html = render_report(project, digits, model)[0]
    assert '<html lang="en">' in html and "Confusion matrix" in html


def test_graph_models_are_drawn(digits):
    project = load_template("inception-block")
    project.runs = [{"id": 1, "training": project.training.to_dict(), "history": {
        "loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, "epochs": 2, "status": "completed"}]
    html, _, notes = render_report(project, digits)
    assert notes and "no trained weights" in notes[0]
    boxes = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="200.0"', html)
    assert len(boxes) == len(project.model.layers) + 1  # every layer and the input
    assert html.count("<polyline points=") >= len(project.model.layers) + 1  # arrows, curve
    assert "<th>takes</th>" in html


def test_a_tutorial_project_shows_the_tutorials_figures(digits):
    fonts = load_dataset("fonts")
    project = load_template("fonts-two-hidden")
    run = {"id": 1, "training": project.training.to_dict(), "epochs": 1, "status": "completed",
           "history": {"loss": [1.5], "accuracy": [0.5], "val_accuracy": [0.45]},
           "test": {"loss": 1.4, "accuracy": 0.47}}
    project.runs = [run]
    html, _, _ = render_report(project, fonts)
    assert "Tutorial H" in html and "68 % train / 63 % validation" in html
    assert "50.0% train / 47.0% test" in html  # ours, from core.tutorials.fonts_rows


@pytest.mark.slow
def test_report_command(trained, tmp_path):
    path, _, _ = trained
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "workbench", "report", str(path), "--out",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "run 2" in done.stdout and out.stat().st_size > 10_000
    bad = subprocess.run([sys.executable, "-m", "workbench", "report", str(path), "--run", "7",
                          "--out", str(tmp_path / "x.html")], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1
    assert "no run 7 (its runs: 1, 2)" in bad.stderr and not (tmp_path / "x.html").exists()


def test_many_classes_draw_the_matrix_as_a_picture(trained, tmp_path):
    from workbench.core.build import build_model
    from workbench.core.datasets.dataset import Dataset

    _, project, _ = trained
    model = build_model(ModelSpec((28, 28), [L("Flatten"), L("Dense", units=30,
                                                            activation="softmax")]))
    rng = np.random.default_rng(0)
    many = Dataset("many", rng.random((40, 28, 28), dtype=np.float32), np.arange(40) % 30,
                   rng.random((60, 28, 28), dtype=np.float32), np.arange(60) % 30,
                   "classification", [f"c{i}" for i in range(30)])
    html, _, notes = render_report(project, many, model)
    assert notes == []
    assert '<img class="matrixpicture"' in html and '<table class="matrix">' not in html
    picture = re.search(r'class="matrixpicture" src="([^"]+)"', html).group(1)
    assert decode(picture).size[0] % 30 == 0  # one square per cell


def test_names_from_files_are_text_not_markup(trained, digits):
    _, project, model = trained
    hostile = project.copy()
    hostile.name = '<script>alert("x")</script>'
    html, _, _ = render_report(hostile, digits, model)
    assert parts(html).scripts == 0 and "&lt;script&gt;alert(" in html


def test_write_report_for_project_without_runs(tmp_path):
    project = load_template("mnist-mlp")
    save_project(project, tmp_path / "p.json")
    from workbench.actions.errors import ActionError

    with pytest.raises(ActionError, match="no runs yet"):
        write_report_for_project(tmp_path / "p.json", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


# --- in a real browser --------------------------------------------------------------------------

CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  const svgs = document.querySelectorAll("svg").length;
  const out = document.createElement("pre");
  out.id = "browser-check";
  out.textContent = `images=${images.length} broken=${broken} svgs=${svgs}`;
  document.body.appendChild(out);
});
</script></body>"""


@pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: the Debian package "
                                             "'chromium' is not installed")
def test_the_report_in_chromium(trained, digits, tmp_path):
    _, project, model = trained
    report = write_report(project, tmp_path / "r.html", digits, model).path
    html = report.read_text(encoding="utf-8")
    checked = tmp_path / "checked.html"  # the report plus a script that counts what loaded
    checked.write_text(html.replace("</body>", CHECK), encoding="utf-8")
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run([*flags, "--dump-dom", checked.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    result = re.search(r"images=(\d+) broken=(\d+) svgs=(\d+)", dom)
    assert result, dom[-500:]
    assert int(result.group(1)) == len(parts(html).images) and result.group(2) == "0"
    assert int(result.group(3)) >= 2
    # It prints: a PDF of a few pages, and a screenshot that is not blank.
    pdf = tmp_path / "r.pdf"
    subprocess.run([*flags, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri()],
                   capture_output=True, timeout=120)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 2 <= pages <= 8
    shot = tmp_path / "r.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1000,1400", report.as_uri()],
                   capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.std() > 10  # text, tables and pictures, not an empty page
