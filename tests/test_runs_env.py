"""``textclf runs``, ``textclf show``, ``textclf env`` and shell completion.

The runs are copies of the session's real training runs (conftest), plus hand-made broken ones: a corrupted
metrics.json, a deleted manifest, a FIFO and a symbolic link where a JSON file should be. A run killed before
its first checkpoint and a resumable one are hand-made too, from a config alone (fixture ``unfinished_runs``):
the tests that need nothing else run without any training.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import assert_clean_error, cli, read_csv_rows, sha256

REPO = Path(__file__).resolve().parents[1]
DAY = 86400
T0 = 1_790_000_000  # an arbitrary fixed time: the runs' ages are set relative to it


def _copy(src: Path, dst: Path, age_days: float) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    t = T0 - age_days * DAY
    os.utime(dst / "config.yaml", (t, t))  # "created" of a run without a time stamp in its name
    return dst


def _add_unfinished_runs(base: Path, config_yaml: str) -> None:
    """Hand-made folders that need no training: a run killed before its first checkpoint, a resumable run
    (one checkpoint, dated by the stamp in its name), and two things that are not runs."""
    killed = base / "killed"
    killed.mkdir()
    (killed / "config.yaml").write_text(config_yaml, encoding="utf-8")
    os.utime(killed / "config.yaml", (T0, T0))
    resumable = base / "resumable-20200101-000000"  # the stamp in the name dates it
    resumable.mkdir()
    (resumable / "config.yaml").write_text(config_yaml, encoding="utf-8")
    ckpt = resumable / "checkpoints" / "epoch-00001-step-0000000"
    ckpt.mkdir(parents=True)
    (ckpt / "state.json").write_text(
        json.dumps(
            {
                "epoch": 1,
                "step": 0,
                "best_epoch": 1,
                "history": [{"epoch": 1, "loss": 0.9, "val_loss": 0.6, "val_accuracy": 0.8}],
                "data": {"data.train": "ab" * 32},
            }
        ),
        encoding="utf-8",
    )
    (base / "notes").mkdir()  # not a run: left out
    (base / "notes" / "todo.txt").write_text("compare runs", encoding="utf-8")
    (base / "README.txt").write_text("a file, not a run", encoding="utf-8")


@pytest.fixture(scope="module")
def unfinished_runs(multiclass_files, tmp_path_factory) -> Path:
    """A runs/ folder of hand-made runs only (no training): killed, resumable, and two things that are not runs.

    Their config.yaml is the resolved config of the session runs' settings, written by ``Config.to_yaml``."""
    from textclf.config import load_config

    base = tmp_path_factory.mktemp("unfinished") / "runs"
    base.mkdir()
    settings = ["model.units=8", "model.embedding_dim=16", "train.epochs=2", "train.batch_size=32"]
    cfg = load_config(multiclass_files["config"], settings)
    _add_unfinished_runs(base, cfg.to_yaml())
    return base


@pytest.fixture(scope="module")
def runs(multiclass_run, binary_run, multilabel_run, tmp_path_factory) -> Path:
    """A runs/ folder: three complete runs, one damaged, one without a manifest, one killed, one resumable."""
    base = tmp_path_factory.mktemp("listing") / "runs"
    base.mkdir()
    _copy(multiclass_run.run, base / "multiclass", 5)
    _copy(binary_run.run, base / "binary", 4)
    _copy(multilabel_run.run, base / "multilabel", 3)
    bad = _copy(multiclass_run.run, base / "bad-metrics", 2)
    (bad / "metrics.json").write_text('{"task": "multiclass", "valid": {"accur', encoding="utf-8")
    gone = _copy(multiclass_run.run, base / "no-manifest", 1)
    (gone / "manifest.json").unlink()
    _add_unfinished_runs(base, (multiclass_run.run / "config.yaml").read_text(encoding="utf-8"))
    return base


def _names(stdout: str) -> list[str]:
    return [line.split()[0] for line in stdout.splitlines()[1:] if line.strip()]


