"""Reading files that people download and share, within bounds.

A project, a model, a dataset or a picture may come from anyone. Before any library sees one:
- only a regular file is read (a FIFO never blocks us: it is opened non-blocking and refused; a
  link to ``/dev/zero`` or a device is refused), with a size limit that fits what it is;
- a picture is decoded only as a raster image (PNG, JPEG, BMP, GIF, TIFF, WebP), by its content,
  never through Pillow's PostScript/EPS plugin (which runs Ghostscript), and only up to
  ``MAX_IMAGE_PIXELS`` pixels;
- a zip archive (``.npz``, ``.keras``) is checked against the sizes its members declare, their
  compression ratio and the memory the machine has free, before anything is inflated;
- an HDF5 file (a legacy ``.h5`` model, the weights in a ``.keras``) is checked the same way,
  dataset by dataset (``safe_hdf5``).

Every refusal is a ``FileRefused``: one readable line that names the file. Callers turn it into
their own error type (ProjectError, DatasetError, ModelFileError).
"""

from __future__ import annotations

import os
import stat
import warnings
import zipfile
from pathlib import Path

from workbench.i18n import N_, _

MiB = 1 << 20
GiB = 1 << 30

# The most bytes a file of each kind may have (None: no limit of its own; archives are checked by
# what they hold instead).
SIZE_LIMITS: dict[str, int | None] = {
    # A project JSON with its runs is kilobytes; 64 MB (DESIGN's figure, in the README) is
    # generous. core.project writes none larger.
    "project": 64_000_000,
    "json": 16 * MiB,  # other settings files (sweep spaces)
    "image": 256 * MiB,
    "model": None,
    "npz": None,
}

# Raster formats only, as Pillow names them; never EPS/PS (Ghostscript) or any other plugin.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
IMAGE_FORMATS_TEXT = "PNG/JPEG/BMP/GIF/TIFF/WebP"
# 64 megapixels (8000 × 8000): a phone photo fits, a 12000² decompression bomb does not.
MAX_IMAGE_PIXELS = 64_000_000

# An archive member larger than this must not claim a compression ratio above MAX_RATIO: honest
# arrays and weights compress a few times, a bomb a thousand times.
RATIO_CHECKED_FROM = 64 * MiB
MAX_RATIO = 200
MAX_MEMBERS = 10_000


class FileRefused(Exception):
    """One readable sentence on why a file is not read; it names the file."""


