"""The eight classic tutorials (../shared/SEEDS.md): what each did, what it reported, and ours.

Each ``Tutorial`` names the template that rebuilds its model with its settings, says in two
sentences what the tutorial did and what it reported, and turns a finished run (the project
file's run dict, and the final weights where a figure needs them) into rows of
``(what, the tutorial's figure, ours)``. Qt-free: the Help ▸ Tutorials card shows these rows.
The texts of ``Tutorial``, ``Step`` and ``Variant`` are English, marked N_: translate them with
``_()`` where they are shown; the rows come translated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.core.run_text import count, percent
from workbench.core.templates import load_template
from workbench.i18n import N_, _

Row = tuple[str, str, str]  # what, the tutorial's figure, ours ("" before a run)


@dataclass(frozen=True)
class Step:
    """One model of a tutorial that builds several (H: logistic → one → two hidden layers)."""

    template: str
    title: str
    reported: str  # the tutorial's figure for this step


@dataclass(frozen=True)
class Variant:
    """One of tutorial C's comparisons: a change to the training settings, run with one click."""

    title: str
    training: dict[str, Any]  # keys of the project file's "training" object to set


@dataclass(frozen=True)
class Tutorial:
    key: str  # "A" … "H"
    title: str
    template: str
    did: str
    reported: str
    params: int | None = None  # the parameter count the tutorial states
    epochs: int | None = None  # the tutorial's epochs where the template trains longer
    figures: Callable[[dict, Sequence[np.ndarray] | None], list[Row]] | None = None
    steps: tuple[Step, ...] = ()
    variants: tuple[Variant, ...] = ()
    pictures: tuple[str, ...] = field(default=("curves",))
    # A sweep preset of the Experiments tab this tutorial runs with one click ("optimizers").
    preset: str = ""

    def project(self, template: str | None = None):
        """The tutorial's project (or one of its steps'), with the tutorial's exact settings."""
        project = load_template(template or self.template)
        if self.epochs is not None and (template or self.template) == self.template:
            project.training.epochs = self.epochs
        return project

    def rows(self, run: dict | None, weights: Sequence[np.ndarray] | None = None) -> list[Row]:
        """The comparison rows for the last run (``run``: a project-file run dict, or None)."""
        rows: list[Row] = []
        if self.params is not None:
            ours = f"{sum(int(np.size(w)) for w in weights):,}" if weights else ""
            rows.append((_("parameters"), f"{self.params:,}", ours))
        if self.figures is not None:
            rows += self.figures(run or {}, weights)
        return rows


def _pct(value: float | None) -> str:
    return "" if value is None else percent(value)


def _series(run: dict, key: str) -> list[float]:
    return [float(v) for v in (run.get("history") or {}).get(key, [])]


def _test(run: dict, key: str = "accuracy") -> float | None:
    value = (run.get("test") or {}).get(key)
    return None if value is None else float(value)


def _first_last(values: list[float]) -> str:
    if not values:
        return ""
    return _pct(values[0]) if len(values) == 1 else f"{_pct(values[0])} → {_pct(values[-1])}"


def test_accuracy_row(reported: str) -> Callable[[dict, Any], list[Row]]:
    return lambda run, _weights: [(_("test accuracy"), _(reported) if reported else "",
                                   _pct(_test(run)))]


def _linear_figures(run: dict, weights) -> list[Row]:
    ours = ""
    if weights is not None and len(weights) >= 2:  # Dense(1) on one input: y(1) = w + b
        kernel, bias = np.asarray(weights[0]), np.asarray(weights[1])
        if kernel.size == 1 and bias.size == 1:
            ours = f"{float(kernel.reshape(-1)[0] + bias.reshape(-1)[0]):.2f}"
    epochs = len(_series(run, "loss"))
    after = _("{value} after {epochs}").format(value=ours, epochs=count(epochs, "epoch"))
    return [(_("prediction at x = 1"), _("≈ 0.7 after 200 SGD epochs"), after if ours else ""),
            (_("final training loss (MSE)"), "", _series(run, "loss")[-1:] and
             f"{_series(run, 'loss')[-1]:.4f}" or "")]


def _memorise_figures(run: dict, _weights) -> list[Row]:
    return [(_("training accuracy"), _("rises epoch after epoch"),
             _first_last(_series(run, "accuracy"))),
            (_("test accuracy"), _("stays at chance (10 %)"), _pct(_test(run)))]


def _deep_mlp_figures(run: dict, _weights) -> list[Row]:
    val = _series(run, "val_accuracy")
    rows = [(_("validation accuracy"), _("95.4 % → 96.8 % over 5 epochs (full MNIST)"),
             _first_last(val))]
    rows += [("  " + _("epoch {number}").format(number=i), "", _pct(v))
             for i, v in enumerate(val, start=1)]
    rows.append((_("test accuracy"), "", _pct(_test(run))))
    return rows


