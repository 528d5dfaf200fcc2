"""``train.tracking: mlflow``: each epoch, the config, the final metrics and the run directory logged to MLflow.

The real trainings here log to a local store in a temporary folder (the default ``./mlruns`` of a temporary
working directory, or ``MLFLOW_TRACKING_URI``) and are read back with ``MlflowClient``. A resumed run must
continue the same MLflow run; a store that cannot be written must not cost the training.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import SMALL, assert_clean_error, cli, history_epochs, read_csv_rows, write_csv

REPO = Path(__file__).resolve().parent.parent


def write_config(folder: Path, text: str = "") -> Path:
    write_csv(folder / "t.csv", ["text", "label"], [("good day", "a"), ("bad day", "b")] * 5)
    config = folder / "c.yaml"
    config.write_text(f"data:\n  train: t.csv\n{text}", encoding="utf-8")
    return config


@pytest.mark.fast
@pytest.mark.parametrize(
    "setting, message",
    [
        ("train.tracking=wandb", r"train.tracking (--set): received 'wandb', expected one of none, mlflow"),
        ("train.tracking_experiment=''", "train.tracking_experiment (--set): received an empty string"),
        ("train.tracking_experiment=12", "received the number 12, expected a string"),
    ],
)
def test_tracking_keys_are_validated_like_the_others(tmp_path, setting, message):
    config = write_config(tmp_path)
    assert_clean_error(cli("train", "--config", config, "--set", setting), 2, message)


@pytest.mark.fast
def test_mlflow_missing_is_a_config_error_before_training_starts(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if it were not installed
    config = write_config(tmp_path, "train:\n  tracking: mlflow\n")
    run = tmp_path / "run"
    assert_clean_error(
        cli("train", "--config", config, "--run-dir", run),
        2,
        "train.tracking: received 'mlflow', but mlflow is not installed",
        "pip install 'textclf[tracking]'",
    )
    assert not run.exists()


@pytest.mark.fast
def test_mlflow_is_imported_neither_by_help_nor_for_tracking_none():
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        from click.testing import CliRunner
        import textclf.cli
        assert CliRunner().invoke(textclf.cli.main, ["train", "--help"]).exit_code == 0
        from textclf.config import Config
        from textclf.training.tracking import NoTracking, check_tracking, start_tracking
        check_tracking(Config())
        assert isinstance(start_tracking(Config(), Path("run"), [], "binary"), NoTracking)
        print(sorted(m for m in ("mlflow", "sqlalchemy", "tensorflow") if m in sys.modules))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def mlflow_run(tracking: dict):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking["tracking_uri"])
    return client, client.get_run(tracking["run_id"])


def artifact_paths(client, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for item in client.list_artifacts(run_id, path):
        out += artifact_paths(client, run_id, item.path) if item.is_dir else [item.path]
    return out


def test_a_tracked_run_logs_every_epoch_and_a_resume_continues_the_same_mlflow_run(
    multiclass_files, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the default store: ./mlruns
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from textclf.training.tracking import MlflowTracker

    logged = MlflowTracker.epoch

    def epoch_then_sigterm(self, result):  # SIGTERM once epoch 1 is logged: the loop stops at the next batch
        logged(self, result)
        if result.epoch == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(MlflowTracker, "epoch", epoch_then_sigterm)
    run = tmp_path / "run"
    settings = ["--set", "train.tracking=mlflow", "--set", "train.tracking_experiment=cards and tracks"]
    first = cli("train", "--config", multiclass_files["config"], "--run-dir", run, *SMALL, *settings)
    assert first.exit_code == 143, first.output
    tracking = json.loads((run / "tracking.json").read_text())
    client, before = mlflow_run(tracking)
    assert before.info.status == "KILLED" and [
        m.step for m in client.get_metric_history(before.info.run_id, "loss")
    ] == [1]
    assert Path(tracking["tracking_uri"].removeprefix("sqlite:///")) == tmp_path / "mlruns" / "mlflow.db"

    monkeypatch.setattr(MlflowTracker, "epoch", logged)
    resumed = cli("train", "--resume", run)
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((run / "tracking.json").read_text()) == tracking  # the same MLflow run, continued
    _, after = mlflow_run(tracking)
    assert (
        after.info.status == "FINISHED" and client.get_experiment(after.info.experiment_id).name == "cards and tracks"
    )
    epochs = history_epochs(run)
    _, rows = read_csv_rows(run / "history.csv")
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        history = client.get_metric_history(after.info.run_id, name)
        assert [m.step for m in history] == epochs == [1, 2], name  # each epoch once, the resumed one included
        assert [m.value for m in history] == [float(r[name]) for r in rows], name
    assert after.data.params["model.units"] == "8" and after.data.params["train.epochs"] == "2"
    metrics = json.loads((run / "metrics.json").read_text())
    assert after.data.metrics["test.accuracy"] == metrics["test"]["accuracy"]
    assert after.data.metrics["valid.macro_f1"] == metrics["valid"]["macro_f1"]
    artifacts = artifact_paths(client, after.info.run_id)
    listed = json.loads((run / "manifest.json").read_text())["files"]
    assert sorted(artifacts) == sorted(f"run/{name}" for name in [*listed, "manifest.json"])
    assert {"run/manifest.json", "run/MODEL_CARD.md", "run/tracking.json"} <= set(artifacts)


def test_a_store_that_cannot_be_written_costs_only_the_tracking(multiclass_files, tmp_path, monkeypatch):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{blocker}/mlflow.db")
    run = tmp_path / "run"
    result = cli("train", "--config", multiclass_files["config"], "--run-dir", run, *SMALL, "--set",
                 "train.tracking=mlflow")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning: tracking: MLflow failed while starting" in result.output
    assert "training goes on without tracking" in result.output
    assert not (run / "tracking.json").exists()
    assert cli("show", run, "--card").exit_code == 0  # complete, and it verifies
