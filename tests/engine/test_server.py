"""The engine's server and client over the in-process transport: requests and replies, streamed
training events with weights, the views' models, and refusals that run nothing."""

import logging
import threading
import time

import numpy as np
import pytest
import zmq

from tests.engine.conftest import tiny_spec, tiny_train
from workbench.engine.client import EngineClient, EngineError
from workbench.engine.protocol import Message, Signer, encode, new_key
from workbench.engine.server import Handler, Server


def test_ping_answers_with_the_protocol_and_pid(engine):
    import os

    reply = engine.request("ping", timeout=10)
    assert reply["protocol"] == "workbench-engine/1" and reply["pid"] == os.getpid()


def test_an_unknown_request_and_a_failing_one_are_one_error_line_each(engine):
    with pytest.raises(EngineError, match="no request 'exec'"):
        engine.request("exec", {"code": "1"}, timeout=10)
    with pytest.raises(EngineError, match="unknown layer type 'Nope'"):
        engine.request("inspect", {"spec": {"input_shape": [4], "layers": [
            {"class_name": "Nope", "config": {}}]}}, timeout=60)
    assert engine.request("ping", timeout=10)["pid"]  # the engine goes on


def test_inspect_gives_shapes_params_and_the_failing_layer(engine):
    from workbench.engine.plain import inspection_from_dict

    reply = engine.request("inspect", {"spec": tiny_spec(), "generation": 7}, timeout=120)
    assert reply["generation"] == 7
    report = inspection_from_dict(reply["inspection"])
    assert report.ok and [i.output_shape for i in report.layers] == [(784,), (8,), (10,)]
    assert report.total_params == 784 * 8 + 8 + 8 * 10 + 10
    bad = {"input_shape": [28, 28], "layers": [
        {"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": [3, 3]}}]}
    report = inspection_from_dict(engine.request("inspect", {"spec": bad}, timeout=60)
                                  ["inspection"])
    assert report.error_index == 0 and "Reshape" in report.error
    assert report.layers[0].fix.class_name == "Reshape"
    assert report.layers[0].repair.layer.class_name == "Reshape"


def test_train_streams_batch_and_epoch_events_and_weights_then_the_outcome(engine):
    messages = list(engine.stream("train", tiny_train(run_id=4), timeout=300))
    reply = messages[-1]
    assert reply.kind == "reply" and reply.ok
    events = [m for m in messages if m.kind == "event"]
    names = [m.name for m in events]
    assert names[0] == "train_begin" and "batch_end" in names and "epoch_end" in names
    assert all(m.id == reply.id for m in messages)  # every event carries the request's id
    batches = [m.body for m in events if m.name == "batch_end"]
    assert len(batches) == 4 and batches[-1]["batch"] == 3  # 160 samples / 50, every batch
    epoch = next(m.body for m in events if m.name == "epoch_end")
    assert epoch["epoch"] == 0 and {"loss", "val_loss", "accuracy"} <= set(epoch["logs"])
    weights = [m.body for m in events if m.name == "weights"]
    assert [w["epoch"] for w in weights] == [-1, 0]  # before training, after the epoch
    shapes = [w.shape for w in weights[-1]["weights"]]
    assert shapes == [(784, 8), (8,), (8, 10), (10,)]
    assert all(w.dtype == np.float32 for w in weights[-1]["weights"])
    body = reply.body
    assert body["status"] == "completed" and body["epochs_completed"] == 1
    assert body["record"]["id"] == 4 and set(body["test"]) == {"loss", "accuracy"}
    for last, final in zip(weights[-1]["weights"], body["weights"], strict=True):
        np.testing.assert_array_equal(last, final)


def test_stop_ends_a_run_within_a_batch(engine):
    stopped = threading.Event()
    calls = []

    def on_event(message):
        if message.name == "batch_end" and not stopped.is_set():
            stopped.set()
            calls.append(engine.submit("stop", {"request": message.id}))

    call = engine.submit("train", tiny_train(config={**tiny_train()["config"], "epochs": 50}),
                         on_event=on_event)
    body = call.result(300)
    assert body["status"] == "stopped" and body["epochs_completed"] < 50
    assert calls[0].result(10) == {"found": True}


