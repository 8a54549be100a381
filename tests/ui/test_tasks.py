"""The one background-task runner: results, partial results on the GUI thread, cancel, failure
text, messages to a long-lived task, and shutdown joining every task. Tasks are held back with
events (never sleeps), so nothing here depends on timing."""

from __future__ import annotations

import threading

import pytest
from PyQt5.QtCore import QObject

from workbench.ui.task_thread import Cancelled, readable_failure
from workbench.ui.tasks import TaskRunner


@pytest.fixture
def runner(qapp):
    r = TaskRunner()
    yield r
    r.shutdown(timeout=10)


def wait_done(qtbot, task):
    qtbot.waitUntil(lambda: task.done, timeout=10000)


def test_result_and_partial_results_arrive_in_order_on_the_gui_thread(qtbot, runner):
    seen = []
    gui = threading.get_ident()

    def task(state, n):
        for i in range(n):
            state.set_partial_result(i)
        return "all done"

    def on_partial(value):
        seen.append(("partial", value, threading.get_ident() == gui))

    t = runner.start(task, 5, name="counting", on_partial=on_partial,
                     on_result=lambda r: seen.append(("result", r, threading.get_ident() == gui)))
    wait_done(qtbot, t)
    assert seen == [("partial", i, True) for i in range(5)] + [("result", "all done", True)]
    assert t.status == "finished" and t.result == "all done" and t.error == ""
    assert runner.tasks == []


def test_progress_delivers_the_newest_value(qtbot, runner):
    values = []
    release = threading.Event()

    def task(state):
        for i in range(1, 101):
            state.set_progress(i / 100, f"step {i}")
        release.wait(10)

    t = runner.start(task, on_progress=lambda v, text: values.append((v, text)))
    release.set()
    wait_done(qtbot, t)
    assert values[-1] == (1.0, "step 100")
    assert len(values) <= 100  # coalesced: never more deliveries than reports


def test_cancel_stops_a_waiting_task_and_gives_no_result(qtbot, runner):
    results, errors, finished = [], [], []
    started = threading.Event()

    def task(state):
        started.set()
        while not state.wait(5):  # what a task does instead of sleeping
            pass
        state.check()
        return "never"

    t = runner.start(task, on_result=results.append, on_error=errors.append,
                     on_finished=finished.append)
    assert started.wait(10)
    assert t.running
    t.cancel()
    wait_done(qtbot, t)
    assert t.status == "cancelled" and results == [] and errors == [] and finished == [t]


def test_a_cancelled_task_may_still_return_what_it_has(qtbot, runner):
    started, stop_flag = threading.Event(), threading.Event()

    def task(state):
        started.set()
        stop_flag.wait()  # code of its own that knows nothing of the task state (a fit loop)
        return "kept: 3 epochs"

    results = []
    t = runner.start(task, on_result=results.append, on_cancel=stop_flag.set)
    assert started.wait(10)
    t.cancel()
    t.cancel()  # a second cancel does not call on_cancel again
    wait_done(qtbot, t)
    assert results == ["kept: 3 epochs"] and t.status == "finished"


def test_failure_is_one_readable_line_and_the_runner_goes_on(qtbot, runner):
    errors = []

    def broken(state):
        raise ValueError("Exception encountered when calling Dense.call().\n\n"
                         "\x1b[1mInput 0 is incompatible: expected 784, got 28\x1b[0m\n\n"
                         "Arguments received by Dense.call():\n  • inputs=tf.Tensor")

    t = runner.start(broken, name="Training", on_error=errors.append)
    wait_done(qtbot, t)
    assert errors == ["Training failed: Input 0 is incompatible: expected 784, got 28"]
    assert t.status == "failed" and isinstance(t.exception, ValueError)

    t2 = runner.start(lambda state: 42, on_result=errors.append)
    wait_done(qtbot, t2)
    assert errors[-1] == 42