FONTS_STEPS = (
    Step("fonts-logistic", N_("Logistic regression"), N_("≈ 40 % validation accuracy")),
    Step("fonts-one-hidden", N_("One hidden layer (128 sigmoid)"), N_("better than logistic")),
    Step("fonts-two-hidden", N_("Two hidden layers (128, 32 sigmoid)"),
         N_("68 % train / 63 % validation")),
    Step("fonts-two-hidden-adam", N_("Two hidden layers with Adam"),
         N_("the same, in fewer epochs")),
)


def fonts_rows(results: dict[str, dict]) -> list[Row]:
    """Tutorial H's ladder: one row per step, ours from the last run of each step's template
    (``results`` maps a template key to its run dict)."""
    rows = []
    for step in FONTS_STEPS:
        run = results.get(step.template)
        ours = ""
        if run:
            train = _series(run, "accuracy")
            ours = _("{train} train / {test} test").format(
                train=_pct(train[-1]) if train else "?", test=_pct(_test(run)))
        rows.append((_(step.title), _(step.reported), ours))
    return rows


def accuracy_every(run: dict, every: int = 10) -> tuple[list[int], list[float], list[float]]:
    """Tutorial H's curves: train and validation accuracy at every ``every``-th epoch
    (epochs counted from 1; the last epoch always included)."""
    train, val = _series(run, "accuracy"), _series(run, "val_accuracy")
    epochs = [e for e in range(1, len(train) + 1) if e % every == 0 or e == len(train)]
    return (epochs, [train[e - 1] for e in epochs],
            [val[e - 1] for e in epochs if e - 1 < len(val)])


# The four optimizers run together as the Experiments tab's "Compare optimizers" sweep
# (``preset``); these are the comparisons that change something else.
C_VARIANTS = (
    Variant(N_("MSE instead of cross-entropy"), {"loss": "mean_squared_error"}),
    Variant(N_("EarlyStopping on val_loss"), {"epochs": 30, "early_stopping": {
        "monitor": "val_loss", "patience": 2, "restore_best_weights": True}}),
)


def runs_rows(runs: Sequence[dict]) -> list[Row]:
    """Tutorial C: every run of the project, side by side (settings → validation accuracy)."""
    rows = []
    for run in runs:
        training = run.get("training") or {}
        opt = training.get("optimizer")
        name = opt.get("class_name", "?") if isinstance(opt, dict) else str(opt)
        config = opt.get("config", {}) if isinstance(opt, dict) else {}
        if config.get("momentum"):
            name += " " + _("(momentum {momentum})").format(momentum=config["momentum"])
        what = _("run {id}: {optimizer}, {loss}").format(
            id=run.get("id", "?"), optimizer=name, loss=training.get("loss", "?"))
        if training.get("early_stopping"):
            what += _(", early stopping")
        val = _series(run, "val_accuracy")
        scores = [_("val {accuracy}").format(accuracy=_pct(val[-1]))] if val else []
        if _test(run) is not None:
            scores.append(_("test {accuracy}").format(accuracy=_pct(_test(run))))
        ours = _("{value} after {epochs}").format(
            value=_(", ").join(scores), epochs=count(len(_series(run, "loss")), "epoch"))
        rows.append((what, "", ours))
    return rows


def _optimizer_name(value) -> str:
    if isinstance(value, dict):
        name = value.get("class_name", "?")
        momentum = (value.get("config") or {}).get("momentum")
        return (name + " " + _("(momentum {momentum})").format(momentum=momentum)
                if momentum else name)
    return {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}.get(str(value), str(value))


def sweep_rows(trials: Sequence[Any]) -> list[Row]:
    """Tutorial C's one-click comparison: a row per trial of the optimizer sweep (objects with
    ``number``, ``params``, ``value``, ``state`` and ``history``: ``actions.sweep.TrialReport``),
    its validation accuracy per epoch first to last."""
    rows = []
    for trial in sorted(trials, key=lambda t: t.number):
        params = dict(trial.params)
        what = (_optimizer_name(params.pop("optimizer")) if "optimizer" in params
                else ", ".join(f"{k}={v}" for k, v in params.items()))
        val = [float(v) for v in (trial.history or {}).get("val_accuracy", [])]
        ours = _first_last(val) if val else (trial.state if trial.value is None
                                              else f"{trial.value:.4g}")
        if val and trial.state != "complete":
            ours += f" ({trial.state})"
        rows.append((_("sweep trial {number}: {what}").format(number=trial.number, what=what),
                     "", ours))
    return rows