def _listing(runs: Path, *args: str) -> list[dict]:
    result = cli("runs", str(runs), "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------------------------------
# textclf runs


def test_runs_table_lists_every_run_newest_first_with_status(runs, multiclass_run):
    result = cli("runs", str(runs))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "CREATED", "TASK", "BEST"] and lines[0].rstrip().endswith("STATUS")
    assert _names(result.stdout) == [
        "killed",
        "no-manifest",
        "bad-metrics",
        "multilabel",
        "binary",
        "multiclass",
        "resumable-20200101-000000",
    ]
    row = {line.split()[0]: line for line in lines[1:]}
    metrics = json.loads((multiclass_run.run / "metrics.json").read_text(encoding="utf-8"))
    assert row["multiclass"].rstrip().endswith("complete")
    assert "multiclass" in row["multiclass"] and "accuracy" in row["multiclass"]
    assert f"{metrics['valid']['accuracy']:.4f}" in row["multiclass"]
    assert f"{metrics['test']['accuracy']:.4f}" in row["multiclass"]
    assert f"{metrics['best_epoch']}/{metrics['epochs_run']}" in row["multiclass"]
    assert "bilstm 8" in row["multiclass"] and "train.csv" in row["multiclass"]
    assert "micro_f1" in row["multilabel"] and "multilabel" in row["multilabel"]
    assert "damaged: metrics.json is not valid JSON" in row["bad-metrics"]
    assert row["no-manifest"].rstrip().endswith("incomplete")
    assert row["killed"].rstrip().endswith("incomplete")
    assert row["resumable-20200101-000000"].rstrip().endswith("resumable (epoch 1 of 2 done)")
    assert "2020-01-01 00:00" in row["resumable-20200101-000000"]
    assert "notes" not in row and "README.txt" not in row


def test_runs_json_carries_metrics_settings_and_status(runs, multiclass_run, multilabel_run, binary_run):
    listing = {r["name"]: r for r in _listing(runs)}
    assert set(listing) == {
        "multiclass",
        "binary",
        "multilabel",
        "bad-metrics",
        "no-manifest",
        "killed",
        "resumable-20200101-000000",
    }
    for name, trained in (("multiclass", multiclass_run), ("binary", binary_run), ("multilabel", multilabel_run)):
        r = listing[name]
        metrics = json.loads((trained.run / "metrics.json").read_text(encoding="utf-8"))
        metric = "micro_f1" if name == "multilabel" else "accuracy"
        assert (r["status"], r["problem"], r["status_text"]) == ("complete", None, "complete")
        assert r["task"] == metrics["task"] == ("multiclass" if name == "multiclass" else name)
        assert r["metric"] == metric
        assert r["valid"] == metrics["valid"][metric] and r["test"] == metrics["test"][metric]
        assert r["valid_metrics"]["macro_f1"] == metrics["valid"]["macro_f1"]
        assert r["best_epoch"] == metrics["best_epoch"] and r["epochs_run"] == metrics["epochs_run"]
        assert r["fit_seconds"] == metrics["timing"]["fit_seconds"]
        assert r["settings"]["data.train"] == str(trained.train)
        assert r["settings"]["model.units"] == 8 and r["settings"]["train.batch_size"] == 32
        assert r["settings"]["train.epochs"] == 2 and r["settings"]["model.rnn"] == "lstm"
        assert r["path"] == str(runs / name)
    assert listing["binary"]["classes"] == 2 and listing["multiclass"]["classes"] == 3
    assert listing["killed"]["status"] == "incomplete" and listing["killed"]["valid"] is None
    assert listing["killed"]["created"] == __import__("datetime").datetime.fromtimestamp(T0).isoformat()
    assert listing["resumable-20200101-000000"]["checkpoint"] == "epoch-00001-step-0000000"
    bad = listing["bad-metrics"]
    assert bad["status"] == "damaged" and bad["problem"].startswith("metrics.json is not valid JSON (")
    assert bad["task"] == "multiclass" and bad["valid"] is None  # labels.json still says the task


def test_runs_sort_by_metric_name_and_time(runs):
    by_name = [r["name"] for r in _listing(runs, "--sort", "name")]
    assert by_name == sorted(by_name)
    for key in ("valid", "test", "valid.macro_f1", "test.hamming_loss", "seconds"):
        listing = _listing(runs, "--sort", key)
        split, _, metric = key.partition(".")
        if key == "seconds":
            values = [r["fit_seconds"] for r in listing]
        elif metric:
            values = [r[f"{split}_metrics"].get(metric) for r in listing]
        else:
            values = [r[split] for r in listing]
        have = [v for v in values if v is not None]
        assert have and values[: len(have)] == have, (key, values)  # runs without the figure come last
        lower_first = key == "seconds" or "loss" in key
        assert have == sorted(have, reverse=not lower_first), (key, have)


