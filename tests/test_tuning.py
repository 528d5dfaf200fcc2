"""textclf tune: a real Optuna study of real trainings on tiny data, its budget, resuming, sharing, refusals.

Every trial trains for real (tiny data, 8 units, 2 epochs); the study is Optuna's own SQLite storage in the
study folder, read back here with Optuna. Kills and a second process are real child processes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from support import CliProcess, LogLines, assert_clean_error, cli, last_line, predict_args, topic_rows, write_csv

from textclf.config import load_config
from textclf.errors import ConfigError, UsageError

optuna = pytest.importorskip("optuna")

TUNE_YAML = """\
data:
  train: train.csv
  test: test.csv
model: {units: 8, embedding_dim: 16}
train: {epochs: 2, batch_size: 32, verbose: false, tensorboard: false, plots: false}
tune:
  default_space: false
  space:
    train.learning_rate: {low: 1.0e-3, high: 3.0e-2, log: true}
    model.units: [4, 8]
    model.rnn: [lstm, gru]
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A folder with train.csv, test.csv and tune.yaml (relative paths: best.yaml must resolve them)."""
    d = tmp_path_factory.mktemp("tune-data")
    write_csv(d / "train.csv", ["text", "label"], topic_rows(150, seed=1))
    write_csv(d / "test.csv", ["text", "label"], topic_rows(45, seed=2))
    (d / "tune.yaml").write_text(TUNE_YAML, encoding="utf-8")
    return d


def load_study(folder: Path):
    return optuna.load_study(study_name=folder.name, storage=f"sqlite:///{folder / 'study.db'}")


def trials_csv(folder: Path) -> list[dict[str, str]]:
    with open(folder / "trials.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def progress_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("trial ")]


# --------------------------------------------------------------------------------------------------
# Refused before anything starts (no TensorFlow, no Optuna import)


@pytest.mark.fast
@pytest.mark.parametrize(
    "text, seconds",
    [("90s", 90), ("20m", 1200), ("1.5h", 5400), (" 2M ", 120), (".5s", 0.5)],
)
def test_budgets_are_read_with_their_unit(text, seconds):
    from textclf.tuning import parse_budget

    assert parse_budget(text) == pytest.approx(seconds)


@pytest.mark.fast
@pytest.mark.parametrize(
    "text, needle",
    [("20", "a number without a unit; write 20s, 20m or 20h"), ("20 min", "the unit s, m or h"), ("0s", "above zero"),
     ("soon", "such as 90s, 20m or 1.5h"), ("-5m", "such as 90s")],
)  # fmt: skip
def test_a_bad_budget_is_refused_saying_what_to_write(text, needle):
    from textclf.tuning import parse_budget

    with pytest.raises(UsageError) as info:
        parse_budget(text)
    assert needle in str(info.value) and "--budget" in str(info.value)


BAD_TUNE = """\
data:
  train: train.csv
tune:
  pruner: meidan
  space:
    model.unit: [4, 8]
    train.learning_rate: {low: 0, high: 1.0e-2, logg: true}
    model.dropout: {low: 0.5, high: 0.95}
    model.rnn: {low: 1, high: 2}
    train.seed: [1, 2]
    data.valid_fraction: [0.1, 0.2]
    model.layers: 3
    model.units: [8, 8]
    train.epochs: {low: 1, high: 4.5}
    train.batch_size: [32, "64"]
    model.ngrams: {low: 0, high: 3, step: 2}
