"""The seed's plain Keras model, written faithfully, as the baseline textclf is measured against.

    python bench/seed_keras.py --train train.csv --test test.csv [--label-column label] [--epochs 10]
                               [--save-dir DIR]

The model: the legacy ``tf.keras.preprocessing.text.Tokenizer(num_words=10000)``, ``pad_sequences(maxlen=100)``,
Embedding(10000, 64), LSTM(64), Dense (sigmoid for 2 classes, softmax otherwise), adam, batch 32, 10 epochs,
``model.fit`` on the whole training file (no validation split, no early stopping).

Multi-label data (``labels`` column) is not something the seed handled; here it gets the obvious adaptation,
Dense(n_labels, sigmoid) with binary cross-entropy, decided at 0.5.

Timing: ``phase_seconds`` is the tokenize-and-fit phase (Tokenizer fit, texts_to_sequences, pad_sequences,
model build, ``fit``), the figure textclf's training phase is compared with. Reading the CSVs is reported
apart as ``read_seconds``. ``predict_rows_per_s`` is texts_to_sequences + pad_sequences + ``model.predict``
(default batch 32) over the test texts.

With ``--save-dir`` the model (``model.keras``), the tokenizer (``tokenizer.json``, ``tokenizer.to_json()``)
and the label list (``labels.json``) are saved for seed_predict.py.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from common import emit, label_column_of, read_split, score, split_labels, task_of

NUM_WORDS = 10000
MAXLEN = 100
EMBEDDING_DIM = 64
UNITS = 64
BATCH_SIZE = 32


def build_model(n_outputs: int, task: str):
    import tensorflow as tf

    activation = "softmax" if task == "multiclass" else "sigmoid"
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Embedding(NUM_WORDS, EMBEDDING_DIM),
            tf.keras.layers.LSTM(UNITS),
            tf.keras.layers.Dense(n_outputs, activation=activation),
        ]
    )
    loss = {
        "binary": "binary_crossentropy",
        "multiclass": "sparse_categorical_crossentropy",
        "multilabel": "binary_crossentropy",
    }[task]
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def encode_targets(task: str, classes: list[str], labels: list[str]) -> np.ndarray:
    if task == "multilabel":
        from sklearn.preprocessing import MultiLabelBinarizer

        return MultiLabelBinarizer(classes=classes).fit_transform([split_labels(c) for c in labels]).astype("float32")
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index[c] for c in labels], dtype="int32")


def decode(task: str, classes: list[str], probs: np.ndarray) -> list:
    """Predicted labels: a label per row, or for multi-label a list of the labels at or above 0.5."""
    if task == "binary":
        return [classes[int(p >= 0.5)] for p in probs[:, 0]]
    if task == "multiclass":
        return [classes[i] for i in probs.argmax(axis=1)]
    return [[classes[j] for j in np.flatnonzero(row >= 0.5)] for row in probs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--label-column", default=None, help="default: labels if the file has it, else label")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--save-dir", default=None, help="save model.keras, tokenizer.json and labels.json here")
    args = parser.parse_args()

    t_read = time.perf_counter()
    label_column = args.label_column or label_column_of(args.train)
    train, test = read_split(args.train, label_column), read_split(args.test, label_column)
    read_seconds = time.perf_counter() - t_read

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(args.seed)
    task = task_of(label_column, train.labels)
    if task == "multilabel":
        classes = sorted({c for cell in train.labels for c in split_labels(cell)})
    else:
        classes = sorted(set(train.labels))

    # The tokenize-and-fit phase
    t_phase = time.perf_counter()
    tokenizer = tf.keras.preprocessing.text.Tokenizer(num_words=NUM_WORDS)
    tokenizer.fit_on_texts(train.texts)
    x_train = tf.keras.preprocessing.sequence.pad_sequences(tokenizer.texts_to_sequences(train.texts), maxlen=MAXLEN)
    y_train = encode_targets(task, classes, train.labels)
    model = build_model(1 if task == "binary" else len(classes), task)
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=args.epochs, verbose=0)
    phase_seconds = time.perf_counter() - t_phase

    t_predict = time.perf_counter()
    x_test = tf.keras.preprocessing.sequence.pad_sequences(tokenizer.texts_to_sequences(test.texts), maxlen=MAXLEN)
    probs = model.predict(x_test, verbose=0)
    predict_seconds = time.perf_counter() - t_predict

    result = {
        "system": "seed",
        "task": task,
        "classes": len(classes),
        "train_rows": len(train.texts),
        "test_rows": len(test.texts),
        "epochs": args.epochs,
        "read_seconds": round(read_seconds, 3),
        "phase_seconds": round(phase_seconds, 3),
        "predict_seconds": round(predict_seconds, 3),
        "predict_rows_per_s": len(test.texts) / predict_seconds,
        **score(task, train.labels, test.labels, decode(task, classes, probs)),
    }

    if args.save_dir:
        out = Path(args.save_dir)
        out.mkdir(parents=True, exist_ok=True)
        model.save(out / "model.keras")
        (out / "tokenizer.json").write_text(tokenizer.to_json(), encoding="utf-8")
        (out / "labels.json").write_text(json.dumps({"task": task, "classes": classes}), encoding="utf-8")
    emit(result)


if __name__ == "__main__":
    main()