def test_describe_error_words_the_failure(qtbot, runner):
    errors = []
    t = runner.start(lambda state: 1 / 0, on_error=errors.append,
                     describe_error=lambda exc: f"Cannot evaluate: {exc}")
    wait_done(qtbot, t)
    assert errors == ["Cannot evaluate: division by zero"]
    assert readable_failure("Export", MemoryError()) == "Export ran out of memory."


def test_long_lived_task_answers_messages_and_keeps_only_the_newest_of_a_key(qtbot, runner):
    answers = []
    gate = threading.Event()

    def service(state):
        gate.wait(10)  # messages pile up until the service starts reading
        while True:
            message = state.receive()
            state.set_partial_result(message * 10)

    t = runner.start(service, on_partial=answers.append)
    t.send(1, key="evaluate")
    t.send(2, key="evaluate")  # replaces 1, not yet taken
    t.send(5)
    t.send(3, key="evaluate")  # replaces 2; goes to the end of the queue
    gate.set()
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=10000)
    assert answers == [50, 30]
    t.cancel()  # receive() raises Cancelled while it waits
    wait_done(qtbot, t)
    assert t.status == "cancelled"


def test_receive_times_out_with_none(qtbot, runner):
    t = runner.start(lambda state: state.receive(timeout=0), on_result=None)
    wait_done(qtbot, t)
    assert t.status == "finished" and t.result is None


def test_shutdown_cancels_joins_and_delivers_the_last_results(qtbot, runner):
    results = []
    started = [threading.Event(), threading.Event()]

    def run(state, i):
        started[i].set()
        state.wait()
        return f"run {i} kept"

    tasks = [runner.start(run, i, on_result=results.append) for i in range(2)]
    assert all(e.wait(10) for e in started)
    assert runner.shutdown(timeout=10)
    assert not any(t.running for t in tasks)
    assert sorted(results) == ["run 0 kept", "run 1 kept"]
    with pytest.raises(RuntimeError):
        runner.start(lambda state: None)


def test_nothing_is_delivered_after_shutdown_or_to_a_deleted_object(qtbot, qapp):
    runner = TaskRunner()

    class Owner(QObject):
        def __init__(self):
            super().__init__()
            self.got = []

        def on_partial(self, value):
            self.got.append(value)

    owner = Owner()
    go = threading.Event()

    def task(state):
        go.wait(10)
        state.set_partial_result("late")
        raise Cancelled()

    t = runner.start(task, on_partial=owner.on_partial)
    from PyQt5 import sip

    sip.delete(owner)  # the owner is destroyed while its task still runs
    go.set()
    t._thread.join(10)
    runner.deliver()  # no crash: the deleted owner's callback is skipped
    assert t.status == "cancelled"
    runner.shutdown()


def test_a_task_whose_runner_was_deleted_is_cancelled_at_its_next_report(qtbot, qapp):
    parent = QObject()
    runner = TaskRunner(parent)
    go = threading.Event()
    stop_flag = threading.Event()

    def task(state):
        go.wait(10)
        state.set_partial_result("anyone there?")
        state.check()  # raises: the report found the runner gone and cancelled the task

    t = runner.start(task, on_cancel=stop_flag.set)
    from PyQt5 import sip

    sip.delete(parent)  # the runner (a child) goes with it, without shutdown
    go.set()
    t._thread.join(10)
    assert not t.running and t.cancel_requested and stop_flag.is_set()


def test_shutdown_all_joins_the_tasks_of_every_runner(qtbot, qapp):
    from workbench.ui.tasks import shutdown_all

    runners = [TaskRunner(), TaskRunner()]
    started = [threading.Event(), threading.Event()]

    def task(state, i):
        started[i].set()
        state.wait()

    tasks = [r.start(task, i) for i, r in enumerate(runners)]
    assert all(e.wait(10) for e in started)
    shutdown_all(timeout=10)  # what the application does when it quits
    assert not any(t.running for t in tasks) and all(r.closed for r in runners)
