"""The one table of supported layers, holding Keras's truth.

Palette, property editor, validation, import and code export all read this table; adding a layer
type is one entry here. Names are Keras's own (class names and constructor arguments), and each
``Param.default`` is the default Keras's constructor has, so an argument left out of a spec means
what it means to Keras; ``required`` marks the arguments Keras has no default for
(tests/core/test_catalogue.py checks both against ``inspect.signature``). The palette's starting
values for a new layer (relu for a new Conv2D) are a separate field, ``LayerType.suggested``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.i18n import N_, _

ACTIVATIONS = (
    "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "swish", "softplus",
    "softsign", "leaky_relu", "relu6", "hard_sigmoid", "mish", "exponential",
)
INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "random_normal", "random_uniform", "truncated_normal", "orthogonal", "zeros", "ones",
)
PADDINGS = ("valid", "same")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")
# Keras's regularizer classes, as they serialise: {"class_name": "L2", "config": {"l2": 0.01}}.
REGULARIZERS = ("L1", "L2", "L1L2")
INT32_MAX = 2**31 - 1
MAX_REGULARIZER = 1000.0


@dataclass(frozen=True)
class Param:
    """One constructor argument of a layer, with what the editor and validation need."""

    name: str
    kind: str  # int | float | bool | choice | ints | shape | regularizer | initializer
    default: Any  # Keras's default for the argument (None where ``required``)
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    length: int = 0  # for "ints": how many (kernel_size has 2)
    optional: bool = False  # None is allowed (e.g. pooling strides default to pool_size)
    exclusive_max: bool = False  # maximum itself is not allowed (Dropout rate < 1)
    required: bool = False  # Keras has no default: a spec must give it

    def check(self, value: Any) -> str | None:
        """Return why ``value`` is not acceptable, or None when it is."""
        if value is None:
            if self.required:
                return _("is required (Keras has no default for it)")
            return None if (self.optional or self.kind == "regularizer") else _("must be set")
        kind = self.kind
        if kind == "bool":
            return None if isinstance(value, bool) else _("must be true or false")
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return _("must be a whole number")
            if abs(value) > INT32_MAX:  # TensorFlow sizes are int32
                return _("must be at most {limit:,}").format(limit=INT32_MAX)
            return self._check_range(value)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return _("must be a number")
            if value != value or value in (float("inf"), float("-inf")):
                return _("must be a finite number")
            return self._check_range(value)
        if kind in ("choice", "initializer"):
            if value not in self.choices:
                return _("must be one of {choices}").format(
                    choices=", ".join(map(str, self.choices)))
            return None
        if kind in ("ints", "shape"):
            if isinstance(value, int) and not isinstance(value, bool) and kind == "ints":
                value = (value,) * self.length
            if not isinstance(value, (list, tuple)) or not value:
                return _("must be a list of whole numbers")
            if self.length and len(value) != self.length:
                return _("must have {count} values").format(count=self.length)
            for v in value:
                if isinstance(v, bool) or not isinstance(v, int):
                    return _("must be a list of whole numbers")
                if kind == "ints" and v < 1:
                    return _("values must be at least 1")
                if v > INT32_MAX:  # TensorFlow's kernels take int32 sizes and strides
                    return _("values must be at most {limit:,}").format(limit=INT32_MAX)
                if kind == "shape" and v < 1 and v != -1:
                    return _("sizes must be positive (or -1 for 'the rest')")
            if kind == "shape" and list(value).count(-1) > 1:
                return _("may use -1 only once")
            return None
        if kind == "regularizer":
            return check_regularizer(value)
        return None

    def _check_range(self, value: float) -> str | None:
        if self.minimum is not None and value < self.minimum:
            return _("must be at least {minimum:g}").format(minimum=self.minimum)
        if self.maximum is not None:
            if self.exclusive_max and value >= self.maximum:
                return _("must be less than {maximum:g}").format(maximum=self.maximum)
            if value > self.maximum:
                return _("must be at most {maximum:g}").format(maximum=self.maximum)
        return None


def check_regularizer(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("class_name") not in REGULARIZERS:
        return _('must be none or {"class_name": "L1"|"L2"|"L1L2", "config": {...}}')
    config = value.get("config") or {}
    if not isinstance(config, dict):
        return _('needs a "config" object such as {"l2": 0.01}')
    for key, factor in config.items():
        if key not in ("l1", "l2"):
            return _("has an unknown setting {key!r}").format(key=key)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not (
                0 <= factor <= MAX_REGULARIZER):
            # Larger factors swamp the loss until it overflows to NaN, which reads as a learning
            # rate problem; say it here instead.
            return _("factors must be numbers from 0 to {limit:g}").format(limit=MAX_REGULARIZER)
    return None


def regularizer(kind: str | None, factor: float = 0.01) -> dict | None:
    """The Keras-serialised form of an L1/L2 regularizer, as the spec stores it."""
    if not kind:
        return None
    if kind == "L1L2":
        return {"class_name": "L1L2", "config": {"l1": factor, "l2": factor}}
    return {"class_name": kind, "config": {kind.lower(): factor}}


@dataclass(frozen=True)
class LayerType:
    class_name: str
    category: str
    help: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    # The palette's starting values for a new layer (every required argument has one).
    suggested: dict[str, Any] = field(default_factory=dict)
    input_rank: int | None = None  # the rank of input it needs, without the batch axis
    training_only: bool = False  # acts only while training (dropout, noise, augmentation)
    merges: bool = False  # takes two or more inputs (Add, Concatenate, ...)
    # Its output for one input is its input's values unchanged (moved around, or untouched
    # outside training): the activations view gives it no row of its own.
    passes_through: bool = False

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def defaults(self) -> dict[str, Any]:
        """Keras's defaults: what each argument a spec leaves out means (required ones absent)."""
        return {p.name: _copy(p.default) for p in self.params if not p.required}

    def new_config(self) -> dict[str, Any]:
        """A new layer's settings as the palette adds it: Keras's defaults, then ``suggested``."""
        values = self.defaults()
        values.update({k: _copy(v) for k, v in self.suggested.items()})
        return values


