"""Edit → shapes over the engine: the builder's inspection of a 30-node graph asked of a spawned
engine process, beside the same inspection in this process, interleaved so both see the same
machine load.

    python benchmarks/bench_engine_inspect.py [--runs 40]

Each run edits one mid-graph Conv2D's filters (bench_graph's residual graph, the edit the
document makes) and gets every node's shape and parameters: over the engine, the spec goes out
as JSON, Keras answers on the engine's inspect lane, and the answer is read back into a
``ModelInspection`` (``engine.plain``); in-process, ``core.inspect.inspect_model`` as today.
Target (issue 26): median < 40 ms. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from bench_graph import residual_30  # noqa: E402


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    from workbench.core.inspect import inspect_model
    from workbench.core.spec import ModelSpec
    from workbench.engine.lifecycle import EngineProcess
    from workbench.engine.plain import inspection_from_dict

    data = residual_30()

    def edited(i: int) -> dict:
        spec = copy.deepcopy(data)
        spec["layers"][14]["config"]["filters"] = 16 if i % 2 else 32
        return spec

    print(f"30-node residual graph, {args.runs} edits each way; {load()}")
    with EngineProcess() as engine:
        engine.connected(60)

        def over_engine(i: int) -> None:
            reply = engine.request("inspect", {"spec": edited(i), "generation": i}, timeout=300)
            report = inspection_from_dict(reply["inspection"])
            assert report.error is None or "same shape" in report.error

        def in_process(i: int) -> None:
            report = inspect_model(ModelSpec.from_dict(edited(i)))
            assert report.error is None or "same shape" in report.error

        for warm in (over_engine, in_process):  # TensorFlow imported, both caches warm
            warm(0), warm(1)
        times: dict[str, list[float]] = {"engine": [], "in-process": []}
        for i in range(args.runs):
            for name, fn in (("engine", over_engine), ("in-process", in_process)):
                start = time.perf_counter()
                fn(i)
                times[name].append((time.perf_counter() - start) * 1000)
    for name, values in times.items():
        print(f"  edit -> shapes, {name:<11} median {statistics.median(values):6.1f} ms   "
              f"p90 {np.percentile(values, 90):6.1f} ms   max {max(values):6.1f} ms")
    median = statistics.median(times["engine"])
    print(f"  {load()}\n  engine: median {median:.1f} ms (target < 40: "
          f"{'ok' if median < 40 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
