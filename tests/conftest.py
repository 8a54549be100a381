"""Test configuration: headless Qt, quiet TensorFlow, no network."""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp/runtime-workbench-tests")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
# Autosave/recovery files of the windows under test go to a throw-away folder, never the user's.
os.environ.setdefault("WORKBENCH_DATA_DIR", tempfile.mkdtemp(prefix="workbench-tests-"))