def test_runs_sort_errors_name_the_accepted_keys(runs):
    assert_clean_error(
        cli("runs", str(runs), "--sort", "accuracy"),
        2,
        "--sort accuracy: expected one of created, name, valid, test, seconds",
        "valid.macro_f1",
    )
    assert_clean_error(
        cli("runs", str(runs), "--sort", "valid.macro_fi"),
        2,
        "no run has macro_fi in its valid metrics",
        "valid.macro_f1",
    )


@pytest.mark.fast
def test_runs_lists_unfinished_runs_and_leaves_out_what_is_not_a_run(unfinished_runs):
    result = cli("runs", str(unfinished_runs))
    assert result.exit_code == 0, result.output
    assert _names(result.stdout) == ["killed", "resumable-20200101-000000"]
    row = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert row["killed"].rstrip().endswith("incomplete")
    assert row["resumable-20200101-000000"].rstrip().endswith("resumable (epoch 1 of 2 done)")
    assert "2020-01-01 00:00" in row["resumable-20200101-000000"]
    assert "bilstm 8" in row["killed"] and "train.csv" in row["killed"]
    listing = {r["name"]: r for r in _listing(unfinished_runs)}
    assert set(listing) == {"killed", "resumable-20200101-000000"}
    assert listing["killed"]["status"] == "incomplete" and listing["killed"]["valid"] is None
    assert listing["killed"]["created"] == __import__("datetime").datetime.fromtimestamp(T0).isoformat()
    assert listing["resumable-20200101-000000"]["checkpoint"] == "epoch-00001-step-0000000"


