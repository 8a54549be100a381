"""Graph models, core side: how fast an edit of a 30-node graph gives every node's shape.

    python benchmarks/bench_graph.py [--runs 20]

A residual CNN of 30 nodes with the input (a stem and a batch normalization, 8 residual blocks
of Conv2D → Conv2D → Add, global pooling, dropout, the classifier). Prints medians (and the
worst) over the runs, after TensorFlow has loaded, side by side in one run:
- the graph's structure alone (ModelSpec.from_dict: names, inbound, cycles, topological order);
- edit → shapes: one Conv2D's filters changed (a new spec from the edited dict, as the document
  makes it) and the whole graph inspected by Keras, as the GUI does after each edit; target
  < 100 ms. Layers whose settings and input shapes did not change keep the shapes Keras gave
  them the last time (inspect's cache), so only the edited layer and what it feeds are asked;
- the same inspection with that cache emptied before each run (every node asked again).

Measured on the 2-core machine under load (six helpers): structure 0.6 ms, edit -> shapes
8 ms with the cache, 48 ms without (medians).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from workbench.core import inspect as inspection  # noqa: E402
from workbench.core.spec import LayerSpec, ModelSpec  # noqa: E402


def residual_30() -> dict:
    def new(class_name, name, inbound=None, **config):
        return LayerSpec.create(class_name, name=name, inbound=inbound, **config).to_dict()

    layers = [new("Conv2D", "stem", filters=16, kernel_size=[3, 3], padding="same",
                  activation="relu"),
              new("BatchNormalization", "stem_bn")]
    previous = "stem_bn"
    for block in range(8):
        a, b, add = f"b{block}_a", f"b{block}_b", f"b{block}_add"
        layers += [new("Conv2D", a, [previous], filters=16, kernel_size=[3, 3], padding="same",
                       activation="relu"),
                   new("Conv2D", b, [a], filters=16, kernel_size=[3, 3], padding="same"),
                   new("Add", add, [b, previous])]
        previous = add
    layers += [new("GlobalAveragePooling2D", "pool", [previous]),
               new("Dropout", "drop", rate=0.2),
               new("Dense", "classes", units=10, activation="softmax")]
    assert len(layers) + 1 == 30  # with the input
    return {"input_shape": [28, 28, 1], "layers": layers}


def timed(function, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        function(i)
        times.append((time.perf_counter() - start) * 1000)
    return times


def show(label: str, times: list[float], target: float | None = None) -> None:
    goal = f"   (target < {target:g} ms)" if target else ""
    print(f"{label:<52} median {statistics.median(times):7.1f} ms   worst "
          f"{max(times):7.1f} ms{goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    data = residual_30()
    inspection.inspect_model(ModelSpec.from_dict(data))  # TensorFlow loaded, Keras warm

    def edit(i: int) -> ModelSpec:
        edited = copy.deepcopy(data)
        edited["layers"][14]["config"]["filters"] = 16 if i % 2 else 32  # b4_a, mid-graph
        return ModelSpec.from_dict(edited)

    def edit_and_inspect(i: int) -> None:
        report = inspection.inspect_model(edit(i))
        assert report.error is None or "same shape" in report.error

    def cold(i: int) -> None:
        inspection.clear_cache()
        edit_and_inspect(i)

    print(f"30-node residual graph, {args.runs} runs each")
    show("structure only (from_dict, topological order)", timed(edit, args.runs))
    show("edit -> shapes of every node (Keras, cache warm)", timed(edit_and_inspect, args.runs),
         100)
    show("edit -> shapes, cache emptied first (every node)", timed(cold, args.runs), 100)


if __name__ == "__main__":
    main()
