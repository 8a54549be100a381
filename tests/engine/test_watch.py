"""A second client of one engine (a second window) sees the run in hand: ``ping`` names it,
``watch`` streams it read-only from the epochs so far to its end, ``result`` gives a caller back
after a dropped link the epochs it missed."""

import threading

import pytest

from tests.engine.conftest import tiny_config, tiny_train
from workbench.engine.client import EngineClient, EngineError
from workbench.engine.inprocess import InProcessEngine


@pytest.fixture
def two():
    """An engine and two clients of it (two windows)."""
    with InProcessEngine() as engine:
        other = EngineClient(engine.server.address, engine.key, engine.context)
        try:
            yield engine.client, other
        finally:
            other.close()


def _long_run(client: EngineClient):
    """A run of many epochs, once its first epoch ended: (its call, the event of that)."""
    first = threading.Event()
    call = client.submit("train", tiny_train(config=tiny_config(epochs=500), weights=False,
                                             title="digits (run 3)"),
                         on_event=lambda m: m.name == "epoch_end" and first.set())
    assert first.wait(120)
    return call


def test_a_second_client_watches_the_run_from_its_first_epoch_to_its_end(two):
    mine, other = two
    assert other.request("ping", timeout=10)["training"] is None
    with pytest.raises(EngineError, match="not training: there is no run to watch"):
        other.request("watch", timeout=10)
    call = _long_run(mine)
    busy = other.request("ping", timeout=10)["training"]
    assert busy["title"] == "digits (run 3)" and len(busy["since"]) == 5
    with pytest.raises(EngineError, match=r"^busy: training digits \(run 3\) for another "
                                          r"window since \d\d:\d\d$"):
        other.request("train", tiny_train(), timeout=10)
    with pytest.raises(EngineError, match="this window's own"):
        mine.request("watch", timeout=10)
    seen = []
    for message in other.stream("watch", timeout=120):
        seen.append(message)
        if message.name == "epoch_end" and message.body["epoch"] >= 2:
            mine.request("stop", {"request": call.id}, timeout=10)
    begin, reply = seen[0], seen[-1]
    assert begin.name == "watch_begin" and begin.body["title"] == "digits (run 3)"
    assert len(begin.body["epochs"]) >= 1 and begin.body["info"]["epochs"] == 500
    assert begin.body["epochs"][0]["epoch"] == 0 and "loss" in begin.body["epochs"][0]["logs"]
    names = {m.name for m in seen[1:-1]}
    assert "epoch_end" in names and "batch_end" in names and "weights" not in names
    assert reply.kind == "reply" and reply.body["status"] == "stopped"
    assert call.result(60)["status"] == "stopped"
    ended = call.result()["epochs_completed"]
    assert len(reply.body["epochs"]) == ended >= 3
    assert other.request("ping", timeout=10)["training"] is None


def test_unwatch_ends_a_watch_and_result_gives_the_epochs_so_far(two):
    mine, other = two
    call = _long_run(mine)
    done = threading.Event()
    watch = other.submit("watch", on_reply=lambda m: done.set())
    so_far = mine.request("result", {"request": call.id}, timeout=10)
    assert so_far["running"] and so_far["reply"] is None and len(so_far["epochs"]) >= 1
    assert other.request("unwatch", {"request": watch.id}, timeout=10)["found"]
    assert done.wait(10) and watch.result()["status"] == "unwatched"
    mine.request("stop", {"request": call.id}, timeout=10)
    reply = call.result(60)
    after = mine.request("result", {"request": call.id}, timeout=10)
    assert not after["running"] and after["reply"]["status"] == "stopped"
    assert len(after["epochs"]) == reply["epochs_completed"]
    assert after["epochs"][0]["logs"]["loss"] == pytest.approx(reply["history"]["loss"][0])
