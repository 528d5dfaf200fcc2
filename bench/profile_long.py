"""Where textclf's training time goes on long documents, stage by stage.

    python bench/profile_long.py --dataset 20news            # ../shared/datasets/20news
    python bench/profile_long.py --dataset 20news --variants  # also 2-epoch runs without each branch

Stages timed in this process with the library's own pieces (the defaults of configs/default.yaml): reading the
training file, adapting the word vocabulary, adapting the n-gram vocabulary, counting the n-grams' IDF (which
also computes the training n-gram ids), and encoding the training texts (word ids and TF-IDF bags). With
``--variants``, ``textclf train`` runs for 2 epochs three times in child processes: the defaults, without the
n-gram branch (``model.ngrams=0``: the RNN's cost), and with a minimal RNN (1 unit, one direction, 8 tokens:
the n-gram branch's cost); each epoch's seconds come from its log line. The per-epoch validation cost is the
model's rate on the validation rows, taken from the defaults' run. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def stage_times(train_csv: Path) -> list[tuple[str, float, str]]:
    """(stage, seconds, note) for the stages before the first epoch, in this process."""
    import tensorflow as tf

    from textclf.config import Config
    from textclf.io.labeled import read_labeled
    from textclf.model.vocabulary import Encoder, Vocabulary, make_layer

    m = Config().model
    out = []
    t0 = time.perf_counter()
    data = read_labeled(train_csv, "text", "label")
    out.append(("read the training file", time.perf_counter() - t0, f"{len(data.texts):,} rows"))
    texts = data.texts
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(texts)).batch(4096)
    t0 = time.perf_counter()
    words = make_layer(m.standardize, m.max_tokens)
    words.adapt(ds)
    out.append(("adapt the word vocabulary", time.perf_counter() - t0, f"{m.max_tokens:,} tokens kept"))
    t0 = time.perf_counter()
    ngram_mode = m.ngram_standardize or m.standardize
    layer = make_layer(ngram_mode, m.ngram_max_tokens, m.ngrams)
    layer.adapt(ds)
    out.append(("adapt the n-gram vocabulary", time.perf_counter() - t0, f"1..{m.ngrams}-grams of whole texts"))
    t0 = time.perf_counter()
    vocab = Vocabulary.fit(
        texts,
        max_tokens=m.max_tokens,
        sequence_length=m.sequence_length,
        standardize=m.standardize,
        ngrams=m.ngrams,
        ngram_max_tokens=m.ngram_max_tokens,
        ngram_length=m.ngram_length,
        ngram_standardize=m.ngram_standardize,
    )
    fit = time.perf_counter() - t0
    out.append(("Vocabulary.fit (both adapts + IDF)", fit, "what training runs"))
    t0 = time.perf_counter()
    Encoder(vocab).encode(texts)
    out.append(("encode the training texts", time.perf_counter() - t0, "word ids and TF-IDF bags"))
    return out


EPOCH = re.compile(r"^epoch (\d+)/\d+: .*\(([\d.]+)s\)$", re.M)
VOCAB = re.compile(r"^vocabulary: .*\(([\d.]+)s\)$", re.M)


def variant(config: Path, name: str, extra: list[str], workdir: Path) -> dict:
    """Train 2 epochs with ``extra`` settings; the vocabulary seconds, each epoch's seconds, the metrics."""
    run = workdir / name
    argv = [sys.executable, "-m", "textclf.cli", "train", "--config", str(config), "--run-dir", str(run)]
    argv += ["--set", "train.epochs=2", "--set", "train.tensorboard=false", "--set", "train.plots=false"]
    for item in extra:
        argv += ["--set", item]
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{name}: textclf train failed:\n{done.stderr[-2000:]}")
    import json

    metrics = json.loads((run / "metrics.json").read_text())
    epochs = [float(s) for _, s in EPOCH.findall(done.stdout)]
    vocab = VOCAB.search(done.stdout)
    return {
        "name": name,
        "epochs": epochs,
        "vocab": float(vocab.group(1)) if vocab else None,
        "process": seconds,
        "valid": metrics["valid"].get("accuracy") or metrics["valid"].get("micro_f1"),
        "train_phase": metrics["timing"]["train_phase_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="20news")
    parser.add_argument("--datasets-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--variants", action="store_true")
    args = parser.parse_args()
    folder = Path(args.datasets_dir) / args.dataset
    print(f"# Training time on {args.dataset}, stage by stage\n")
    print(f"Command: `python bench/profile_long.py --dataset {args.dataset}{' --variants' if args.variants else ''}`\n")
    print("| stage | seconds | note |\n|---|---:|---|")
    for stage, seconds, note in stage_times(folder / "train.csv"):
        print(f"| {stage} | {seconds:.1f} | {note} |")
    if not args.variants:
        return
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "c.yaml"
        config.write_text(f"data:\n  train: {folder / 'train.csv'}\n", encoding="utf-8")
        runs = [
            variant(config, "defaults", [], Path(tmp)),
            variant(config, "no n-gram branch", ["model.ngrams=0"], Path(tmp)),
            variant(
                config,
                "minimal RNN",
                ["model.units=1", "model.bidirectional=false", "model.sequence_length=8"],
                Path(tmp),
            ),
        ]
    print("\n| 2-epoch run | vocabulary s | epoch 1 s | epoch 2 s | train phase s | valid figure |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in runs:
        e = r["epochs"] + [float("nan")] * 2
        print(f"| {r['name']} | {r['vocab']} | {e[0]:.1f} | {e[1]:.1f} | {r['train_phase']:.1f} | {r['valid']:.4f} |")


if __name__ == "__main__":
    main()