def shown(value) -> str:
    """``value`` as text safe for one terminal line: control characters (newlines, escape
    sequences) are written as escapes, the way ``repr`` writes them."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _a(what: str) -> str:
    """``what`` with its article: "an image", "a project file", "a .keras model file" (in the
    language in use: ``what`` is the English noun, marked N_ where it is given)."""
    article = _("an {what}") if what[:1].lower() in "aeiou" else _("a {what}")
    return article.format(what=_(what))


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return _("{count} bytes").format(count=int(n))


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return _("a folder")
    if stat.S_ISFIFO(mode):
        return _("a named pipe (FIFO)")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    return _("not a regular file")


def open_regular(path: str | os.PathLike, kind: str, what: str = "file"):
    """A binary stream on ``path`` if it is a regular file within ``kind``'s size limit.

    Opened with O_NONBLOCK, so a FIFO is refused at once instead of waiting for a writer.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileRefused(_("{path}: no such file").format(path=shown(path))) from None
    except IsADirectoryError:
        raise FileRefused(_("{path}: is a folder, not {a}").format(
                              path=shown(path), a=_a(what))) from None
    except OSError as exc:
        raise FileRefused(_("{path}: cannot be read ({reason})").format(
                              path=shown(path), reason=exc.strerror or exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(_("{path}: is {kind_of}, not {a}; only regular files are "
                                "read").format(
                                  path=shown(path), kind_of=_kind_of(info.st_mode),
                                  a=_a(what)))
        limit = SIZE_LIMITS.get(kind)
        if limit is not None and info.st_size > limit:
            raise FileRefused(_("{path}: {size} is too large for {a} (at most {size2})").format(
                                  path=shown(path), size=_size(info.st_size), a=_a(what),
                                  size2=_size(limit)))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def refuse_special(path: str | os.PathLike, what: str = "file", error=FileRefused) -> None:
    """Refuse (raise ``error``) an existing ``path`` that is not a regular file, for a library
    that opens or makes it itself (SQLite said "disk I/O error" of a FIFO or /dev/zero)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # not there yet: the library makes it, or says why it cannot
    if not stat.S_ISREG(mode):
        raise error(f"{shown(Path(path))}: is {_kind_of(mode)}, not {_a(what)}; "
                    "only regular files are used")


def check_regular(path: str | os.PathLike, kind: str, what: str = "file") -> Path:
    """Refuse ``path`` unless it is a regular file within the size limit (for a library that
    wants a path, such as Keras)."""
    open_regular(path, kind, what).close()
    return Path(path)


def read_bytes(path: str | os.PathLike, kind: str, what: str = "file") -> bytes:
    """The whole content of a regular file, never more than ``kind``'s limit."""
    limit = SIZE_LIMITS.get(kind)
    with open_regular(path, kind, what) as stream:
        data = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(data) > limit:  # it grew while we read it
        raise FileRefused(_("{path}: too large for {a} (at most {size})").format(
                              path=shown(path), a=_a(what), size=_size(limit)))
    return data


def read_text(path: str | os.PathLike, kind: str, what: str = "file") -> str:
    try:
        return read_bytes(path, kind, what).decode("utf-8")
    except UnicodeDecodeError:
        raise FileRefused(_("{path}: not a text file (is it {a}?)").format(
                              path=shown(path), a=_a(what))) from None


# --- memory -------------------------------------------------------------------------------------


def available_memory() -> int:
    """Bytes this process may still allocate: the machine's available memory, and no more than
    what an address-space limit (ulimit -v) leaves."""
    free = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            free = 1 << 62
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            used = 0
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmSize:"):
                        used = int(line.split()[1]) * 1024
            free = min(free, max(0, soft - used))
    except (ImportError, OSError, ValueError):
        pass
    return free


def check_fits_memory(path, needed: int, what: str) -> None:
    free = available_memory()
    if needed > free:
        raise FileRefused(_("{path}: {what} needs {size} of memory, more than the "
                            "{size2} free").format(
                              path=shown(path), what=_(what), size=_size(needed),
                              size2=_size(free)))


# --- zip archives -------------------------------------------------------------------------------


def check_zip_members(path, archive: zipfile.ZipFile, what: str) -> list[zipfile.ZipInfo]:
    """Refuse an archive whose members escape their folder (``../``, absolute names), are too
    many, or claim sizes that make them a bomb (ratio), before anything is inflated."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise FileRefused(_("{path}: {n_members:,} members is too many for {a}").format(
                              path=shown(path), n_members=len(members), a=_a(what)))
    for info in members:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise FileRefused(_("{path}: refused: the {what} holds a member named "
                                "{name!r} outside its own folder").format(
                                  path=shown(path), what=_(what), name=shown(name)))
        if info.file_size > RATIO_CHECKED_FROM and (
                info.file_size > MAX_RATIO * max(info.compress_size, 1)):
            raise FileRefused(
                _("{path}: refused: {name} would inflate from {size} to {size2} (a zip "
                  "bomb?)").format(
                    path=shown(path), name=shown(name), size=_size(info.compress_size),
                    size2=_size(info.file_size)))
    return members


def open_zip(path, kind: str, what: str) -> zipfile.ZipFile:
    """A ZipFile on a regular file; FileRefused when it is not a zip archive."""
    stream = open_regular(path, kind, what)
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        stream.close()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileRefused(_("{path}: not a valid {what} ({reason})").format(
                              path=shown(path), what=_(what), reason=reason)) from None


# --- images -------------------------------------------------------------------------------------


def open_image(path: str | os.PathLike, max_pixels: int = MAX_IMAGE_PIXELS):
    """The picture in ``path`` as a loaded Pillow image, decoded as a raster format by its
    content (whatever the file is called), never larger than ``max_pixels``.

    ``image.format`` says what it really was (a WebP named ``.png`` says WEBP)."""
    from PIL import Image, UnidentifiedImageError

    with open_regular(path, "image", N_("image")) as stream:
        try:
            with warnings.catch_warnings():  # the size is checked below, in one line of ours
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(stream, formats=IMAGE_FORMATS)
        except UnidentifiedImageError:
            raise FileRefused(_("{path}: not a {image_formats_text} image").format(
                                  path=shown(path),
                                  image_formats_text=IMAGE_FORMATS_TEXT)) from None
        except Image.DecompressionBombError:
            raise FileRefused(_("{path}: refused: the image is too large (at most "
                                "{max_pixels:,} pixels)").format(
                                  path=shown(path), max_pixels=max_pixels)) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise FileRefused(_("{path}: not a readable image ({exc})").format(
                                  path=shown(path), exc=shown(exc))) from None
        width, height = image.size
        if width * height > max_pixels:
            image.close()
            raise FileRefused(_("{path}: refused: {width}×{height} is too large for an "
                                "image here (at most {max_pixels:,} pixels)").format(
                                  path=shown(path), width=width, height=height,
                                  max_pixels=max_pixels))
        try:
            image.load()
        except Image.DecompressionBombError:
            raise FileRefused(_("{path}: refused: the image is too large").format(
                                  path=shown(path))) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise FileRefused(_("{path}: damaged image ({exc})").format(
                                  path=shown(path), exc=shown(exc))) from None
        return image