TUTORIALS = (
    Tutorial("A", N_("TF basics: MNIST MLP"), "mnist-mlp",
             N_("Flatten → Dense 128 relu → Dropout 0.2 → Dense 10 softmax on 28×28 MNIST digits; "
                "Adam, sparse categorical cross-entropy, 5 epochs."),
             N_("The test accuracy after 5 epochs, and the model's 101,770 parameters."),
             params=101_770, figures=test_accuracy_row(N_("printed after 5 epochs"))),
    Tutorial("B", N_("TF basics: MNIST CNN"), "mnist-cnn",
             N_("Conv2D 32 3×3 relu → MaxPooling 2 → Conv2D 64 3×3 relu → MaxPooling 2 → Flatten → "
                "Dense 64 relu → Dense 10 softmax; Adam, sparse cross-entropy, 5 epochs."),
             N_("The test accuracy, and 121,930 parameters (with a Reshape from 28×28)."),
             params=121_930, epochs=5, figures=test_accuracy_row(N_("printed after 5 epochs"))),
    Tutorial("C", N_("Loss, optimizer and regularisation lessons"), "mnist-mlp",
             N_("Trains one model again and again: MSE against cross-entropy; SGD, SGD with "
                "momentum, Adam, RMSprop; Dropout; EarlyStopping on val_loss."),
             N_("Nothing single: comparing the runs side by side is the lesson."),
             variants=C_VARIANTS, preset="optimizers"),
    Tutorial("D", N_("Keras intro: linear regression"), "linear-regression",
             N_("Dense 1 → Activation linear on 100 points x in [0, 1], y = x + 0.1·noise; SGD, "
                "MSE, 200 epochs."),
             N_("The data and the fitted line; predicting x = 1 gives ≈ 0.7 after 200 epochs "
                "(SGD is slow here: a lesson in itself). 2 parameters."),
             params=2, figures=_linear_figures),
    Tutorial("E", N_("Keras intro: memorising random data"), "memorise-random",
             N_("Dense 100 relu → Dense 10 softmax on 1,000 random vectors with random labels; "
                "RMSprop, categorical cross-entropy on one-hot labels, 100 epochs, batch 32."),
             N_("Training accuracy rises while nothing generalises. 11,110 parameters."),
             params=11_110, figures=_memorise_figures),
    Tutorial("F", N_("5-layer ANN on MNIST"), "deep-mlp",
             N_("Dense 256-128-64-32 relu → Dense 10 softmax on flattened digits; Adam lr 0.01, "
                "categorical cross-entropy, batch 128, 5 epochs, validation every epoch."),
             N_("Validation accuracy 95.4 % → 96.8 % over the 5 epochs on the full 60,000 MNIST "
                "digits (the embedded 10,000 give a little less). 244,522 parameters."),
             params=244_522, figures=_deep_mlp_figures),
    Tutorial("G", N_("Backprop, CNN and LSTM builders"), "lstm-rows",
             N_("An LSTM 64 (return_sequences) over the 28 rows of an image → Flatten → Dense 10 "
                "softmax; Adam, sparse cross-entropy."),
             N_("The LSTM variant's 41,738 parameters."),
             params=41_738, figures=test_accuracy_row("")),
    Tutorial("H", N_("Font classifier: logistic → 1 → 2 hidden layers"), "fonts-two-hidden",
             N_("36×36 glyphs of 5 fonts, flattened to 1,296 pixels: logistic regression, then "
                "a hidden layer of 128 sigmoid units, then 128 and 32; plain gradient descent lr "
                "0.02 (later Adam), cross-entropy; train and test accuracy every 10 epochs."),
             N_("Logistic regression ≈ 40 %; two hidden layers 68 % train / 63 % validation "
                "(170,309 parameters). Pictures: accuracy curves, the 5×5 confusion matrix, 32 "
                "first-layer units as 36×36 images, the output weights as a heatmap. (Its images "
                "are not published; ours are the Workbench's own `fonts` dataset.)"),
             params=170_309, steps=FONTS_STEPS,
             pictures=("curves", "confusion", "units", "output")),
)


def tutorial(key: str) -> Tutorial:
    for item in TUTORIALS:
        if item.key == key:
            return item
    raise KeyError(f"no tutorial {key!r}")


def first_layer_units(weights: Sequence[np.ndarray] | None, image_shape=(36, 36),
                      limit: int = 32, cols: int = 8) -> np.ndarray | None:
    """Tutorial H's picture: the first ``limit`` units of the first layer, each unit's incoming
    weights as an image, ``cols`` to a row (32 of 128 in a 4×8 grid). None without weights or
    when the first kernel does not fit ``image_shape``."""
    from workbench.core import introspection

    if not weights or np.ndim(weights[0]) != 2:
        return None
    try:
        units = introspection.dense_unit_images(np.asarray(weights[0]), image_shape)
    except ValueError:
        return None
    units = units[:limit]
    return introspection.tile_images(units, cols=min(cols, len(units)), pad=1, fill=np.nan)
