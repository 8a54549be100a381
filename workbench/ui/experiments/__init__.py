"""The Experiments tab: Optuna sweeps of the project's settings (actions/sweep.py), live."""
