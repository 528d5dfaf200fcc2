"""Side-by-side benchmark of textclf against the seed's Keras model, fastText and TF-IDF + logistic regression.

Run from the repository root, in the project's environment with the bench extra installed:

    pip install -e '.[bench]'                 # fastText; scikit-learn and TensorFlow are core dependencies
    python bench/run.py                       # everything: all datasets, all systems, 100k and 1M-row predict
    python bench/run.py --quick               # a few minutes: sms_spam and trec on 2,000-row samples,
                                              # the seed for 2 epochs, predict at 20k rows only
    python bench/run.py --datasets trec,mr --systems textclf,seed --skip-predict

Options: --datasets a,b (default: sms_spam,trec,mr,ag_news,20news,reuters21578), --datasets-dir DIR (default:
../shared/datasets beside the repository), --systems textclf,seed,fasttext,tfidf, --train-rows N (sample the
training files), --seed-epochs N, --predict-rows 100000,1000000, --skip-predict, --out bench/RESULTS.md (the
raw results go beside it as results.json), --keep-temp.

What it does, one step after another (never two at once, so that timings do not disturb each other):
1. Each system trains and tests on each dataset, every one in its own process:
   - textclf: ``textclf train --config configs/default.yaml`` with only ``data.*`` set (and ``train.verbose``),
     then ``textclf predict`` on test.csv; the training phase comes from the run's metrics.json
     (``timing.train_phase_seconds``);
   - seed: bench/seed_keras.py, the seed's plain Keras model;
   - fasttext and tfidf: bench/peers.py.
   Per run: test accuracy and macro-F1 (multi-label: micro-F1), training-phase and whole-process seconds,
   prediction rows/s, and the process's peak RSS (from ``os.wait4``), with ratios against the seed.
2. The prediction benchmark: sms_spam test rows repeated into CSVs of N rows (in a temp dir), scored by
   ``textclf predict`` and by the seed's way (bench/seed_predict.py), using the sms_spam models of step 1.
3. ``textclf --help`` start-up time: the median of 5 runs after one warm-up.
Then it writes bench/RESULTS.md and bench/results.json and prints the Markdown.

Measure on a quiet machine: other jobs running at the same time slow every system down unevenly.
A missing dataset is skipped with a note; a failing system is reported as failed and the run goes on.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from common import label_column_of, read_csv
from measure import machine, run_child, textclf_command, versions
from report import SYSTEM_ORDER, add_ratios, render
from systems import BENCH, REPO, Dataset, predict_seed, predict_textclf, run_peer, run_seed, run_textclf

ALL_DATASETS = ["sms_spam", "trec", "mr", "ag_news", "20news", "reuters21578"]
QUICK_DATASETS = ["sms_spam", "trec"]
QUICK_TRAIN_ROWS = 2000
QUICK_SEED_EPOCHS = 2
QUICK_PREDICT_ROWS = [20_000]
PREDICT_ROWS = [100_000, 1_000_000]
PREDICT_DATASET = "sms_spam"
STARTUP_RUNS = 5
SAMPLE_SEED = 13


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _row_counts(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in _comma_list(text)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--datasets",
        type=_comma_list,
        default=None,
        help=f"comma-separated (default: {','.join(ALL_DATASETS)}; --quick: {','.join(QUICK_DATASETS)})",
    )
    parser.add_argument("--datasets-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--quick", action="store_true", help="a few minutes, for development; not for the targets")
    parser.add_argument(
        "--systems",
        type=_comma_list,
        default=list(SYSTEM_ORDER),
        help="comma-separated subset of textclf,seed,fasttext,tfidf",
    )
    parser.add_argument(
        "--train-rows",
        type=int,
        default=None,
        help=f"train on a seeded sample of this many rows (--quick: {QUICK_TRAIN_ROWS})",
    )
    parser.add_argument(
        "--seed-epochs", type=int, default=None, help=f"seed model epochs (default 10; --quick: {QUICK_SEED_EPOCHS})"
    )
    parser.add_argument(
        "--predict-rows",
        type=_row_counts,
        default=None,
        help="rows of the prediction benchmark's CSVs (default: 100000,1000000; --quick: 20000)",
    )
    parser.add_argument("--skip-predict", action="store_true", help="leave out the prediction benchmark")
    parser.add_argument(
        "--out", type=Path, default=BENCH / "RESULTS.md", help="the Markdown report; results.json goes beside it"
    )
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp dir (runs, models, logs) and say where")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.systems) - set(SYSTEM_ORDER))
    if unknown:
        parser.error(f"unknown system(s) {', '.join(unknown)}; choose from {','.join(SYSTEM_ORDER)}")
    if args.datasets is None:
        args.datasets = QUICK_DATASETS if args.quick else ALL_DATASETS
    if args.train_rows is None and args.quick:
        args.train_rows = QUICK_TRAIN_ROWS
    if args.seed_epochs is None:
        args.seed_epochs = QUICK_SEED_EPOCHS if args.quick else 10
    if args.predict_rows is None:
        args.predict_rows = QUICK_PREDICT_ROWS if args.quick else PREDICT_ROWS
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    """One benchmark run: its options, its temp dir, and the results and notes it gathers."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.args, self.work = args, work
        self.notes: list[str] = []
        self.runs: list[dict] = []
        self.datasets: list[Dataset] = []
        self.textclf_runs: dict[str, Path] = {}  # dataset -> run directory
        self.seed_models: dict[str, Path] = {}  # dataset -> saved seed model directory

    # ----- datasets
    def prepare(self, name: str) -> Dataset | None:
        """The dataset's files, the training file sampled into the temp dir when --train-rows asks for it."""
        folder = self.args.datasets_dir / name
        train, test = folder / "train.csv", folder / "test.csv"
        if not (train.is_file() and test.is_file()):
            self.notes.append(f"{name}: skipped, {folder} has no train.csv and test.csv.")
            log(f"{name}: missing, skipped")
            return None
        label_column = label_column_of(train)
        frame = read_csv(train)
        full_rows, test_rows = len(frame), len(read_csv(test))
        rows = self.args.train_rows
        if rows is not None and rows < full_rows:
            sample_dir = self.work / "data" / name
            sample_dir.mkdir(parents=True, exist_ok=True)
            train = sample_dir / "train.csv"
            frame.sample(n=rows, random_state=SAMPLE_SEED).sort_index().to_csv(train, index=False)
        else:
            rows = full_rows
        return Dataset(name, train, test, label_column, rows, test_rows, full_rows)

    # ----- step 1
    def train_all(self) -> None:
        systems = [s for s in SYSTEM_ORDER if s in self.args.systems]
        if "fasttext" in systems and importlib.util.find_spec("fasttext") is None:
            systems.remove("fasttext")
            self.notes.append("fasttext: skipped, not installed (pip install -e '.[bench]').")
        for name in self.args.datasets:
            ds = self.prepare(name)
            if ds is None:
                continue
            self.datasets.append(ds)
            for system in systems:
                log(f"{ds.name}: {system} ({ds.train_rows:,} training rows) ...")
                record = self.train_one(system, ds)
                self.runs.append(record)
                log(f"{ds.name}: {system}: {_summary(record)}")

    def train_one(self, system: str, ds: Dataset) -> dict:
        if system == "textclf":
            record, run_dir = run_textclf(ds, self.work)
            if run_dir is not None:
                self.textclf_runs[ds.name] = run_dir
            return record
        if system == "seed":
            save_dir = None
            if ds.name == PREDICT_DATASET and not self.args.skip_predict:
                save_dir = self.work / "seed-models" / ds.name
            record = run_seed(ds, self.work, self.args.seed_epochs, save_dir)
            if record["ok"] and save_dir is not None:
                self.seed_models[ds.name] = save_dir
            return record
        return run_peer(system, ds, self.work)

    # ----- step 2
    def predict_benchmark(self) -> dict | None:
        if self.args.skip_predict:
            return None
        ds = next((d for d in self.datasets if d.name == PREDICT_DATASET), None) or self.prepare(PREDICT_DATASET)
        if ds is None:
            self.notes.append(f"prediction benchmark: skipped, it needs the {PREDICT_DATASET} dataset.")
            return None
        training = []
        if PREDICT_DATASET not in self.textclf_runs:
            log(f"prediction benchmark: training textclf on {PREDICT_DATASET} first ...")
            record, run_dir = run_textclf(ds, self.work)
            training.append(record)
            if run_dir is not None:
                self.textclf_runs[PREDICT_DATASET] = run_dir
        if PREDICT_DATASET not in self.seed_models:
            log(f"prediction benchmark: training the seed model on {PREDICT_DATASET} first ...")
            save_dir = self.work / "seed-models" / PREDICT_DATASET
            record = run_seed(ds, self.work, self.args.seed_epochs, save_dir)
            training.append(record)
            if record["ok"]:
                self.seed_models[PREDICT_DATASET] = save_dir
        if training:
            self.notes.append(
                f"prediction benchmark: trained its own {PREDICT_DATASET} models "
                f"({', '.join(r['system'] for r in training)}), which step 1 did not provide."
            )
        runs = []
        for rows in self.args.predict_rows:
            big = self.work / f"predict-{rows}.csv"
            _repeat_rows(ds.test, big, rows)
            for system, model in (
                ("textclf", self.textclf_runs.get(PREDICT_DATASET)),
                ("seed", self.seed_models.get(PREDICT_DATASET)),
            ):
                if model is None:
                    self.notes.append(f"prediction benchmark: {system} at {rows:,} rows skipped, no trained model.")
                    continue
                log(f"prediction benchmark: {system}, {rows:,} rows ...")
                run = (predict_textclf if system == "textclf" else predict_seed)(model, big, self.work, rows)
                runs.append(run)
                outcome = (
                    f"{run['rows_per_s']:,.0f} rows/s, peak RSS {run['peak_rss_mb']:,.0f} MB" if run["ok"] else "failed"
                )
                log(f"prediction benchmark: {system}, {rows:,} rows: {outcome}")
            for path in (big, self.work / "textclf-out.csv", self.work / "seed-out.csv"):
                path.unlink(missing_ok=True)
        return {"dataset": PREDICT_DATASET, "source_rows": ds.test_rows, "runs": runs, "training": training}

    # ----- step 3
    def startup(self) -> dict:
        log(f"start-up: textclf --help x{STARTUP_RUNS + 1} ...")
        command = [textclf_command(), "--help"]
        run_child(command, self.work / "logs", "startup-warmup", cwd=REPO)
        children = [run_child(command, self.work / "logs", f"startup-{i}", cwd=REPO) for i in range(STARTUP_RUNS)]
        if not all(c.ok for c in children):
            return {"ok": False, "error": next(c for c in children if not c.ok).failure()}
        seconds = [round(c.wall_seconds, 4) for c in children]
        return {
            "ok": True,
            "seconds": seconds,
            "median_seconds": statistics.median(seconds),
            "peak_rss_mb": round(max(c.peak_rss_mb for c in children), 1),
        }


