"""TensorFlow's thread pools (textclf.quiet.configure_threads, measured in bench/NOTES.md) and TEXTCLF_THREADS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import assert_clean_error, cli, predict_args

from textclf.errors import UsageError
from textclf.runtime import thread_settings


@pytest.mark.fast
@pytest.mark.parametrize(
    "cores,setting,expected",
    [
        (1, "auto", (1, 2)),
        (2, "auto", (1, 2)),
        (4, "auto", (2, 2)),
        (8, "auto", None),
        (64, "auto", None),
        (2, "tf", None),
        (2, " TF ", None),
        (2, "3,1", (3, 1)),
        (16, "1, 2", (1, 2)),
    ],
)
def test_thread_settings(cores, setting, expected):
    assert thread_settings(cores, setting) == expected


@pytest.mark.fast
@pytest.mark.parametrize("bad", ["fast", "0,2", "1", "1,2,3", "-1,2", ""])
def test_bad_thread_setting_names_the_variable_and_the_forms(bad):
    with pytest.raises(UsageError, match=r"TEXTCLF_THREADS: received .*expected auto, tf, or two positive integers"):
        thread_settings(2, bad)


def test_a_fresh_process_runs_with_the_setting():
    code = (
        "from textclf.runtime import import_tensorflow; import_tensorflow(); import tensorflow as tf; "
        "print(tf.config.threading.get_intra_op_parallelism_threads(), "
        "tf.config.threading.get_inter_op_parallelism_threads())"
    )
    env = dict(os.environ, TEXTCLF_THREADS="3,1", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "1"]


def test_cli_reports_a_bad_setting_without_a_traceback(multiclass_run, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTCLF_THREADS", "lots")
    result = cli(*predict_args(multiclass_run.run, multiclass_run.predict_input, tmp_path / "p.csv"))
    assert_clean_error(result, 2, "TEXTCLF_THREADS: received 'lots'")
    assert not (tmp_path / "p.csv").exists()
