"""Fingerprint every number textclf produces, to show that a change to the code leaves them bit for bit equal.

A refactor must not move a single number. This trains five small runs with the textclf tree under test and
records, for each, everything a user could see: metrics.json (timings left out), history.csv (seconds left out),
the SHA-256 of weights.npz and vocab.json, the thresholds, the train log's non-timing lines, the SHA-256 of
``predict --top-k 2`` and of ``eval --errors``, the eval JSON, and ``explain``'s output. CPU runs repeat
exactly, so two trees that compute the same thing give the same fingerprint.

    git worktree add /tmp/before REV                  # the tree to compare against
    python bench/same_numbers.py capture --code /tmp/before --out /tmp/fp-before
    python bench/same_numbers.py capture --out /tmp/fp-after                # this checkout
    python bench/same_numbers.py compare /tmp/fp-before/fingerprint.json /tmp/fp-after/fingerprint.json

The runs: the demo config; the demo streamed from disk; a GRU with mid-epoch checkpoints; 1,500 sms_spam rows
(binary, tuned threshold); 1,500 reuters21578 rows (multi-label, class weights). The last two need
``../shared/datasets`` (``--datasets-dir``). About five minutes on two cores; ``compare`` exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _settings(*pairs: str) -> list[str]:
    """``--set`` arguments for each ``key=value``."""
    return [arg for pair in pairs for arg in ("--set", pair)]


QUIET = _settings("train.verbose=false")
SMALL = _settings("model.units=16", "model.embedding_dim=32", "train.epochs=3") + QUIET


def _jobs(data: Path) -> dict[str, tuple[list[str], str]]:
    """Each job: the ``train`` arguments, and the file that predict, eval and explain score."""
    demo = ["--config", "configs/demo.yaml", *QUIET]
    sms, reuters = data / "sms_", data / "reuters_"
    return {
        "demo": (demo, "data/test.csv"),
        "demo_stream": (
            demo + _settings("data.stream=true", "data.shuffle_buffer=200", "train.epochs=3"),
            "data/test.csv",
        ),
        "demo_checkpoints_gru": (
            demo
            + _settings(
                "train.epochs=3",
                "train.checkpoint_every_steps=3",
                "train.early_stopping_monitor=loss",
                "model.rnn=gru",
                "model.bidirectional=false",
                "model.pooling=mean",
            ),
            "data/test.csv",
        ),
        "sms_spam": (
            [
                "--config",
                "configs/binary.yaml",
                *_settings(f"data.train={sms}train.csv", f"data.test={sms}test.csv"),
                *SMALL,
            ],
            f"{sms}test.csv",
        ),
        "reuters": (
            ["--config", "configs/multilabel.yaml", *SMALL]
            + _settings(f"data.train={reuters}train.csv", f"data.test={reuters}test.csv", "train.class_weight=auto"),
            f"{reuters}test.csv",
        ),
    }


def _sample(src: Path, dst: Path, n: int, seed: int, keep=lambda row: True) -> list[list[str]]:
    with open(src, encoding="utf-8", newline="") as f:
        head, *body = list(csv.reader(f))
    random.Random(seed).shuffle(body)
    rows = [r for r in body if keep(r)][:n]
    with open(dst, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([head, *rows])
    return rows


def _make_samples(datasets: Path, data: Path) -> None:
    """Fixed samples of sms_spam and reuters21578 (reuters test rows only with labels seen in training)."""
    data.mkdir(parents=True, exist_ok=True)
    _sample(datasets / "sms_spam/train.csv", data / "sms_train.csv", 1500, 1)
    _sample(datasets / "sms_spam/test.csv", data / "sms_test.csv", 400, 2)
    train = _sample(datasets / "reuters21578/train.csv", data / "reuters_train.csv", 1500, 3)
    known = {label for row in train for label in row[1].split("|")}
    seen = lambda row: all(label in known for label in row[1].split("|"))  # noqa: E731
    _sample(datasets / "reuters21578/test.csv", data / "reuters_test.csv", 400, 4, seen)


def _cli(code: Path, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(code), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-m", "textclf.cli", *args], cwd=code, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(
            f"textclf {' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fingerprint_run(run: Path, train_log: str) -> dict:
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    metrics.pop("timing", None)
    with open(run / "history.csv", encoding="utf-8", newline="") as f:
        history = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]
    thresholds = run / "thresholds.json"
    timing_free = [
        line
        for line in train_log.splitlines()
        if not line.startswith(("epoch ", "best epoch", "/", "vocabulary")) and "s)" not in line
    ]
    return {
        "metrics": metrics,
        "history": history,
        "weights": _sha(run / "weights.npz"),
        "vocab": _sha(run / "vocab.json"),
        "thresholds": json.loads(thresholds.read_text(encoding="utf-8")) if thresholds.exists() else None,
        "train_log": timing_free,
    }


def _fingerprint_use(code: Path, run: Path, test: str, out: Path) -> dict:
    pred, evaluation, errors = out / "predictions.csv", out / "eval.json", out / "errors.csv"
    _cli(code, "predict", "--model", str(run), "--input", test, "--output", str(pred), "--top-k", "2")
    _cli(
        code,
        "eval",
        "--model",
        str(run),
        "--data",
        test,
        "--output",
        str(evaluation),
        "--errors",
        str(errors),
        "--no-plots",
    )
    scores = json.loads(evaluation.read_text(encoding="utf-8"))
    for key in ("seconds", "model", "data", "errors_file"):
        scores.pop(key, None)
    explained = _cli(code, "explain", "--model", str(run), "--input", test, "--limit", "3", "--no-color")
    return {"predict": _sha(pred), "eval": scores, "errors": _sha(errors), "explain": explained}


def capture(code: Path, out: Path, datasets: Path, only: list[str] | None) -> Path:
    """Train every job with the tree at ``code`` into ``out`` and write ``out/fingerprint.json``."""
    if out.exists():
        raise SystemExit(f"--out {out} exists; give a new folder")
    _make_samples(datasets, out / "data")
    record = {}
    for name, (args, test) in _jobs(out / "data").items():
        if only and name not in only:
            continue
        job = out / name
        job.mkdir(parents=True)
        log = _cli(code, "train", *args, "--run-dir", str(job / "run"))
        record[name] = _fingerprint_run(job / "run", log) | _fingerprint_use(code, job / "run", test, job)
        test = record[name]["metrics"].get("test", {})
        print(f"{name}: test accuracy {test.get('accuracy')}, micro-F1 {test.get('micro_f1')}", flush=True)
    path = out / "fingerprint.json"
    path.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    return path


def differences(a, b, path: str = "") -> list[str]:
    """Every place where two fingerprints differ, as ``path: a != b``."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = [f"{path}.{k}: only in one" for k in sorted(set(a) ^ set(b))]
        return found + [d for k in sorted(set(a) & set(b)) for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {repr(a)[:200]} != {repr(b)[:200]}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture", help="train the jobs with one tree and write OUT/fingerprint.json")
    cap.add_argument("--code", type=Path, default=REPO, help="the textclf checkout to run (default: this one)")
    cap.add_argument("--out", type=Path, required=True, help="a new folder for the runs and the fingerprint")
    cap.add_argument("--datasets-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    cap.add_argument("--jobs", default="", help="a comma-separated subset of the jobs")
    cmp = sub.add_parser("compare", help="compare two fingerprint.json files; exit 1 on any difference")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "capture":
        only = [j for j in args.jobs.split(",") if j]
        print("wrote", capture(args.code.resolve(), args.out.resolve(), args.datasets_dir.resolve(), only))
        return
    before, after = (json.loads(p.read_text(encoding="utf-8")) for p in (args.before, args.after))
    found = differences(before, after)
    print("\n".join(found[:50]))
    print(f"jobs: {', '.join(sorted(set(before) | set(after)))}; differences: {len(found)}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