def test_a_run_that_cannot_start_is_one_error_reply(engine):
    bad = tiny_train(spec={"input_shape": [5], "layers": [
        {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]})
    with pytest.raises(EngineError, match="^the dataset's samples .* set the model's input"):
        engine.request("train", bad, timeout=120)
    with pytest.raises(EngineError, match="unknown dataset|no-such"):
        engine.request("train", tiny_train(dataset="no-such-dataset"), timeout=60)


def test_draw_predicts_through_a_model_kept_under_a_handle(engine):
    run = engine.request("train", tiny_train(weights=False), timeout=300)
    handle = engine.request("load_model", {"spec": tiny_spec(), "weights": run["weights"]},
                            timeout=120)["handle"]
    digit = np.zeros((28, 28), np.float32)
    digit[5:23, 13:16] = 1.0  # a "1"
    reply = engine.request("predict", {"handle": handle, "digit": digit}, timeout=60)
    probs = reply["probabilities"]
    assert probs.shape == (10,) and probs.sum() == pytest.approx(1.0)
    assert reply["predicted"] == int(np.argmax(probs))
    assert reply["output"].shape == (10,)  # the raw output too (softmax: the same numbers)
    np.testing.assert_allclose(reply["output"], probs, rtol=1e-5)
    # New weights (the next epoch's) change the answer.
    zeros = [np.zeros_like(w) for w in run["weights"]]
    engine.request("set_weights", {"handle": handle, "weights": zeros}, timeout=60)
    flat = engine.request("predict", {"handle": handle, "digit": digit}, timeout=60)
    np.testing.assert_allclose(flat["probabilities"], np.full(10, 0.1), atol=1e-6)
    with pytest.raises(EngineError, match="predict needs a 28×28 digit"):
        engine.request("predict", {"handle": handle, "digit": np.zeros((3, 3), np.float32)})
    assert engine.request("release", {"handle": handle})["released"]
    with pytest.raises(EngineError, match="holds no model"):
        engine.request("predict", {"handle": handle, "digit": digit})


def test_evaluate_reports_on_the_test_split(engine):
    run = engine.request("train", tiny_train(weights=False), timeout=300)
    report = engine.request("evaluate", {"spec": tiny_spec(), "weights": run["weights"],
                                         "dataset": "mnist-embedded", "subset": [200, 50],
                                         "download": False}, timeout=300)
    assert np.asarray(report["confusion_matrix"]).sum() == 50
    assert report["probabilities"].shape == (50, 10) and report["labels"].shape == (50,)
    assert 0.0 <= report["accuracy"] <= 1.0


# --- refusals: logged, and nothing runs -------------------------------------------------------


@pytest.fixture
def recording_server():
    """A server whose one request records that it ran, and a raw socket to send it anything."""
    ran = []
    key = new_key()
    context = zmq.Context.instance()
    server = Server(key, {"record": Handler(lambda call: ran.append(call.body) or {}, "io")},
                    "inproc://refusals", context)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.setsockopt(zmq.RCVTIMEO, 5000)
    raw.connect(server.address)
    yield server, Signer(key), raw, ran
    raw.close()
    server.stop()
    thread.join(5)


def signed_with_header(signer, header, buffers):
    import json

    frames = [json.dumps(header).encode(), *buffers]
    return [signer.sign(frames), *frames]


def test_refused_messages_are_logged_and_nothing_runs(recording_server, caplog):
    server, signer, raw, ran = recording_server
    caplog.set_level(logging.WARNING, logger="workbench.engine")
    digit = np.zeros(4, np.float32)
    # A wrong signature: no answer at all (nothing of it is trusted).
    raw.send_multipart(encode(Message("request", "a", "record", {"d": digit}),
                              Signer(new_key())))
    base = {"protocol": "workbench-engine/1", "kind": "request", "name": "record",
            "body": {"d": {"$array": 0}}}
    # Signed, but an unknown dtype, and a buffer of the wrong size: refused, the sender told.
    raw.send_multipart(signed_with_header(signer, {**base, "id": "b", "buffers": [
        {"dtype": "object", "shape": [4]}]}, [digit.tobytes()]))
    raw.send_multipart(signed_with_header(signer, {**base, "id": "c", "buffers": [
        {"dtype": "float32", "shape": [5]}]}, [digit.tobytes()]))
    replies = [Signer and raw.recv_multipart() for _ in range(2)]
    from workbench.engine.protocol import decode

    answers = {m.id: m for m in (decode(r, signer) for r in replies)}
    assert set(answers) == {"b", "c"} and not any(m.ok for m in answers.values())
    assert "not allowed" in answers["b"].error and "needs 20 bytes" in answers["c"].error
    # A good message after them runs: the refusals came first, and ran nothing.
    raw.send_multipart(encode(Message("request", "d", "record", {"d": digit}), signer))
    assert decode(raw.recv_multipart(), signer).ok
    assert len(ran) == 1 and server.refused == 3
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "wrong signature" in logged and "not allowed" in logged and "needs 20 bytes" in logged


def test_the_client_refuses_a_reply_signed_with_another_key():
    """A forged reply is dropped: the call waits on, as for no reply."""
    context = zmq.Context.instance()
    router = context.socket(zmq.ROUTER)
    router.bind("inproc://forger")
    client = EngineClient("inproc://forger", new_key(), context, heartbeat_s=60)
    try:
        call = client.submit("ping")
        identity, *frames = router.recv_multipart()
        while frames and b'"heartbeat"' in frames[1]:
            identity, *frames = router.recv_multipart()
        forged = encode(Message("reply", call.id, "ping", {"pid": 1}), Signer(new_key()))
        router.send_multipart([identity, *forged])
        with pytest.raises(TimeoutError):
            call.result(1.0)
        assert client.refused == 1
    finally:
        client.close()
        router.close()


def test_a_newer_request_of_the_same_name_supersedes_a_queued_one():
    """The builder asks after every edit: an inspection a newer one replaced is told so
    (``call.superseded``) and stops; a request of another client is not affected."""
    started, release = threading.Event(), threading.Event()

    def slow(call):
        started.set()
        release.wait(10)
        return {"superseded": call.superseded}

    key = new_key()
    context = zmq.Context.instance()
    server = Server(key, {"inspect": Handler(slow, "inspect")}, "inproc://supersede", context)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    first, other = (EngineClient(server.address, key, context) for _ in range(2))
    try:
        a = first.submit("inspect")
        assert started.wait(10)
        b = first.submit("inspect")
        c = other.submit("inspect")
        time.sleep(0.3)  # b and c queued behind a
        release.set()
        assert a.result(10) == {"superseded": True}
        assert b.result(10) == {"superseded": False} and c.result(10) == {"superseded": False}
    finally:
        first.close()
        other.close()
        server.stop()
        thread.join(5)


def test_a_superseded_inspection_stops_and_says_so():
    from workbench.engine.handlers import EngineState, inspect

    class Superseded:
        superseded = True
        body = {"spec": tiny_spec(), "generation": 3}

    assert inspect(EngineState(), Superseded()) == {"generation": 3, "superseded": True}


def test_an_answer_the_wire_cannot_carry_is_one_error_and_the_engine_goes_on():
    from pathlib import Path

    key = new_key()
    context = zmq.Context.instance()
    server = Server(key, {"odd": Handler(lambda call: {"where": Path("/tmp")}, "jobs"),
                          "fine": Handler(lambda call: {"ok": 1}, "io")},
                    "inproc://unsendable", context)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    client = EngineClient(server.address, key, context)
    try:
        with pytest.raises(EngineError, match="could not send its answer: .*JSON cannot carry"):
            client.request("odd", timeout=10)
        assert client.request("fine", timeout=10) == {"ok": 1}
        with pytest.raises(ValueError, match="JSON cannot carry"):
            client.submit("fine", {"where": Path("/tmp")})
    finally:
        client.close()
        server.stop()
        thread.join(5)


def test_the_engine_speaks_the_language_of_the_request(recording_server):
    """A window switched to Chinese (Help ▸ Language) gets the engine's errors in Chinese, and
    its client says which language with every request."""
    from workbench import i18n
    from workbench.core.datasets import load_dataset
    from workbench.engine.protocol import decode

    server, signer, raw, ran = recording_server
    server.handlers["load"] = Handler(lambda call: load_dataset("no-such-set"), "io")
    raw.send_multipart(encode(Message("request", "z", "load", language="zh_CN"), signer))
    reply = decode(raw.recv_multipart(), signer)
    assert not reply.ok and reply.error.startswith("未知的数据集 'no-such-set'")
    i18n.set_language("en")
    raw.send_multipart(encode(Message("request", "e", "load", language="en"), signer))
    assert decode(raw.recv_multipart(), signer).error.startswith("Unknown dataset")

    router = zmq.Context.instance().socket(zmq.ROUTER)
    router.bind("inproc://language")
    client = EngineClient("inproc://language", new_key(), heartbeat_s=60)
    try:
        i18n.set_language("zh_CN")
        client.submit("ping")
        frames = router.recv_multipart()[1:]
        while b'"heartbeat"' in frames[1]:
            frames = router.recv_multipart()[1:]
        assert decode(frames, client.signer).language == "zh_CN"
    finally:
        client.close()
        router.close()