"""


@pytest.mark.fast
def test_bad_tune_sections_are_refused_each_problem_with_its_key_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_TUNE, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    found = {p.split(" (line")[0]: p for p in info.value.problems}
    expect = {
        "tune.pruner": (4, "did you mean 'median'"),
        "tune.space.model.unit": (6, "unknown key; did you mean 'model.units'"),
        "tune.space.train.learning_rate.low": (7, "expected a number above 0.0"),  # the key's own bound
        "tune.space.train.learning_rate.logg": (7, "did you mean 'log'"),
        "tune.space.model.dropout.high": (8, "expected at most 0.9"),
        "tune.space.model.rnn": (9, "expected a list of choices such as [lstm, gru]"),
        "tune.space.train.seed": (10, "cannot be searched"),
        "tune.space.data.valid_fraction": (11, "cannot be searched: the data is the same in every trial"),
        "tune.space.model.layers": (12, "expected a list of choices such as [32, 64, 128] or a range"),
        "tune.space.model.units": (13, "lists 8 twice"),
        "tune.space.train.epochs.high": (14, "expected an integer"),
        "tune.space.train.batch_size[1]": (15, "remove the quotes"),
        "tune.space.model.ngrams": (16, "does not divide"),
    }
    assert set(found) == set(expect), info.value.problems
    for key, (line, needle) in expect.items():
        assert f"(line {line})" in found[key] and needle in found[key], found[key]
    # the same from the command, before anything starts: exit 2, one message listing them all
    assert_clean_error(cli("tune", "--config", path, "--trials", "1"), 2, "13 problems in the config")


@pytest.mark.fast
def test_tune_space_entries_set_on_the_command_line_are_checked_too(tmp_path):
    (tmp_path / "c.yaml").write_text("data:\n  train: train.csv\n", encoding="utf-8")
    cfg = load_config(
        tmp_path / "c.yaml",
        [
            "tune.space.model.units=[16, 32]",
            "tune.space.model.rnn=null",
            "tune.space.model.dropout={low: 0.1, high: 0.2}",
        ],
    )
    space = {e.key: e for e in cfg.tune.space}
    assert space["model.units"].choices == (16, 32) and "model.rnn" not in space
    assert (space["model.dropout"].low, space["model.dropout"].high) == (0.1, 0.2)
    again = load_config(None, [f"tune.space={json.dumps(cfg.to_dict()['tune']['space'])}"])  # round trip
    assert again.tune.space == cfg.tune.space
    result = cli(
        "tune",
        "--config",
        tmp_path / "c.yaml",
        "--trials",
        "1",
        "--set",
        "tune.space.model.dropout={low: 0.1, high: 5e-1}",
    )
    assert_clean_error(
        result, 2, "tune.space.model.dropout.high (--set): received 5e-1, which YAML 1.1 reads as a string"
    )


@pytest.mark.fast
def test_tune_needs_an_end_and_a_config(tiny):
    assert_clean_error(cli("tune", "--config", tiny / "tune.yaml"), 2, "give --budget (such as 20m) or --trials N")
    assert_clean_error(cli("tune", "--trials", "1"), 2, "give --config FILE")
    assert_clean_error(cli("tune", "--resume", "--trials", "1"), 2, "give its folder with --study DIR")
    assert_clean_error(cli("tune", "--config", tiny / "tune.yaml", "--budget", "20"), 2, "write 20s, 20m or 20h")


@pytest.mark.fast
def test_without_optuna_tune_says_how_to_install_it_and_help_imports_neither(tiny):
    code = f"""
        import sys
        from click.testing import CliRunner
        from textclf.cli import main
        r = CliRunner().invoke(main, ['tune', '--help'])
        assert r.exit_code == 0, r.output
        print('HELP', 'optuna' in sys.modules, 'tensorflow' in sys.modules)
        sys.modules['optuna'] = None  # as if not installed
        r = CliRunner().invoke(main, ['tune', '--config', {str(tiny / "tune.yaml")!r}, '--trials', '1'])
        print('CODE', r.exit_code)
        print('ERR', r.stderr.strip())
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "HELP False False" in proc.stdout
    assert "CODE 2" in proc.stdout
    err = proc.stdout.split("ERR ", 1)[1].strip()
    assert err.count("\n") == 0 and "pip install 'textclf[tune]'" in err, err


# --------------------------------------------------------------------------------------------------
# The hook tune trains with: train(on_epoch=...)


def test_on_epoch_sees_every_epoch_and_a_stop_finishes_the_run_with_its_best_epoch(tiny, tmp_path):
    from textclf import Classifier, train

    seen = []

    def stop_after_two(result):
        seen.append((result.epoch, result.epochs, result.improved))
        return "enough for this test" if result.epoch == 2 else None

    cfg = load_config(tiny / "tune.yaml", ["train.epochs=6", "train.early_stopping_patience=0", "data.test=null"])
    with LogLines() as lines:
        run = train(cfg, run_dir=tmp_path / "run", on_epoch=stop_after_two)
    assert [s[:2] for s in seen] == [(1, 6), (2, 6)]
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["epochs_run"] == 2 and metrics["best_epoch"] in (1, 2)
    assert any(line.startswith("stopping after epoch 2: enough for this test; restoring epoch") for line in lines)
    assert Classifier.load(run).predict(["goal team match"]) == ["sports"]


