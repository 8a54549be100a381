"""The `fonts` dataset: 36×36 grey glyphs in 5 font classes (tutorial H's font classifier).

Tutorial H's own images are not published where we can reach them, so the workbench renders
its own: the 62 letters and digits in five free fonts with Pillow, each glyph several times
with a little variation (size, position, regular or bold weight). The rendered file ships in
``resources/datasets/fonts-36.npz``; ``python tools/make_fonts_dataset.py`` renders it again,
byte for byte, from the same font files (their SHA-256 and the FreeType version are stored in
the file, so a rebuild can tell whether it may expect identical bytes).
"""

from __future__ import annotations

import hashlib
import io
import string
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.datasets.builtin import RESOURCES, shipped_arrays, shipped_dataset
from workbench.core.datasets.dataset import Dataset
from workbench.i18n import N_, _

SIZE = 36
CHARS = string.digits + string.ascii_uppercase + string.ascii_lowercase
VARIANTS = 8  # renderings per glyph and weight: 62 × 2 × 8 = 992 images per font
PER_FONT = len(CHARS) * 2 * VARIANTS
SIZES = (23.0, 25.0)  # font sizes in pixels (to 0.1 px)
SHIFT = 0.75  # random shift either way, in half pixels (Pillow places glyphs by fractions)
SEED = 36  # the variation's seed: part of the file's definition, never a user setting
TEST_FRACTION = 0.2
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SHIPPED = RESOURCES / "datasets" / "fonts-36.npz"


@dataclass(frozen=True)
class Font:
    name: str  # the class name
    package: str  # the Debian package that ships the files
    regular: str
    bold: str


# Debian bookworm: fonts-dejavu-core / fonts-dejavu-extra 2.37-6 (Bitstream Vera licence).
FONTS = (
    Font("DejaVu Sans", "fonts-dejavu-core", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    Font("DejaVu Serif", "fonts-dejavu-core", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    Font("DejaVu Sans Mono", "fonts-dejavu-core", "DejaVuSansMono.ttf",
         "DejaVuSansMono-Bold.ttf"),
    Font("DejaVu Sans Condensed", "fonts-dejavu-extra", "DejaVuSansCondensed.ttf",
         "DejaVuSansCondensed-Bold.ttf"),
    Font("DejaVu Serif Condensed", "fonts-dejavu-extra", "DejaVuSerifCondensed.ttf",
         "DejaVuSerifCondensed-Bold.ttf"),
)
CLASS_NAMES = [font.name for font in FONTS]
DESCRIPTION = N_(
    "36×36 letters and digits in 5 free fonts, one class per font (tutorial H): "
    "3,968 train / 992 test"
)


def font_files(font_dir: Path = DEJAVU) -> list[Path]:
    """Every font file the rendering reads, in a fixed order."""
    return [font_dir / name for font in FONTS for name in (font.regular, font.bold)]


def font_digests(font_dir: Path = DEJAVU) -> list[str]:
    """``file-name:sha256`` of every font file; raises FileNotFoundError if one is missing."""
    return [f"{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()}"
            for path in font_files(font_dir)]


def freetype_version() -> str:
    from PIL import features

    return str(features.version("freetype2"))


def render(font_dir: Path = DEJAVU) -> dict[str, np.ndarray]:
    """All glyph images and their labels, in a fixed order (font, weight, character, variant).

    White ink (255) on black (0), like MNIST. Pillow's basic layout engine draws each glyph
    (no Raqm shaping, so the result depends only on the font file and FreeType).
    """
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(SEED)
    images, labels, chars = [], [], []
    for label, font in enumerate(FONTS):
        for weight in (font.regular, font.bold):
            path = font_dir / weight
            if not path.is_file():
                raise FileNotFoundError(_("{path} (Debian package {package})").format(
                                            path=path, package=font.package))
            for char in CHARS:
                seen: set[bytes] = set()
                while len(seen) < VARIANTS:  # each variant a different picture
                    size = round(float(rng.uniform(*SIZES)), 1)
                    dx, dy = (round(float(v) * 2) / 2 for v in rng.uniform(-SHIFT, SHIFT, 2))
                    face = ImageFont.truetype(str(path), size,
                                              layout_engine=ImageFont.Layout.BASIC)
                    image = Image.new("L", (SIZE, SIZE), 0)
                    ImageDraw.Draw(image).text((SIZE / 2 + dx, SIZE / 2 + dy), char, fill=255,
                                               font=face, anchor="mm")
                    pixels = np.asarray(image, dtype=np.uint8)
                    if pixels.tobytes() in seen:
                        continue
                    seen.add(pixels.tobytes())
                    images.append(pixels)
                    labels.append(label)
                    chars.append(char)
    return {
        "x": np.stack(images),
        "y": np.asarray(labels, dtype=np.uint8),
        "chars": np.asarray(chars, dtype="<U1"),
        "class_names": np.asarray(CLASS_NAMES),
        "fonts": np.asarray(font_digests(font_dir)),
        "freetype": np.asarray([freetype_version()]),
    }


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (what ``np.savez_compressed`` writes) with fixed member dates, so the same
    arrays always give the same bytes (``np.savez`` stamps every member with the current time)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def load_fonts(path: Path, seed: int = 0) -> Dataset:
    """The glyphs split 80/20 per font, shuffled by ``seed``; pixels as float32 in [0, 1]."""
    x, y = shipped_arrays(path, _("fonts dataset"), "tools/make_fonts_dataset.py")
    return shipped_dataset("fonts", (x, y), round(len(y) * TEST_FRACTION), seed, CLASS_NAMES,
                           _(DESCRIPTION))
