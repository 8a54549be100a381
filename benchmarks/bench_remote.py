"""An engine started as a remote one (``workbench engine --listen 127.0.0.1:PORT``, reached
through its connection file) against the local engine (spawned by ``lifecycle.EngineProcess``, as
the window spawns it): training throughput, the same train request to each.

The MNIST CNN template on the embedded digits (``--samples`` of them), the weights streamed after
each epoch as the window asks; rounds alternate local / remote so that load from other processes
hits both alike; each round's figure is the wall time from the request to its reply, as a caller
waits for it. Prints the ratio of the medians, throughput remote ÷ local (#31's target ≥ 0.95),
and the load average.

    python benchmarks/bench_remote.py [--rounds 3] [--samples 3000] [--epochs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def train_body(samples: int, epochs: int) -> dict:
    from workbench.core.templates import load_template

    project = load_template("mnist-cnn")
    project.training.epochs = epochs
    return {"spec": project.model.to_dict(), "config": project.training.to_dict(),
            "dataset": "mnist-embedded", "subset": [samples, 1000], "download": False,
            "weights": True, "title": "bench"}


def timed(client, body: dict) -> float:
    start = time.perf_counter()
    reply = client.request("train", body, timeout=1800)
    assert reply["status"] == "completed", reply
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()

    from workbench.engine.lifecycle import EngineProcess
    from workbench.engine.remote import connect, read_connection_file

    body = train_body(args.samples, args.epochs)
    folder = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    file = folder / "engine.json"
    remote_process = subprocess.Popen(
        [sys.executable, "-m", "workbench", "engine", "--listen", "127.0.0.1:0",
         "--connection-file", str(file)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    local = EngineProcess(log_path=folder / "local.log").start(wait=120)
    try:
        print(remote_process.stdout.readline().strip())
        remote, ping = connect(read_connection_file(file), file, ping_timeout=60)
        for client in (local, remote):  # TensorFlow imported, the first run's tracing done
            device = client.request("device", timeout=300)["device"]
            timed(client, {**body, "subset": [200, 100]})
        print(f"device: {device['kind']} ({device['name']}); {args.samples} samples, "
              f"{args.epochs} epoch(s), {args.rounds} rounds")
        times: dict[str, list[float]] = {"local": [], "remote": []}
        for round_ in range(args.rounds):
            for name, client in (("local", local), ("remote", remote)):
                times[name].append(timed(client, body))
                print(f"round {round_ + 1} {name}: {times[name][-1]:.2f} s", flush=True)
        remote.close()
    finally:
        local.close()
        remote_process.terminate()
        remote_process.wait(30)
    ratio = statistics.median(times["local"]) / statistics.median(times["remote"])
    print(json.dumps({"throughput_remote_over_local": round(ratio, 3),
                      "local_s": [round(t, 2) for t in times["local"]],
                      "remote_s": [round(t, 2) for t in times["remote"]],
                      "load_average": [round(x, 2) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