# --------------------------------------------------------------------------------------------------
# A search, its results, and what they are good for


@pytest.fixture(scope="module")
def searched(tiny):
    """Two trials of a new study (in-process CLI); the test file is only read after the search."""
    study = tiny / "studies" / "small"
    result = cli("tune", "--config", tiny / "tune.yaml", "--study", study, "--trials", "2")
    assert result.exit_code == 0, result.output
    return study, result


def test_a_search_reports_each_trial_and_prints_the_best_run_last(searched):
    study, result = searched
    lines = progress_lines(result.stdout)
    assert [line.split(":")[0] for line in lines] == ["trial 1/2 #0", "trial 2/2 #1"], result.stdout
    assert all("val_accuracy" in line and "units=" in line and "learning_rate=" in line for line in lines)
    best = load_study(study).best_trial
    assert last_line(result.stdout) == str(study.resolve() / "runs" / f"trial-{best.number:04d}")
    rows = trials_csv(study)
    assert [r["number"] for r in rows] == ["0", "1"] and {r["state"] for r in rows} == {"COMPLETE"}
    assert {"value", "epochs", "seconds", "reason", "train.learning_rate", "model.units", "model.rnn"} <= set(rows[0])
    assert all(r["epochs"] == "2" for r in rows)
    assert (study / "optimization_history.png").stat().st_size > 1000
    # only the best trial's run directory is kept
    assert sorted(p.name for p in (study / "runs").iterdir()) == [f"trial-{best.number:04d}"]


def test_the_test_file_is_read_once_after_the_search_on_the_best_run(searched, tiny):
    study, result = searched
    best = Path(last_line(result.stdout))
    for log in sorted((study / "logs").glob("trial-*.log")):
        text = log.read_text(encoding="utf-8")
        assert "valid: 15 rows" in text and "test:" not in text, text  # the trial did not read a test file
    saved = yaml.safe_load((best / "config.yaml").read_text(encoding="utf-8"))
    assert saved["data"]["test"] is None
    assert "test" not in json.loads((best / "metrics.json").read_text(encoding="utf-8"))
    test = json.loads((study / "test_metrics.json").read_text(encoding="utf-8"))
    assert test["data"] == str(tiny / "test.csv") and test["rows"] == 45
    assert "test: accuracy" in result.stdout


def test_best_yaml_trains_unchanged_and_the_best_run_predicts(searched, tiny, tmp_path, monkeypatch):
    study, result = searched
    best_params = load_study(study).best_params
    cfg = yaml.safe_load((study / "best.yaml").read_text(encoding="utf-8"))
    assert cfg["data"]["train"] == str(tiny / "train.csv") and cfg["data"]["test"] == str(tiny / "test.csv")
    assert cfg["model"]["units"] == best_params["model.units"] and cfg["model"]["rnn"] == best_params["model.rnn"]
    assert cfg["train"]["learning_rate"] == pytest.approx(best_params["train.learning_rate"])
    monkeypatch.chdir(tmp_path)  # another folder: the paths in best.yaml still resolve
    trained = cli("train", "--config", study / "best.yaml", "--run-dir", tmp_path / "again")
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "preds.csv"
    predicted = cli(*predict_args(Path(last_line(result.stdout)), tiny / "test.csv", out))
    assert predicted.exit_code == 0, predicted.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 46


@pytest.mark.filterwarnings("ignore:Fixed parameter")
def test_a_failing_trial_is_recorded_with_its_reason_and_the_study_goes_on(searched, tmp_path):
    study, _ = searched
    copy = tmp_path / study.name  # the folder's name is the study's name
    shutil.copytree(study, copy)
    # the next trial trains at a learning rate whose loss becomes NaN (queued through Optuna's own API)
    load_study(copy).enqueue_trial({"train.learning_rate": 1.0e38})
    result = cli("tune", "--study", copy, "--resume", "--trials", "2")
    assert result.exit_code == 0, result.output
    lines = progress_lines(result.stdout)
    assert len(lines) == 2 and "#2: failed: training diverged at epoch 1" in lines[0], result.stdout
    assert "logs/trial-0002.log" in lines[0] and "#3: val_accuracy" in lines[1], result.stdout
    rows = trials_csv(copy)
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]
    assert rows[2]["reason"].startswith("training diverged") and rows[2]["train.learning_rate"] == "1e+38"
    assert not (copy / "runs" / "trial-0002").exists()
    # a study that goes on keeps each key's kind: refused before any trial, naming the key
    changed = cli("tune", "--study", copy, "--resume", "--trials", "1", "--config", study.parent.parent / "tune.yaml",
                  "--set", "tune.space.train.learning_rate=[0.01, 0.02]")  # fmt: skip
    assert_clean_error(changed, 2, "tune.space.train.learning_rate: received the choices [0.01, 0.02], but the study "
                       "searched it as a range from 0.001 to 0.03 on a log scale")  # fmt: skip
    assert len(load_study(copy).trials) == 4


