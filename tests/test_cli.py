"""The command line: help texts, start-up without TensorFlow, and the mapping of failures to exit codes."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import assert_clean_error, cli

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        timeout=120,
    )


# --------------------------------------------------------------------------------------------------
# Help


@pytest.mark.fast
@pytest.mark.parametrize(
    "command",
    [
        [],
        ["train"],
        ["tune"],
        ["predict"],
        ["eval"],
        ["init"],
        ["check-data"],
        ["explain"],
        ["runs"],
        ["show"],
        ["env"],
        ["export"],
        ["datasets"],
        ["datasets", "list"],
        ["datasets", "download"],
    ],
)
def test_help_has_an_example_block(command):
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Example:" in text
    after = text.split("Example:", 1)[1].splitlines()
    examples = [line.strip() for line in after[1:] if line.strip()]
    assert examples and examples[0].startswith(" ".join(["textclf", *command])), text


@pytest.mark.fast
def test_main_help_lists_commands_and_exit_codes():
    text = cli("--help").stdout
    for name in ("train", "predict", "eval"):
        assert name in text
    assert "Exit codes" in text and "4 model rejected" in text


@pytest.mark.fast
def test_version():
    from textclf import __version__

    result = cli("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


# --------------------------------------------------------------------------------------------------
# TensorFlow stays out of start-up


@pytest.mark.fast
@pytest.mark.parametrize(
    "args", [["--help"], ["train", "--help"], ["predict", "--help"], ["eval", "--help"], ["--version"]]
)
def test_help_does_not_import_tensorflow(args):
    proc = run_python(f"""
        import sys
        from click.testing import CliRunner
        import textclf.cli
        assert 'tensorflow' not in sys.modules, 'imported by textclf.cli'
        result = CliRunner().invoke(textclf.cli.main, {args!r})
        assert result.exit_code == 0, result.output
        print('TF', 'tensorflow' in sys.modules, 'KERAS', 'keras' in sys.modules)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "TF False KERAS False" in proc.stdout


@pytest.mark.fast
def test_import_textclf_does_not_import_tensorflow():
    proc = run_python("""
        import sys
        import textclf, textclf.cli, textclf.config, textclf.io.tables, textclf.errors
        print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.fast
def test_config_and_data_errors_exit_before_tensorflow(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epocs: 3\n", encoding="utf-8")
    one_class = tmp_path / "one.csv"
    one_class.write_text("text,label\n" + "hello,x\n" * 10, encoding="utf-8")
    data_conf = tmp_path / "data.yaml"
    data_conf.write_text("data:\n  train: one.csv\n", encoding="utf-8")
    proc = run_python(f"""
        import sys
        from click.testing import CliRunner
        from textclf.cli import main
        r1 = CliRunner().invoke(main, ['train', '--config', {str(bad)!r}])
        r2 = CliRunner().invoke(main, ['train', '--config', {str(data_conf)!r}, '--run-dir', {str(tmp_path / "run")!r}])
        print('CODES', r1.exit_code, r2.exit_code, 'TF', 'tensorflow' in sys.modules)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "CODES 2 3 TF False" in proc.stdout, proc.stdout


@pytest.mark.fast
def test_console_script_entry_point(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0 and "Example:" in proc.stdout


@pytest.mark.fast
def test_real_process_config_error_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  learning_rate: 1e-3\n  seed: 010\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "textclf.cli", "train", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert "train.learning_rate (line 2)" in proc.stderr and "train.seed (line 3)" in proc.stderr


# --------------------------------------------------------------------------------------------------
# Exit codes


@pytest.mark.fast
def test_click_usage_errors_exit_2(tmp_path):
    assert cli("train").exit_code == 2  # --config missing
    assert cli("predict", "--model", "x").exit_code == 2
    assert cli("no-such-command").exit_code == 2
    assert cli("train", "--config", tmp_path / "c.yaml", "--device", "tpu").exit_code == 2
    assert cli("predict", "--model", "x", "--input", "a.csv", "--output", "b.csv", "--top-k", "-1").exit_code == 2


def _failing_config(monkeypatch, exc: BaseException):
    import textclf.config

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(textclf.config, "load_config", boom)


@pytest.mark.fast
@pytest.mark.parametrize(
    "exc, code, needle",
    [
        (RuntimeError("boom"), 1, "internal error: RuntimeError: boom"),
        (MemoryError(), 5, "out of memory"),
        (OSError(errno.ENOSPC, "No space left on device"), 5, "no space left"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_unexpected_failures_map_to_exit_codes(monkeypatch, tmp_path, exc, code, needle):
    _failing_config(monkeypatch, exc)
    conf = tmp_path / "c.yaml"
    conf.write_text("train:\n  epochs: 1\n", encoding="utf-8")
    assert_clean_error(cli("train", "--config", conf), code, needle)


@pytest.mark.fast
def test_internal_error_traceback_only_with_debug(monkeypatch, tmp_path):
    _failing_config(monkeypatch, RuntimeError("boom"))
    conf = tmp_path / "c.yaml"
    conf.write_text("train:\n  epochs: 1\n", encoding="utf-8")
    result = cli("--debug", "train", "--config", conf)
    assert result.exit_code == 1 and "Traceback" in result.output and "--debug" in result.output


@pytest.mark.fast
def test_textclf_error_exit_codes():
    from textclf import errors

    assert errors.UsageError.exit_code == errors.ConfigError.exit_code == 2
    assert errors.DataError.exit_code == 3 and errors.ModelRejected.exit_code == 4
    assert errors.ResourceError.exit_code == 5 and errors.DivergedError.exit_code == 6
    assert errors.Interrupted("x", 143).exit_code == 143


def test_eval_prints_report_and_writes_json(multiclass_run, tmp_path):
    out = tmp_path / "m.json"
    result = cli("eval", "--model", multiclass_run.run, "--data", multiclass_run.test, "--output", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    assert json.loads(out.read_text())["task"] == "multiclass"
    for word in ("accuracy", "macro-F1", "weighted-F1", "precision", "recall", "support", "confusion matrix"):
        assert word in result.stdout, word


def test_tensorflow_native_log_lines_stay_off_stderr_and_its_start_gets_a_line(multiclass_run, tmp_path):
    # TensorFlow writes oneDNN/CUDA notices from C++ to fd 2 and ignores TF_CPP_MIN_LOG_LEVEL for them;
    # predict and eval must keep them off the user's terminal (also when stderr is a pipe), --debug shows them
    import subprocess

    from support import textclf_argv

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TEXTCLF_QUIET")}
    for args in (
        (
            "predict",
            "--model",
            multiclass_run.run,
            "--input",
            multiclass_run.predict_input,
            "--output",
            tmp_path / "p.csv",
        ),
        ("eval", "--model", multiclass_run.run, "--data", multiclass_run.test),
    ):
        proc = subprocess.run(textclf_argv(*args), capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "oneDNN" not in proc.stderr and "I0000" not in proc.stderr, proc.stderr
        assert "starting TensorFlow" in proc.stderr  # the silent seconds of its import get a line
    debug = subprocess.run(
        textclf_argv("--debug", "eval", "--model", multiclass_run.run, "--data", multiclass_run.test),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert debug.returncode == 0 and "I0000" in debug.stderr, debug.stderr
