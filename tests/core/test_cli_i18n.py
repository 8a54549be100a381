"""The ``workbench`` command in Chinese (#29): English by default; under LANG=zh_CN.UTF-8 its
messages, its ``--help`` and argparse's own words are Chinese, while ``--json`` stays English."""

import json

import pytest

from tests.conftest import TEMPLATES, run_process

UNKNOWN = "未知的数据集 'no-such-set'"


@pytest.fixture
def chinese(monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("COLUMNS", "80")  # the help is wrapped to the terminal's width


def one_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode != 0 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_english_by_default(cli, monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert one_line(cli("dataset", "no-such-set")).startswith(
        "workbench: Unknown dataset 'no-such-set': use one of mnist-embedded")
    assert "usage: workbench" in cli("--help").stdout


def test_a_chinese_error_line(cli, chinese):
    line = one_line(cli("dataset", "no-such-set"))
    assert line.startswith("workbench: " + UNKNOWN) and "mnist-embedded" in line
    assert one_line(cli("summary", TEMPLATES / "mnist-mlp.json", "--epochs", "1")) == (
        "workbench: 无法识别的参数：--epochs 1（参见 'workbench --help'）")
    assert one_line(cli("dataset")) == (
        "workbench dataset: 缺少以下必需参数：NAME|PATH（参见 'workbench dataset --help'）")


def test_chinese_help(cli, chinese):
    out = cli("--help").stdout
    assert out.startswith("用法：workbench") and "选项:" in out and "位置参数:" in out
    assert "显示此帮助信息并退出" in out and "神经网络训练工作台" in out
    assert max(map(columns, out.splitlines())) <= 80  # wrapped by terminal columns
    assert "TFLite 训练后量化（int8：用训练数据校准）" in cli("export", "--help").stdout


def columns(line: str) -> int:
    from workbench.cli_common import columns

    return columns(line)


def test_json_keys_stay_english(cli, chinese, tiny_project):
    proc = cli("dataset", tiny_project / "digits.npz", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert set(info) == {"name", "task", "input_shape", "classes", "train_counts",
                         "test_counts"}
    assert info["task"] == "classification"
    text = cli("dataset", tiny_project / "digits.npz").stdout
    assert "分类" in text and "400 个训练样本，100 个测试样本" in text


def test_a_process_reads_its_language_from_the_environment(chinese):
    proc = run_process("dataset", "no-such-set")
    assert one_line(proc).startswith("workbench: " + UNKNOWN)
