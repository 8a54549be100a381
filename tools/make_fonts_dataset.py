"""Render resources/datasets/fonts-36.npz, the `fonts` dataset, from five DejaVu fonts.

Needs the Debian packages ``fonts-dejavu-core`` and ``fonts-dejavu-extra`` (2.37, the files in
/usr/share/fonts/truetype/dejavu) and Pillow. The same font files and FreeType version give the
same bytes; the script prints the file's SHA-256 and says whether it matches the shipped one.

Usage::

    python tools/make_fonts_dataset.py [--fonts DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.core.datasets import fonts  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", type=Path, default=fonts.DEJAVU, help="the DejaVu font folder")
    parser.add_argument("--out", type=Path, default=fonts.SHIPPED)
    args = parser.parse_args(argv)
    before = args.out.read_bytes() if args.out.is_file() else None
    try:
        arrays = fonts.render(args.fonts)
    except FileNotFoundError as exc:
        print(f"missing font file: {exc}", file=sys.stderr)
        return 1
    data = fonts.npz_bytes(arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    counts = [int((arrays["y"] == k).sum()) for k in range(len(fonts.FONTS))]
    print(f"wrote {args.out}: {len(arrays['x'])} images, per font {counts}, "
          f"FreeType {arrays['freetype']}, sha256 {hashlib.sha256(data).hexdigest()}")
    if before is not None:
        print("identical to the previous file" if before == data
              else "differs from the previous file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