@pytest.mark.fast
def test_runs_default_folder_and_missing_folder(unfinished_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(unfinished_runs.parent)
    result = cli("runs")
    assert result.exit_code == 0 and "killed" in result.stdout
    monkeypatch.chdir(tmp_path)
    assert_clean_error(cli("runs"), 2, "runs: no such folder", "textclf runs path/to/runs")
    (tmp_path / "empty").mkdir()
    result = cli("runs", "empty")
    assert result.exit_code == 0 and result.stdout.strip() == "no run directories"
    assert cli("runs", "empty", "--json").stdout.strip() == "[]"
    run = unfinished_runs / "killed"
    assert_clean_error(cli("runs", str(run)), 2, "is a run directory itself", f"textclf show {run}")


def test_runs_never_reads_through_links_fifos_or_oversized_files(multiclass_run, tmp_path):
    base = tmp_path / "runs"
    link = _copy(multiclass_run.run, base / "link", 1)
    (link / "labels.json").unlink()
    (link / "labels.json").symlink_to(multiclass_run.run / "labels.json")
    fifo = _copy(multiclass_run.run, base / "fifo", 2)
    (fifo / "metrics.json").unlink()
    os.mkfifo(fifo / "metrics.json")  # opening it for reading would block a naive reader forever
    big = _copy(multiclass_run.run, base / "big", 3)
    with open(big / "config.yaml", "ab") as f:
        f.write(b"#" * (1 << 20))
    wrong = _copy(multiclass_run.run, base / "wrong-shape", 4)
    (wrong / "labels.json").write_text('["not", "a", "dict"]', encoding="utf-8")
    short = _copy(multiclass_run.run, base / "short-history", 5)
    with open(short / "history.csv", "a", encoding="utf-8") as f:
        f.write("3,0.1,0.1,1.0,0.002,0.1\n")
    problems = {r["name"]: r["problem"] for r in _listing(base)}
    assert problems["link"] == "labels.json is a symbolic link; a run directory may only hold plain files"
    assert problems["fifo"] == "metrics.json is not a regular file (a FIFO, socket, device or folder)"
    assert problems["big"].startswith("config.yaml is 1,0")
    assert problems["big"].endswith("bytes, over its 1,048,576-byte cap; not read")
    assert problems["wrong-shape"] == "labels.json is not in textclf's format (expected a JSON/YAML dict, found list)"
    assert "history.csv is" in problems["short-history"] and "manifest.json says" in problems["short-history"]


def test_runs_and_show_do_not_import_tensorflow(runs):
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from textclf.cli import main
        r1 = CliRunner().invoke(main, ['runs', {str(runs)!r}])
        r2 = CliRunner().invoke(main, ['show', {str(runs / "multiclass")!r}])
        r3 = CliRunner().invoke(main, ['env', '--no-tensorflow', '--json'])
        print('CODES', r1.exit_code, r2.exit_code, r3.exit_code, 'TF', 'tensorflow' in sys.modules,
              'KERAS', 'keras' in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "CODES 0 0 0 TF False KERAS False" in proc.stdout, proc.stdout + proc.stderr


# --------------------------------------------------------------------------------------------------
# textclf show


def test_show_complete_run_report(runs, multiclass_run):
    run = runs / "multiclass"
    result = cli("show", str(run))
    assert result.exit_code == 0, result.output
    out = result.stdout
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    files = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert f"run         {run.resolve()}" in out
    assert "status      complete" in out
    assert f"manifest    verified: all {len(files)} files match their SHA-256" in out
    assert "task        multiclass, 3 classes: food, sports, tech" in out
    assert f"train {multiclass_run.train}  sha256 {sha256(multiclass_run.train)[:16]}..." in out
    assert f"test {multiclass_run.test}  sha256 {sha256(multiclass_run.test)[:16]}..." in out
    assert "valid split from train (10%)" in out
    assert "model bilstm 8, embedding 16" in out and "epochs 2, batch 32" in out
    hp = json.loads((run / "model.json").read_text(encoding="utf-8"))["hyperparameters"]
    assert f"vocabulary  {hp['vocab_size']:,} tokens, {hp['ngram_vocab_size']:,} n-grams" in out
    assert "\nhistory\n  epoch  loss    val_loss  val_accuracy  seconds\n" in out
    _, history = read_csv_rows(run / "history.csv")
    for row in history:
        mark = " *" if int(row["epoch"]) == metrics["best_epoch"] else ""
        assert f"  {row['epoch']}{mark}" in out and f"{float(row['val_loss']):.4f}" in out
    assert "metrics  rows  accuracy  macro_f1  weighted_f1" in out
    assert f"test     {metrics['test']['rows']}" in out
    assert "lowest F1 (test, worst 3)" in out
    assert f"timing      training {metrics['timing']['fit_seconds']:.1f}s" in out
    assert f"logs        {(run / 'logs').resolve()}" in out


def test_show_json_matches_the_run_files(runs, multilabel_run):
    from textclf.run import directory as artifacts

    run = runs / "multilabel"
    result = cli("show", str(run), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    labels = json.loads((run / "labels.json").read_text(encoding="utf-8"))
    assert info["status"] == "complete" and info["manifest"]["verified"] is True
    assert info["task"] == "multilabel" and info["metric"] == "micro_f1"
    assert info["classes"] == {"count": 3, "first": labels["classes"]}
    assert info["data"][0] == {
        "key": "data.train",
        "path": str(multilabel_run.train),
        "sha256": sha256(multilabel_run.train),
        "exists": True,
    }
    assert info["metrics"]["valid"]["micro_f1"] == metrics["valid"]["micro_f1"]
    assert info["metrics"]["test"]["hamming_loss"] == metrics["test"]["hamming_loss"]
    per_label = metrics["test"]["per_label"]
    worst = sorted(per_label, key=lambda c: (per_label[c]["f1"], -per_label[c]["support"], c))
    assert info["worst_classes"]["split"] == "test"
    assert [r["name"] for r in info["worst_classes"]["rows"]] == worst
    assert info["worst_classes"]["rows"][0]["f1"] == per_label[worst[0]]["f1"]
    assert len(info["history"]) == metrics["epochs_run"] and info["history"][0]["epoch"] == 1
    assert info["config"]["data.label_column"] == "labels" and info["config"]["train.class_weight"] == "auto"
    assert info["timing"]["fit_seconds"] == metrics["timing"]["fit_seconds"]
    assert info["thresholds"] is not None  # tuned (thresholds.json) or the recorded default
    loaded = artifacts.load_run(run)  # the count from model.json equals Keras's own count
    assert info["parameters"] == loaded.model.count_params()
    assert info["vocabulary"] == {
        "tokens": loaded.hyperparameters.vocab_size,
        "ngrams": loaded.hyperparameters.ngram_vocab_size,
    }


def test_show_thresholds_and_plots(run_copy):
    from textclf.run import directory as artifacts

    thresholds_file = getattr(artifacts, "THRESHOLDS", None)
    if thresholds_file and (run_copy / thresholds_file).exists():
        (run_copy / thresholds_file).unlink()
    metrics = json.loads((run_copy / "metrics.json").read_text(encoding="utf-8"))
    metrics["thresholds"] = {"food": 0.35, "sports": 0.6, "tech": 0.5}
    (run_copy / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (run_copy / "extra_plot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = cli("show", str(run_copy))
    assert result.exit_code == 0, result.output
    assert "thresholds  food 0.350, sports 0.600, tech 0.500 (metrics.json)" in result.stdout
    plots = [line for line in result.stdout.splitlines() if line.startswith("plots ")]
    assert len(plots) == 1 and "extra_plot.png" in plots[0], result.stdout
    # the changed metrics.json no longer matches the manifest: show says so, and that the run is damaged
    assert (
        "manifest    NOT verified:" in result.stdout
        and "'extra_plot.png' that the manifest does not list" in result.stdout
    )
    assert "status      damaged: metrics.json is" in result.stdout and "manifest.json says" in result.stdout


def test_show_damaged_and_incomplete_runs(runs):
    result = cli("show", str(runs / "bad-metrics"))
    assert result.exit_code == 0, result.output
    assert "status      damaged: metrics.json is not valid JSON (" in result.stdout
    assert "manifest    NOT verified:" in result.stdout and "metrics.json is" in result.stdout
    assert "task        multiclass, 3 classes" in result.stdout  # what can be read is still shown
    result = cli("show", str(runs / "no-manifest"))
    assert result.exit_code == 0, result.output
    assert "status      incomplete" in result.stdout
    assert "NOT verified:" in result.stdout and "no manifest.json: the run is incomplete" in result.stdout


@pytest.mark.fast
def test_show_resumable_and_killed_runs(unfinished_runs):
    runs = unfinished_runs
    info = json.loads(cli("show", str(runs / "resumable-20200101-000000"), "--json").stdout)
    assert info["status_text"] == "resumable (epoch 1 of 2 done)"
    assert info["history"] == [{"epoch": 1, "loss": 0.9, "val_loss": 0.6, "val_accuracy": 0.8}]
    assert info["data"][0]["sha256"] == "ab" * 32
    assert info["paths"]["checkpoints"].endswith("checkpoints") and info["best_epoch"] == 1
    text = cli("show", str(runs / "resumable-20200101-000000"), "--no-verify").stdout
    assert "  1 *    0.9000  0.6000    0.8000\n  * best epoch so far" in text
    assert f"resume      textclf train --resume {runs / 'resumable-20200101-000000'}" in text
    info = json.loads(cli("show", str(runs / "killed"), "--json", "--no-verify").stdout)
    assert info["status"] == "incomplete" and info["manifest"]["verified"] is None
    assert info["metrics"] == {} and info["history"] == [] and info["parameters"] is None


@pytest.mark.fast
def test_show_refuses_what_is_not_a_run(unfinished_runs, tmp_path):
    runs = unfinished_runs
    assert_clean_error(cli("show", str(tmp_path / "nope")), 2, "nope: not found; give a run directory")
    assert_clean_error(
        cli("show", str(runs / "notes")), 2, "holds no textclf run files", f"textclf runs {runs / 'notes'}"
    )


@pytest.mark.parametrize(
    "changes", [{}, {"rnn": "gru"}, {"layers": 2, "bidirectional": False}, {"ngram_vocab_size": 0, "num_outputs": 1}]
)
def test_parameter_count_equals_keras_count(changes):
    from textclf.model.hyperparameters import parameter_count
    from textclf.model.network import Hyperparameters, build_model

    hp = dict(
        task="multiclass",
        num_outputs=4,
        vocab_size=50,
        ngram_vocab_size=30,
        embedding_dim=6,
        rnn="lstm",
        units=5,
        layers=1,
        bidirectional=True,
        pooling="max",
        embedding_dropout=0.0,
        dropout=0.0,
    )
    hp.update(changes)
    assert parameter_count(hp) == build_model(Hyperparameters(**hp)).count_params()
    assert parameter_count({"rnn": "transformer"}) is None


# --------------------------------------------------------------------------------------------------
# textclf env


def test_env_json_reports_versions_cpu_and_tensorflow():
    result = cli("env", "--json")
    assert result.exit_code == 0, result.output
    env = json.loads(result.stdout)
    assert {"textclf", "python", "platform", "cpu", "packages", "tensorflow"} <= set(env)
    for name in ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "pyarrow"):
        assert env["packages"][name] == metadata.version(name)
    assert env["python"].startswith(".".join(map(str, sys.version_info[:3])))
    assert env["cpu"]["cores"] == os.cpu_count() and isinstance(env["cpu"]["avx512"], bool)
    tf = env["tensorflow"]
    assert tf["version"] == metadata.version("tensorflow")
    assert isinstance(tf["built_with_cuda"], bool)
    assert any(d["type"] == "CPU" for d in tf["devices"])
    for d in tf["devices"]:
        if d["type"] == "GPU":
            assert "device_name" in d and "compute_capability" in d
    assert isinstance(tf["intra_op_threads"], int) and isinstance(tf["inter_op_threads"], int)
    text = cli("env").stdout
    for needle in (
        "textclf ",
        "python ",
        "cpu avx512 / amx",
        "tensorflow ",
        "tf built with CUDA",
        "tf devices",
        "tf intra-op threads",
    ):
        assert needle in text, text


@pytest.mark.fast
def test_env_cpu_flags_come_from_cpuinfo(tmp_path):
    from textclf.tools.env import cpu_info

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu avx2 fma avx512f avx512_bf16 "
        "amx_tile amx_bf16\n\nprocessor\t: 1\nmodel name\t: Test CPU 9000\nflags\t\t: fpu\n",
        encoding="utf-8",
    )
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384 kB\nMemFree:        1 kB\n", encoding="ascii")
    info = cpu_info(str(cpuinfo), str(meminfo))
    assert info["model"] == "Test CPU 9000" and info["memory_bytes"] == 16384 * 1024
    assert info["avx512"] is True and info["amx"] is True
    assert info["flags"] == ["avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"]
    cpuinfo.write_text("model name\t: Old CPU\nflags\t\t: fpu sse2 avx2\n", encoding="utf-8")
    info = cpu_info(str(cpuinfo), str(tmp_path / "missing"))
    assert (info["avx512"], info["amx"], info["memory_bytes"]) == (False, False, None)


# --------------------------------------------------------------------------------------------------
# Help texts and shell completion


@pytest.mark.fast
@pytest.mark.parametrize("command", ["runs", "show", "env"])
def test_help_has_an_example_block(command):
    result = cli(command, "--help")
    assert result.exit_code == 0, result.output
    after = result.stdout.split("Example:", 1)[1].splitlines()
    examples = [line.strip() for line in after[1:] if line.strip()]
    assert examples and examples[0].startswith(f"textclf {command}"), result.stdout
    assert command in cli("--help").stdout


@pytest.mark.fast
@pytest.mark.parametrize(
    "shell, needle",
    [
        ("bash_source", "complete -o nosort -F _textclf_completion textclf"),
        ("zsh_source", "#compdef textclf"),
        ("fish_source", "complete --no-files --command textclf"),
    ],
)
def test_completion_script_is_produced(shell, needle):
    from textclf.cli import main

    result = CliRunner().invoke(main, [], prog_name="textclf", env={"_TEXTCLF_COMPLETE": shell})
    assert result.exit_code == 0, result.output
    assert needle in result.stdout and "_TEXTCLF_COMPLETE" in result.stdout


@pytest.mark.fast
def test_completion_completes_commands_and_sort_keys():
    from textclf.cli import main

    def complete(words: str, cword: int) -> list[str]:
        result = CliRunner().invoke(
            main,
            [],
            prog_name="textclf",
            env={"_TEXTCLF_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)},
        )
        assert result.exit_code == 0, result.output
        return result.stdout.splitlines()

    assert complete("textclf ru", 1) == ["plain,runs"]
    assert complete("textclf s", 1) == ["plain,serve", "plain,show"]
    assert complete("textclf runs --sort valid.m", 3) == ["plain,valid.macro_f1", "plain,valid.micro_f1"]
    assert complete("textclf runs ", 2)[0] == "dir,"


@pytest.mark.fast
def test_completion_from_the_installed_console_script(tmp_path):
    script = Path(sys.executable).parent / "textclf"
    if not script.exists():
        pytest.skip("the textclf console script is not installed in this environment")
    proc = subprocess.run(
        [str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={**os.environ, "_TEXTCLF_COMPLETE": "bash_source"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "_textclf_completion_setup" in proc.stdout and proc.stderr == ""
