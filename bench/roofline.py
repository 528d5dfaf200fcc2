"""The roofline line: the matmul rate this machine reaches at the model's shapes, against the rate a run's
training and prediction achieve, so that the time left is known to be compute or overhead.

    python bench/roofline.py --run runs/sms-spam --data ../shared/datasets/sms_spam/train.csv

The recurrent layers are nearly all of the model's arithmetic: per token and direction, a (batch, inputs) x
(inputs, gates x units) matmul for the inputs and a (batch, units) x (units, gates x units) one for the state,
2 flops per multiply-add; training costs about 3x the forward pass (forward, and the two matmuls of the
backward pass). The n-gram branch is a sparse gather-and-sum with next to no arithmetic. Tokens are the
run's own encoding of the texts, each cut to model.sequence_length, as training reads them.

The peak: those two matmuls at the run's batch size, timed back to back in one compiled loop (what a
recurrent step can at best do on this machine, with TensorFlow's per-op overhead included). Achieved:
training from the run's history.csv (the mean epoch, validation included, so a slight underestimate), and
prediction timed here on the same texts through the Classifier. Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def matmul_rate(batch: int, inputs: int, units: int, gates: int, steps: int = 2000) -> float:
    """Flops per second of a recurrent step's two matmuls at these shapes, in a compiled loop."""
    import tensorflow as tf

    xs = tf.random.normal((64, batch, inputs))  # 64 different time steps, as a sequence feeds them
    h = tf.random.normal((batch, units))
    w = tf.random.normal((inputs, gates * units))
    u = tf.random.normal((units, gates * units))

    @tf.function
    def run(xs, h):
        def body(i, h):  # each step depends on the last, and reads a new input: nothing can be hoisted
            z = tf.matmul(tf.gather(xs, i % 64), w) + tf.matmul(h, u)
            return i + 1, tf.tanh(z[:, :units])

        return tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), h))[1]

    run(xs, h)  # trace and warm up
    t0 = time.perf_counter()
    run(xs, h).numpy()
    seconds = time.perf_counter() - t0
    return steps * 2 * batch * (inputs + units) * gates * units / seconds


def step_flops(hp, tokens: int) -> float:
    """Forward flops of the recurrent layers over ``tokens`` tokens (all layers and directions)."""
    gates = 4 if hp.rnn == "lstm" else 3
    directions = 2 if hp.bidirectional else 1
    flops, width = 0.0, hp.embedding_dim
    for _ in range(hp.layers):
        flops += directions * 2 * (width + hp.units) * gates * hp.units
        width = hp.units * directions
    return flops * tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a run directory trained on --data")
    parser.add_argument("--data", required=True, help="the training file the run was trained on")
    args = parser.parse_args()
    import textclf
    from textclf.io.labeled import read_labeled

    clf = textclf.Classifier.load(args.run)
    hp, cfg = clf.hyperparameters, clf.config
    texts = read_labeled(args.data, clf.text_column, clf.label_column).texts
    tokens = int(clf.encode(texts).lengths.sum())  # each text cut to the sequence length, as training reads it
    rows = list(csv.DictReader(open(Path(args.run) / "history.csv", encoding="utf-8")))
    epoch = sum(float(r["seconds"]) for r in rows) / len(rows)
    split = cfg.data.valid is None  # validation was split off these texts: training read the rest
    train_rows = len(texts) - (clf.metrics["valid"]["rows"] if split else 0)
    train_flops = 3 * step_flops(hp, tokens) * train_rows / len(texts)
    t0 = time.perf_counter()
    clf.outputs(texts)
    predict_seconds = time.perf_counter() - t0
    gates = 4 if hp.rnn == "lstm" else 3
    peak = matmul_rate(cfg.train.batch_size, hp.embedding_dim, hp.units, gates)
    peak_predict = matmul_rate(512, hp.embedding_dim, hp.units, gates)
    print(f"Command: `python bench/roofline.py --run {args.run} --data {args.data}`\n")
    print("| | GFLOP/s | share of the peak | note |\n|---|---:|---:|---|")
    print(f"| peak: matmuls at batch {cfg.train.batch_size} | {peak / 1e9:.2f} | 1.00 | "
          f"({cfg.train.batch_size}x{hp.embedding_dim})@({hp.embedding_dim}x{gates * hp.units}) + "
          f"({cfg.train.batch_size}x{hp.units})@({hp.units}x{gates * hp.units}) |")  # fmt: skip
    print(f"| training, mean epoch | {train_flops / epoch / 1e9:.2f} | {train_flops / epoch / peak:.2f} | "
          f"{tokens:,} tokens of {len(texts):,} texts, {epoch:.1f} s an epoch |")  # fmt: skip
    rate = step_flops(hp, tokens) / predict_seconds
    print(f"| peak: matmuls at batch 512 | {peak_predict / 1e9:.2f} | 1.00 | prediction's batch |")
    print(f"| prediction | {rate / 1e9:.2f} | {rate / peak_predict:.2f} | "
          f"{len(texts) / predict_seconds:,.0f} texts/s, encoding included |")  # fmt: skip


if __name__ == "__main__":
    main()
