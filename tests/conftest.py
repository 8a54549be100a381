"""Test configuration: headless Qt, quiet TensorFlow, no network."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp/runtime-workbench-tests")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