def _copy(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


# Reusable parameter definitions -----------------------------------------------------------------


def _activation(default: str = "linear",
                help: str = N_("Function applied to the output")) -> Param:
    return Param("activation", "choice", default, help, choices=ACTIVATIONS)


def _initializer(name: str, default: str, help: str) -> Param:
    return Param(name, "initializer", default, help, choices=INITIALIZERS)


def _reg(name: str, help: str) -> Param:
    return Param(name, "regularizer", None, help)


_USE_BIAS = Param("use_bias", "bool", True, N_("Add a learned bias to each output"))
_KERNEL_INIT = _initializer("kernel_initializer", "glorot_uniform", N_("How the weights start"))
_BIAS_INIT = _initializer("bias_initializer", "zeros", N_("How the biases start"))
_KERNEL_REG = _reg("kernel_regularizer", N_("Penalty on the weights (L1/L2) against overfitting"))
_BIAS_REG = _reg("bias_regularizer", N_("Penalty on the biases"))
_UNITS = Param("units", "int", None, N_("Number of neurons (outputs)"), minimum=1, maximum=100_000,
               required=True)
_RATE = Param(
    "rate", "float", None, N_("Fraction of inputs set to zero during training"),
    minimum=0.0, maximum=1.0, exclusive_max=True, required=True,
)
_PADDING = Param(
    "padding", "choice", "valid",
    N_("'valid': no padding, output shrinks; 'same': pad so the output keeps the input size"),
    choices=PADDINGS,
)
_FILL = Param("fill_mode", "choice", "reflect", N_("How points outside the image are filled"),
              choices=FILL_MODES)
_INTERP = Param("interpolation", "choice", "bilinear", N_("How new pixels are computed"),
                choices=INTERPOLATIONS)


def _pool(class_name: str, help: str, pool_size_required: bool) -> LayerType:
    # Keras: MaxPooling2D(pool_size=(2, 2)) but AveragePooling2D(pool_size) has no default.
    pool_size = Param("pool_size", "ints", None if pool_size_required else [2, 2],
                      N_("Window size (height, width)"), length=2, required=pool_size_required)
    return LayerType(class_name, N_("Pooling"), help, (
        pool_size,
        Param("strides", "ints", None, N_("Step between windows; empty = the pool size"),
              length=2, optional=True),
        _PADDING,
    ), suggested={"pool_size": [2, 2]}, input_rank=3)


def _recurrent(class_name: str, help: str) -> LayerType:
    return LayerType(class_name, N_("Recurrent"), help, (
        Param("units", "int", None, N_("Size of the hidden state"), minimum=1, maximum=10_000,
              required=True),
        _activation("tanh", N_("Activation of the state update")),
        Param("return_sequences", "bool", False,
              N_("Output the state at every time step (needed to stack recurrent layers)")),
        Param("dropout", "float", 0.0, N_("Dropout on the inputs"), minimum=0.0, maximum=1.0,
              exclusive_max=True),
        Param("recurrent_dropout", "float", 0.0, N_("Dropout on the recurrent state"),
              minimum=0.0, maximum=1.0, exclusive_max=True),
        _USE_BIAS,
        _KERNEL_INIT,
        _KERNEL_REG,
    ), suggested={"units": 64}, input_rank=2)


def _augmentation(class_name: str, help: str, params: tuple[Param, ...],
                  suggested: dict[str, Any]) -> LayerType:
    return LayerType(class_name, N_("Augmentation"), help, (*params, _FILL, _INTERP),
                     suggested=suggested, input_rank=3, training_only=True, passes_through=True)


def _merge(class_name: str, help: str) -> LayerType:
    return LayerType(class_name, N_("Merge"), help, merges=True)


_LAYERS: tuple[LayerType, ...] = (
    # Core
    LayerType("Dense", N_("Core"), N_("Fully connected layer: every input feeds every neuron"), (
        _UNITS, _activation(), _USE_BIAS, _KERNEL_INIT, _BIAS_INIT, _KERNEL_REG, _BIAS_REG,
    ), suggested={"units": 64}),
    LayerType("Activation", N_("Core"), N_("Applies an activation function on its own"), (
        Param("activation", "choice", None, N_("Function applied to the output"),
              choices=ACTIVATIONS, required=True),
    ), suggested={"activation": "relu"}),
    LayerType("Flatten", N_("Reshaping"), N_("Flattens an image or sequence into one long vector"),
              passes_through=True),
    LayerType("Reshape", N_("Reshaping"),
              N_("Gives the same values a new shape (e.g. 784 → 28×28×1)"), (
        Param("target_shape", "shape", None,
              N_("New shape without the batch axis; the total size must stay the same"),
              required=True),
    ), suggested={"target_shape": [28, 28, 1]}, passes_through=True),
    LayerType("Dropout", N_("Regularization"),
              N_("Randomly drops inputs while training, against overfitting"), (_RATE,),
              suggested={"rate": 0.2}, training_only=True, passes_through=True),
    LayerType("GaussianNoise", N_("Regularization"), N_("Adds random noise while training"), (
        Param("stddev", "float", None, N_("Standard deviation of the noise"), minimum=0.0,
              required=True),
    ), suggested={"stddev": 0.1}, training_only=True, passes_through=True),
    LayerType("SpatialDropout2D", N_("Regularization"),
              N_("Drops whole feature maps of an image while training"), (_RATE,),
              suggested={"rate": 0.2}, input_rank=3, training_only=True, passes_through=True),
    # Convolution
    LayerType("Conv2D", N_("Convolution"),
              N_("2-D convolution: learns small filters that slide over an image"), (
        Param("filters", "int", None, N_("Number of filters (output channels)"), minimum=1,
              maximum=4096, required=True),
        Param("kernel_size", "ints", None, N_("Filter size (height, width)"), length=2,
              required=True),
        Param("strides", "ints", [1, 1], N_("Step of the filter (height, width)"), length=2),
        _PADDING, _activation(), _USE_BIAS, _KERNEL_INIT, _KERNEL_REG,
    ), suggested={"filters": 32, "kernel_size": [3, 3], "activation": "relu"}, input_rank=3),
    LayerType("Conv1D", N_("Convolution"), N_("1-D convolution over a sequence"), (
        Param("filters", "int", None, N_("Number of filters"), minimum=1, maximum=4096,
              required=True),
        Param("kernel_size", "ints", None, N_("Filter length"), length=1, required=True),
        Param("strides", "ints", [1], N_("Step of the filter"), length=1),
        _PADDING, _activation(), _USE_BIAS, _KERNEL_INIT, _KERNEL_REG,
    ), suggested={"filters": 32, "kernel_size": [3], "activation": "relu"}, input_rank=2),
    LayerType("UpSampling2D", N_("Convolution"),
              N_("Repeats rows and columns to enlarge an image"), (
        Param("size", "ints", [2, 2], N_("Factor (height, width)"), length=2),
    ), input_rank=3),
    LayerType("ZeroPadding2D", N_("Convolution"),
              N_("Adds rows and columns of zeros around an image"), (
        Param("padding", "ints", [1, 1], N_("Rows and columns added on each side"), length=2),
    ), input_rank=3),
    # Pooling
    _pool("MaxPooling2D", N_("Keeps the largest value in each window (downsamples an image)"),
          pool_size_required=False),
    _pool("AveragePooling2D", N_("Averages each window (downsamples an image)"),
          pool_size_required=True),
    LayerType("MaxPooling1D", N_("Pooling"),
              N_("Keeps the largest value in each window of a sequence"), (
        Param("pool_size", "int", 2, N_("Window length"), minimum=1),
        _PADDING,
    ), input_rank=2),
    LayerType("GlobalAveragePooling2D", N_("Pooling"),
              N_("Averages each feature map to one number (image → vector)"), input_rank=3),
    LayerType("GlobalMaxPooling2D", N_("Pooling"),
              N_("Keeps the largest value of each feature map (image → vector)"), input_rank=3),
    LayerType("GlobalAveragePooling1D", N_("Pooling"), N_("Averages over time (sequence → vector)"),
              input_rank=2),
    # Normalization
    LayerType("BatchNormalization", N_("Normalization"),
              N_("Normalises activations over the batch; speeds up and stabilises training"), (
        Param("momentum", "float", 0.99, N_("Momentum of the moving average"), minimum=0.0,
              maximum=1.0),
        Param("epsilon", "float", 0.001, N_("Small number added to the variance"), minimum=0.0),
    )),
    LayerType("LayerNormalization", N_("Normalization"),
              N_("Normalises each sample over its features"), (
        Param("epsilon", "float", 0.001, N_("Small number added to the variance"), minimum=0.0),
    )),
    # Recurrent
    _recurrent("LSTM", N_("Long short-term memory over a sequence (timesteps, features)")),
    _recurrent("GRU", N_("Gated recurrent unit over a sequence (timesteps, features)")),
    _recurrent("SimpleRNN", N_("Plain recurrent layer over a sequence (timesteps, features)")),
    # Merge (two or more inputs, named in the layer's "inbound"; Keras checks their shapes)
    _merge("Add", N_("Adds its inputs element by element (a skip connection)")),
    LayerType("Concatenate", N_("Merge"),
              N_("Joins its inputs along one axis (parallel branches)"), (
        Param("axis", "int", -1, N_("The axis to join along (-1: the last, the channels)"),
              minimum=-8, maximum=8),
    ), merges=True),
    _merge("Multiply", N_("Multiplies its inputs element by element (a gate)")),
    _merge("Average", N_("Averages its inputs element by element")),
    _merge("Subtract", N_("Subtracts its second input from its first (exactly two inputs)")),
    _merge("Maximum", N_("Keeps the largest of its inputs element by element")),
    _merge("Minimum", N_("Keeps the smallest of its inputs element by element")),
    # Augmentation (active only while training)
    _augmentation("RandomRotation", N_("Rotates training images at random (only while training)"), (
        Param("factor", "float", None, N_("Largest rotation as a fraction of a full turn"),
              minimum=0.0, maximum=1.0, required=True),
    ), {"factor": 0.05}),
    _augmentation("RandomZoom",
                  N_("Zooms training images in or out at random (only while training)"), (
        Param("height_factor", "float", None, N_("Largest zoom as a fraction of the height"),
              minimum=-1.0, maximum=1.0, required=True),
        Param("width_factor", "float", None,
              N_("Largest zoom of the width; empty = same as height"),
              minimum=-1.0, maximum=1.0, optional=True),
    ), {"height_factor": 0.1}),
    _augmentation("RandomTranslation",
                  N_("Shifts training images at random (only while training)"), (
        Param("height_factor", "float", None,
              N_("Largest vertical shift as a fraction of the height"),
              minimum=0.0, maximum=1.0, required=True),
        Param("width_factor", "float", None,
              N_("Largest horizontal shift as a fraction of the width"),
              minimum=0.0, maximum=1.0, required=True),
    ), {"height_factor": 0.1, "width_factor": 0.1}),
)

CATALOGUE: dict[str, LayerType] = {t.class_name: t for t in _LAYERS}
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(t.category for t in _LAYERS))
RANK_NAMES = {2: N_("a sequence (timesteps, features)"),
              3: N_("an image (height, width, channels)")}  # translated where shown


def layer_type(class_name: str) -> LayerType:
    """The catalogue entry, or KeyError with the names we know."""
    try:
        return CATALOGUE[class_name]
    except KeyError:
        raise KeyError(
            f"unknown layer type {class_name!r}; known types: {', '.join(CATALOGUE)}"
        ) from None


def by_category() -> dict[str, list[LayerType]]:
    groups: dict[str, list[LayerType]] = {c: [] for c in CATEGORIES}
    for t in _LAYERS:
        groups[t.category].append(t)
    return groups


def passes_through(class_name: str) -> bool:
    """Whether a Keras layer of this class outputs its input's values unchanged at inference
    (catalogue layers only; a layer type we do not know is assumed to compute something)."""
    ltype = CATALOGUE.get(class_name)
    return ltype is not None and ltype.passes_through


def merges(class_name: str) -> bool:
    """Whether a layer of this class takes two or more inputs (Add, Concatenate, ...)."""
    ltype = CATALOGUE.get(class_name)
    return ltype is not None and ltype.merges


# Merge layers that take exactly this many inputs (Keras refuses any other number).
EXACT_INPUTS = {"Subtract": 2}
