"""The GUI thread during a burst of edits: Keras's inspection inline (before) or in the engine.

    python benchmarks/bench_inspection_stall.py [--edits 20] [--gap-ms 40] [--rounds 3]

The ResNet template (resnet-digits) in the stack view and the graph view side by side. A burst
of edits as a spin box being scrolled: Conv2D ``block1_conv1``'s filters 17, 18, ... one every
``--gap-ms`` ms. A 5 ms timer on the GUI thread records how long it waited between ticks; the
stall is the longest wait beyond its 5 ms. Side by side in one process, alternating rounds:

- inline: the document's debounced inspection run on the GUI thread (what it did before the
  inspection became a task; the same ``inspect_model`` call, in this process);
- engine: the document as it is (ui/document.py asks the app's spawned engine, whose inspect
  lane answers; a newer edit supersedes the older inspection);

inline each with inspect's cache of known layer shapes (only the edited layers asked again) and
with that cache off (every layer asked, the cost of a first look or a change near the input); the
engine keeps its own cache. Also: last edit -> its shapes shown in both views (the burst's end to
the newest inspection), the GUI thread's CPU time per edit (the views' redraws, plus Keras's
inspection when inline), and how long each inline inspection held the GUI thread. Prints the
load beside the figures."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TICK_MS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--gap-ms", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from PyQt5.QtCore import QEventLoop, QTimer
    from PyQt5.QtWidgets import QApplication, QHBoxLayout, QWidget

    from workbench.core import inspect as inspection
    from workbench.core.templates import load_template
    from workbench.ui.builder.panel import BuilderPanel
    from workbench.ui.graph.panel import GraphPanel
    from workbench.ui.state import ProjectState

    app = QApplication.instance() or QApplication(sys.argv)
    host = QWidget()
    state = ProjectState(load_template("resnet-digits"), host)  # the app's engine, spawned
    while not state.engine.loaded:
        app.processEvents()
        time.sleep(0.01)
    builder, graph = BuilderPanel(state, host), GraphPanel(state, host)
    row = QHBoxLayout(host)
    row.addWidget(builder)
    row.addWidget(graph, 1)
    host.resize(1300, 900)
    host.show()

    def wait_current(deadline_s: float = 60) -> None:
        end = time.perf_counter() + deadline_s
        while not state.inspection_current and time.perf_counter() < end:
            app.processEvents()
        assert state.inspection_current, "no inspection arrived"

    state.refresh_inspection()
    wait_current()
    inspection.inspect_model(state.spec)  # the inline column's TensorFlow, here (not timed)
    index = state.spec.names().index("block1_conv1")
    engine_refresh = state.refresh_inspection

    inline_ms: list[float] = []

    def inline_refresh() -> None:  # the document's refresh as it was: Keras on the GUI thread
        state._inspect_timer.stop()  # noqa: SLF001
        start = time.perf_counter()
        report = inspection.inspect_model(state.spec)
        inline_ms.append((time.perf_counter() - start) * 1000)
        state._on_inspected(report, state._generation)  # noqa: SLF001

    def use(mode: str) -> None:
        timer = state._inspect_timer  # noqa: SLF001
        timer.timeout.disconnect()
        timer.timeout.connect(inline_refresh if mode == "inline" else engine_refresh)

    filters = iter(range(17, 10_000))

    def burst() -> tuple[float, float, float, float]:
        """(longest stall, median stall, last edit -> shapes shown, GUI thread CPU per edit),
        in ms. The GUI thread
        waits in its event loop between events, as in the app (a busy loop here would take
        the interpreter from the inspection's thread)."""
        ticks: list[float] = []
        ticker = QTimer(interval=TICK_MS)
        ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
        left = [args.edits]
        last_edit = [0.0]
        shown = [0.0]
        loop = QEventLoop()

        def edit() -> None:
            state.set_layer_param(index, "filters", next(filters))
            last_edit[0] = time.perf_counter()
            left[0] -= 1
            if not left[0]:
                editor.stop()

        def arrived() -> None:
            if not left[0] and state.inspection_current:
                shown[0] = time.perf_counter()
                loop.quit()

        editor = QTimer(interval=args.gap_ms)
        editor.timeout.connect(edit)
        state.inspection_changed.connect(arrived)
        QTimer.singleShot(60_000, loop.quit)
        ticker.start()
        editor.start()
        cpu = time.thread_time()
        loop.exec_()
        cpu = (time.thread_time() - cpu) * 1000 / args.edits
        ticker.stop()
        state.inspection_changed.disconnect(arrived)
        assert shown[0], "the last edit's inspection did not arrive"
        waits = [(b - a) * 1000 - TICK_MS for a, b in zip(ticks, ticks[1:])]
        state.undo_stack.clear()
        return max(waits), statistics.median(waits), (shown[0] - last_edit[0]) * 1000, cpu

    results: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    inline_by_cache: dict[str, list[float]] = {}
    for cache in ("cache", "no cache"):
        inspection._KNOWN_SIZE = 4096 if cache == "cache" else 0  # noqa: SLF001
        inspection.clear_cache()
        inline_ms.clear()
        for _ in range(args.rounds):
            # The engine's own cache is not this process's: its column is measured once.
            for mode in ("inline", "engine") if cache == "cache" else ("inline",):
                use(mode)
                results.setdefault((cache, mode), []).append(burst())
        inline_by_cache[cache] = list(inline_ms)
    use("engine")
    state.stop_inspection()

    print(f"ResNet template ({len(state.spec.layers)} layers) in the stack and graph views; "
          f"{args.rounds} bursts of {args.edits} edits {args.gap_ms} ms apart per column; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'':34}{'inline (before)':>18}{'engine (now)':>14}   (longest: max; others: median;"
          " the engine keeps its cache)")
    for cache in ("cache", "no cache"):
        for i, what in enumerate(("longest GUI stall", "median GUI stall",
                                  "last edit -> shapes shown", "GUI thread CPU per edit")):
            cells = []
            for mode in ("inline", "engine"):
                values = [r[i] for r in results.get((cache, mode), [])]
                cells.append(f"{max(values) if i == 0 else statistics.median(values):11.1f} ms"
                             if values else f"{'-':>14}")
            print(f"  {what + ', ' + cache:<32}    {cells[0]}{cells[1]}")
        ms = inline_by_cache[cache]
        print(f"    (inline: Keras's inspection on the GUI thread {statistics.median(ms):.1f} ms "
              f"median, {max(ms):.1f} ms max per edit, {len(ms)} inspections)")


if __name__ == "__main__":
    main()