def _repeat_rows(source: Path, target: Path, rows: int) -> None:
    """Write ``rows`` data rows to ``target`` by cycling through the rows of the CSV ``source``."""
    with open(source, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header, body = next(reader), list(reader)
    with open(target, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        full, rest = divmod(rows, len(body))
        for _ in range(full):
            writer.writerows(body)
        writer.writerows(body[:rest])


def _summary(record: dict) -> str:
    if not record["ok"]:
        return "FAILED: " + record.get("error", "")
    phase = record.get("phase_seconds")
    return (
        f"{record['metric']} {record['score']:.4f}, phase {phase if phase is not None else '?'} s, "
        f"process {record['process_seconds']:.1f} s, peak RSS {record['peak_rss_mb']:,.0f} MB"
    )


def _quick_notes(args: argparse.Namespace) -> list[str]:
    if not args.quick:
        return []
    return [
        f"--quick: training files sampled to {args.train_rows:,} rows, the seed model trained for "
        f"{args.seed_epochs} epochs, prediction at {', '.join(f'{n:,}' for n in args.predict_rows)} rows; "
        "textclf runs its default config unchanged. A development check, not a measurement of the targets."
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    work = Path(tempfile.mkdtemp(prefix="textclf-bench-"))
    log(f"temp dir {work}")
    bench = Bench(args, work)
    given = sys.argv[1:] if argv is None else argv
    results = {
        "started": started,
        "quick": args.quick,
        "command": " ".join(shlex.quote(a) for a in ["python", "bench/run.py", *given]),
        "machine": machine(),
        "versions": versions(REPO),
    }
    try:
        bench.train_all()
        add_ratios(bench.runs)
        predict = bench.predict_benchmark()
        startup = bench.startup()
    finally:
        if args.keep_temp:
            log(f"kept the temp dir {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results.update(
        {
            "total_seconds": round(time.perf_counter() - t0, 1),
            "datasets": [
                {
                    "name": d.name,
                    "multilabel": d.multilabel,
                    "label_column": d.label_column,
                    "train_rows": d.train_rows,
                    "full_train_rows": d.full_train_rows,
                    "test_rows": d.test_rows,
                }
                for d in bench.datasets
            ],
            "runs": bench.runs,
            "predict": predict,
            "startup": startup,
            "notes": _quick_notes(args) + bench.notes + _standing_notes(args),
        }
    )
    markdown = render(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown, encoding="utf-8")
    json_path = args.out.with_name("results.json")
    json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(markdown)
    log(f"wrote {args.out} and {json_path} in {results['total_seconds'] / 60:.1f} min")
    failed = [r for r in bench.runs if not r["ok"]]
    return 1 if failed else 0


def _standing_notes(args: argparse.Namespace) -> list[str]:
    notes = []
    if "seed" in args.systems and any(d == "reuters21578" for d in args.datasets):
        notes.append(
            "seed on reuters21578: the seed had no multi-label mode; it runs with the obvious adaptation "
            "(Dense(n_labels, sigmoid), binary cross-entropy, decided at 0.5)."
        )
    notes.append(
        "Peers: fastText with wordNgrams=2, epoch=25, lr=0.5 (the settings that reproduce the anchors in shared/DESIGN.md; library defaults otherwise, so thread = cores - 1); "
        "TF-IDF with sublinear_tf and C=10, the settings that reproduce the anchors in shared/DESIGN.md."
    )
    return notes


if __name__ == "__main__":
    sys.exit(main())
