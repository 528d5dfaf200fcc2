"""Scaling figures: streaming memory at 200k vs 2M training rows, and 1 vs 2 local workers.

    python bench/scale.py [--dataset sms_spam] [--rows 200000,2000000] [--workers-dataset trec] [--skip-workers]

* Streaming: a training CSV of N rows is built by repeating the dataset's training rows; ``textclf train``
  runs on it with ``data.stream: true`` for one epoch (the default model otherwise), each run in its own
  process, and its peak resident set size is read from ``wait4``. The issue's target: the peak RSS at 2M rows
  is within 20% of the peak at 200k rows. For contrast, the 200k-row file is also trained in memory.
* Workers: the same config trained by one process, then by two worker processes on 127.0.0.1 through
  ``TF_CONFIG`` (MultiWorkerMirroredStrategy). On one 2-core machine two workers share the same cores, so this
  shows that the path works and what the coordination costs, not a speed-up.

Writes bench/SCALE.md and bench/scale.json, and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from measure import machine, run_child, versions  # noqa: E402
from run import _repeat_rows  # noqa: E402

DATASETS = REPO.parent / "shared" / "datasets"


def _config(path: Path, train: Path | str, test: Path, **sets) -> Path:
    lines = ["data:", f"  train: {train}", f"  test: {test}"]
    lines += [f"  {k}: {v}" for k, v in sets.items()]
    lines += ["train:", "  verbose: false", "  tensorboard: false", "  plots: false"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _train(config: Path, run: Path, logs: Path, name: str, *extra: str) -> dict:
    child = run_child(
        [sys.executable, "-m", "textclf.cli", "train", "--config", str(config), "--run-dir", str(run), *extra],
        logs,
        name,
        cwd=REPO,
    )
    record = {
        "name": name,
        "ok": child.ok,
        "wall_seconds": round(child.wall_seconds, 1),
        "peak_rss_mb": round(child.peak_rss_mb),
    }
    if not child.ok:
        record["error"] = child.failure()
        return record
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    record.update(
        train_phase_seconds=metrics["timing"]["train_phase_seconds"],
        test_accuracy=round(metrics["test"]["accuracy"], 4),
        distribution=metrics.get("distribution"),
    )
    return record


def streaming(dataset: str, rows: list[int], work: Path, epochs: int) -> list[dict]:
    src = DATASETS / dataset
    out = []
    for n in rows:
        big = work / f"{dataset}-{n}.csv"
        if not big.exists():
            _repeat_rows(src / "train.csv", big, n)
        conf = _config(work / f"stream-{n}.yaml", big, src / "test.csv", stream="true")
        rec = _train(
            conf,
            work / f"run-stream-{n}",
            work / "logs",
            f"stream-{n}",
            "--set",
            f"train.epochs={epochs}",
            "--set",
            "train.early_stopping_patience=0",
        )
        rec.update(rows=n, mode="streaming", file_mb=round(big.stat().st_size / 2**20))
        print(json.dumps(rec), flush=True)
        out.append(rec)
    n = rows[0]
    conf = _config(work / f"memory-{n}.yaml", work / f"{dataset}-{n}.csv", src / "test.csv", stream="false")
    rec = _train(
        conf,
        work / f"run-memory-{n}",
        work / "logs",
        f"memory-{n}",
        "--set",
        f"train.epochs={epochs}",
        "--set",
        "train.early_stopping_patience=0",
    )
    rec.update(rows=n, mode="in memory", file_mb=round((work / f"{dataset}-{n}.csv").stat().st_size / 2**20))
    print(json.dumps(rec), flush=True)
    out.append(rec)
    return out


def _ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def workers(dataset: str, work: Path) -> list[dict]:
    src = DATASETS / dataset
    conf = _config(work / f"workers-{dataset}.yaml", src / "train.csv", src / "test.csv")
    one = _train(conf, work / "run-1-worker", work / "logs", "1-worker")
    one.update(workers=1)
    print(json.dumps(one), flush=True)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _ports(2)]}
    procs, t0 = [], time.perf_counter()
    for i in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        log = open(work / "logs" / f"2-workers-{i}.log", "w", encoding="utf-8")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "textclf.cli",
                    "train",
                    "--config",
                    str(conf),
                    "--run-dir",
                    str(work / "run-2-workers"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        )
    codes = [p.wait() for p in procs]
    two = {"name": "2-workers", "workers": 2, "ok": codes == [0, 0], "wall_seconds": round(time.perf_counter() - t0, 1)}
    if two["ok"]:
        metrics = json.loads((work / "run-2-workers" / "metrics.json").read_text(encoding="utf-8"))
        two.update(
            train_phase_seconds=metrics["timing"]["train_phase_seconds"],
            test_accuracy=round(metrics["test"]["accuracy"], 4),
            distribution=metrics["distribution"],
        )
    print(json.dumps(two), flush=True)
    return [one, two]


def report(result: dict) -> str:
    lines = [
        "# Scaling figures (bench/scale.py)",
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine'].get('usable_cores')} usable cores. "
        f"Measured {result['date']}.",
        "",
        "## Streaming training: peak memory against data size",
        "",
        f"Dataset rows repeated: {result['dataset']}; {result['epochs']} epoch(s), default model, "
        "`data.stream: true` unless noted.",
        "",
        "| rows | file MB | mode | peak RSS MB | train phase s | wall s | test accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["streaming"]:
        lines.append(
            f"| {r['rows']:,} | {r['file_mb']} | {r['mode']} | {r['peak_rss_mb']:,} | "
            f"{r.get('train_phase_seconds', '-')} | {r['wall_seconds']} | {r.get('test_accuracy', '-')} |"
        )
    stream = [r for r in result["streaming"] if r["mode"] == "streaming" and r["ok"]]
    if len(stream) >= 2:
        ratio = stream[-1]["peak_rss_mb"] / stream[0]["peak_rss_mb"]
        lines += [
            "",
            f"Peak RSS at {stream[-1]['rows']:,} rows / at {stream[0]['rows']:,} rows = **{ratio:.2f}x** "
            f"(target: within 1.20x).",
        ]
    if result.get("workers"):
        lines += [
            "",
            f"## One worker against two local workers ({result['workers_dataset']})",
            "",
            "| workers | train phase s (chief) | wall s | test accuracy |",
            "|---|---|---|---|",
        ]
        for r in result["workers"]:
            lines.append(
                f"| {r['workers']} | {r.get('train_phase_seconds', '-')} | {r['wall_seconds']} | "
                f"{r.get('test_accuracy', '-')} |"
            )
        lines += [
            "",
            "Both workers run on the same 2 cores here, so two workers cannot be faster; the run shows the "
            "multi-worker path end to end and its accuracy against one worker.",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="sms_spam")
    p.add_argument("--rows", default="200000,2000000")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--workers-dataset", default="trec")
    p.add_argument("--skip-workers", action="store_true")
    p.add_argument("--work", type=Path, default=Path("/tmp/textclf-scale"))
    args = p.parse_args()
    if not (DATASETS / args.dataset).is_dir():
        print(f"{DATASETS / args.dataset} is not here; nothing to measure", file=sys.stderr)
        return 1
    args.work.mkdir(parents=True, exist_ok=True)
    for old in args.work.glob("run-*"):
        import shutil

        shutil.rmtree(old)
    result = {
        "machine": machine(),
        "versions": versions(REPO),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "dataset": args.dataset,
        "epochs": args.epochs,
        "streaming": streaming(args.dataset, [int(x) for x in args.rows.split(",")], args.work, args.epochs),
    }
    if not args.skip_workers:
        result["workers_dataset"] = args.workers_dataset
        result["workers"] = workers(args.workers_dataset, args.work)
    (HERE / "scale.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    text = report(result)
    (HERE / "SCALE.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
