"""The seed's way of predicting a file, as the baseline for ``textclf predict``.

    python bench/seed_predict.py --model-dir DIR --input big.csv --output out.csv

DIR is what ``seed_keras.py --save-dir DIR`` wrote. Everything happens at once, as the seed did it: read the
whole CSV with pandas, ``texts_to_sequences``, ``pad_sequences(maxlen=100)``, ``model.predict`` (default
batch 32), then add the prediction and probability columns and write the whole frame with pandas.

``rows_per_s`` covers reading the CSV through writing the output (model loading is reported apart as
``load_seconds``), the same span as the rows/s ``textclf predict`` reports.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from common import emit, read_csv
from seed_keras import MAXLEN, decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--text-column", default="text")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    model_dir = Path(args.model_dir)
    t_load = time.perf_counter()
    model = tf.keras.models.load_model(model_dir / "model.keras")
    tokenizer = tf.keras.preprocessing.text.tokenizer_from_json((model_dir / "tokenizer.json").read_text("utf-8"))
    labels = json.loads((model_dir / "labels.json").read_text("utf-8"))
    load_seconds = time.perf_counter() - t_load

    t0 = time.perf_counter()
    frame = read_csv(args.input)
    sequences = tokenizer.texts_to_sequences(frame[args.text_column].tolist())
    x = tf.keras.preprocessing.sequence.pad_sequences(sequences, maxlen=MAXLEN)
    probs = model.predict(x, verbose=0)
    task, classes = labels["task"], labels["classes"]
    predicted = decode(task, classes, probs)
    frame["prediction"] = ["|".join(p) for p in predicted] if task == "multilabel" else predicted
    if task == "binary":
        frame[f"p_{classes[1]}"] = probs[:, 0]
    else:
        for j, c in enumerate(classes):
            frame[f"p_{c}"] = probs[:, j]
    frame.to_csv(args.output, index=False)
    seconds = time.perf_counter() - t0
    emit(
        {
            "system": "seed",
            "rows": len(frame),
            "load_seconds": round(load_seconds, 3),
            "seconds": round(seconds, 3),
            "rows_per_s": len(frame) / seconds,
        }
    )


if __name__ == "__main__":
    main()
