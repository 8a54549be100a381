"""The engine's wire: JSON plus raw arrays, every frame signed; refusals before anything runs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench.engine.protocol import (
    Message,
    ProtocolError,
    Signer,
    decode,
    encode,
    new_key,
)


@pytest.fixture
def signer():
    return Signer(new_key())


def test_a_message_with_arrays_round_trips(signer):
    weights = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64),
               np.zeros((0, 4), dtype=np.float64), np.array([True, False])]
    message = Message("request", "r1", "train", {"weights": weights, "n": 3, "nested": {
        "digit": np.full((28, 28), 0.5, dtype=np.float32)}})
    frames = encode(message, signer)
    assert len(frames) == 2 + 5  # signature, header, one frame per array
    back = decode(frames, signer)
    assert (back.kind, back.id, back.name, back.body["n"]) == ("request", "r1", "train", 3)
    for sent, got in zip(weights, back.body["weights"], strict=True):
        assert got.dtype == sent.dtype and got.shape == sent.shape
        np.testing.assert_array_equal(got, sent)
    assert back.body["nested"]["digit"].shape == (28, 28)


def test_a_reply_carries_ok_and_its_error(signer):
    back = decode(encode(Message("reply", "r2", "train", ok=False, error="bad spec"), signer),
                  signer)
    assert back.kind == "reply" and not back.ok and back.error == "bad spec"


def test_a_wrong_signature_is_refused(signer):
    frames = encode(Message("request", "r1", "ping"), signer)
    with pytest.raises(ProtocolError, match="wrong signature") as info:
        decode(frames, Signer(new_key()))
    assert info.value.message_id is None  # nothing of it is trusted, not even its id
    forged = [frames[0][:-1] + b"0" if frames[0][-1:] != b"0" else frames[0][:-1] + b"1",
              *frames[1:]]
    with pytest.raises(ProtocolError, match="wrong signature"):
        decode(forged, signer)


def test_a_changed_buffer_breaks_the_signature(signer):
    frames = encode(Message("request", "r1", "predict", {"digit": np.zeros(4, np.float32)}),
                    signer)
    frames[2] = np.ones(4, np.float32).tobytes()
    with pytest.raises(ProtocolError, match="wrong signature"):
        decode(frames, signer)


def resigned(signer, header_changes, buffers):
    """A message signed with the right key but describing its buffers as ``header_changes``
    says: what a buggy or hostile peer holding the key could send."""
    header = {"protocol": "workbench-engine/1", "kind": "request", "id": "r9", "name": "predict",
              "body": {"digit": {"$array": 0}}, **header_changes}
    frames = [json.dumps(header).encode(), *buffers]
    return [signer.sign(frames), *frames]


def test_an_unknown_dtype_is_refused(signer):
    for dtype in ("object", "complex128", "<U4", "V8"):
        frames = resigned(signer, {"buffers": [{"dtype": dtype, "shape": [1]}]}, [b"x" * 8])
        with pytest.raises(ProtocolError, match="not allowed") as info:
            decode(frames, signer)
        assert info.value.message_id == "r9"  # signed: the sender may be told
    with pytest.raises(ValueError, match="cannot cross"):
        encode(Message("request", "r", "x", {"a": np.array([object()])}), signer)


def test_a_buffer_of_the_wrong_size_is_refused(signer):
    frames = resigned(signer, {"buffers": [{"dtype": "float32", "shape": [28, 28]}]},
                      [b"\0" * (28 * 28 * 4 - 4)])
    with pytest.raises(ProtocolError, match="needs 3136 bytes, the frame has 3132"):
        decode(frames, signer)


@pytest.mark.parametrize("changes,buffers,reason", [
    ({"buffers": [{"dtype": "float32", "shape": [-1]}]}, [b""], "not a list of sizes"),
    ({"buffers": [{"dtype": "float32", "shape": [1.5]}]}, [b""], "not a list of sizes"),
    ({"buffers": []}, [b"\0" * 4], "describes 0 buffers"),
    ({"buffers": [{"dtype": "uint8", "shape": [1]}], "body": {"d": {"$array": 3}}}, [b"\0"],
     "lacks"),
    ({"protocol": "other/1"}, [], "protocol"),
    ({"kind": "exec"}, [], "unknown message kind"),
])
def test_malformed_headers_are_refused(signer, changes, buffers, reason):
    with pytest.raises(ProtocolError, match=reason):
        decode(resigned(signer, {"buffers": [], **changes}, buffers), signer)


def test_a_header_that_is_not_json_is_refused(signer):
    frames = [b"not json"]
    with pytest.raises(ProtocolError, match="not JSON"):
        decode([signer.sign(frames), *frames], signer)
    with pytest.raises(ProtocolError, match="at least 2 frames"):
        decode([b"sig"], signer)


def test_the_reserved_key_cannot_be_smuggled_in_a_body(signer):
    with pytest.raises(ValueError, match="reserved"):
        encode(Message("request", "r", "x", {"a": {"$array": 0}}), signer)


def test_the_engine_modules_import_no_qt():
    code = ("import sys, workbench.engine.server, workbench.engine.handlers, "
            "workbench.engine.inprocess, workbench.engine.lifecycle\n"
            "bad = [m for m in sys.modules if m.startswith(('PyQt5', 'pyqtgraph'))]\n"
            "assert not bad, bad")
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, timeout=120)
