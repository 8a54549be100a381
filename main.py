"""Start the Workbench: ``python3 main.py`` (same as ``workbench`` / ``python -m workbench``).

On a fresh clone the first run sets up ``.venv`` with everything the app needs (see tools/).
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
    from bootstrap import reexec_in_venv

    reexec_in_venv([str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from workbench.cli import main

    sys.exit(main())
