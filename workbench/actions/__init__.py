"""Use cases: one function per thing a user does, called by both the CLI and the GUI. No Qt.

``train`` trains a project's model; ``evaluate`` reports a model on a test split; ``predict``
reads drawn or opened digits; ``export`` writes and checks the standalone script and model files.
The callers only present what these return: ``cli.py`` prints it, the GUI's tasks show it.
"""