def test_when_every_trial_fails_the_command_says_so_with_the_failures_exit_code(tiny, tmp_path):
    result = cli("tune", "--config", tiny / "tune.yaml", "--study", tmp_path / "s", "--trials", "2",
                 "--set", "tune.space.train.learning_rate=[1.0e+38]")  # fmt: skip
    assert_clean_error(result, 6, "no trial finished: the 2 trial(s) of this command failed", "trials.csv")
    assert [r["state"] for r in trials_csv(tmp_path / "s")] == ["FAIL", "FAIL"]


def test_the_budget_stops_the_running_trial_at_an_epoch_boundary_and_it_counts(tiny, tmp_path):
    study = tmp_path / "budget"
    started = time.monotonic()
    result = cli("tune", "--config", tiny / "tune.yaml", "--study", study, "--budget", "6s",
                 "--set", "train.epochs=1000", "--set", "train.early_stopping_patience=0")  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    # the budget plus one epoch (a tenth of a second here), finishing the run, and the test evaluation
    assert elapsed < 6 + 20, f"{elapsed:.1f}s for a 6s budget"
    rows = trials_csv(study)
    assert rows[-1]["state"] == "COMPLETE" and rows[-1]["reason"].startswith("stopped by the budget after epoch")
    assert 1 <= int(rows[-1]["epochs"]) < 1000
    assert (Path(last_line(result.stdout)) / "manifest.json").is_file()


# --------------------------------------------------------------------------------------------------
# Killed, resumed, shared


def test_resume_after_kill9_fails_the_killed_trial_and_repeats_no_finished_one(tiny, tmp_path):
    study = tmp_path / "killed"
    args = ("tune", "--config", tiny / "tune.yaml", "--study", study, "--trials", "6")
    with CliProcess(*args, logs=tmp_path / "logs") as p:
        second = study / "logs" / "trial-0001.log"  # written once trial #1 is running
        p.wait_until(second.exists, timeout=240, what="the second trial", interval=0.05)
        p.signal(signal.SIGKILL)
        assert p.wait(60) == -signal.SIGKILL
    before = {t.number: t.state.name for t in load_study(study).trials}
    assert before == {0: "COMPLETE", 1: "RUNNING"}, before
    result = cli("tune", "--study", study, "--resume", "--trials", "1")  # the study's own config
    assert result.exit_code == 0, result.output
    assert "continuing the study" in result.stdout
    after = {t.number: t.state.name for t in load_study(study).trials}
    # the finished trial is kept as it was; the killed one failed at once (well within the heartbeat's grace), not
    # rerun; the new trial is #2
    assert after == {0: "COMPLETE", 1: "FAIL", 2: "COMPLETE"}, after
    assert trials_csv(study)[1]["reason"].startswith("its process ended before the trial did")
    assert "trial 1/1 #2:" in result.stdout


def test_two_processes_share_one_study_without_repeating_a_trial(tiny, tmp_path):
    study = tmp_path / "shared"
    logs = tmp_path / "logs"
    with CliProcess("tune", "--config", tiny / "tune.yaml", "--study", study, "--trials", "2", logs=logs) as first:
        first.wait_until(lambda: "tune: a new study" in first.stdout, timeout=240, what="the study", interval=0.05)
        with CliProcess("tune", "--study", study, "--resume", "--trials", "2", logs=logs) as second:
            assert second.wait(300) == 0, second.output
        assert first.wait(300) == 0, first.output
    trials = load_study(study).trials
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state.is_finished() and t.state.name != "FAIL" for t in trials), [t.state for t in trials]
    assert len(progress_lines(first.stdout)) == 2 and len(progress_lines(second.stdout)) == 2
    assert {t.user_attrs["pid"] for t in trials} == {first.pid, second.pid}
