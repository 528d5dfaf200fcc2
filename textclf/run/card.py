"""``MODEL_CARD.md``: a run's model card, in the layout of Hugging Face model cards.

:func:`render_card` writes YAML front matter (``library_name``, ``pipeline_tag``, ``tags``, the task, the
labels, a ``metrics`` list and a ``model-index`` with the validation and test figures), then the sections:
model description, training data, training procedure, evaluation, intended use, limitations and how to use
it. It only reads what training produced (the plain data of the run's other files, and a summary of the
training data that training already holds), so it never changes a number. No TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..model.hyperparameters import parameter_count

SPLIT_NAMES = {"valid": "validation", "test": "test"}
# figures of a split that are not metrics (or not one number)
NOT_METRICS = ("rows", "threshold")


@dataclass(frozen=True)
class CardFacts:
    """What a model card is written from: the content of the run's files, and the training data summary.

    ``data`` keys: ``files`` ({split: path or None}), ``rows`` ({split: count}), ``split_from_train``,
    ``label_counts`` ({label: training rows}), ``checks`` (the data-check warnings training logged),
    ``skipped_rows``, ``streamed``.
    """

    run: str  # the run directory, as training was given it
    config: dict
    labels: dict
    hyperparameters: dict
    metrics: dict
    history: list[dict]
    thresholds: dict | None
    data: dict

    @property
    def task(self) -> str:
        return self.labels["task"]

    @property
    def classes(self) -> list[str]:
        return list(self.labels["classes"])

    def splits(self) -> list[str]:
        return [s for s in ("valid", "test") if isinstance(self.metrics.get(s), dict)]


def render_card(facts: CardFacts) -> str:
    """The text of ``MODEL_CARD.md``: YAML front matter (written with ``yaml.safe_dump``, so any label name is
    quoted as YAML needs), then the sections."""
    front = yaml.safe_dump(front_matter(facts), sort_keys=False, allow_unicode=True, width=1000)
    sections = [
        _description(facts),
        _training_data(facts),
        _procedure(facts),
        _evaluation(facts),
        _intended_use(facts),
        _limitations(facts),
        _how_to_use(facts),
    ]
    return f"---\n{front}---\n\n" + "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def split_metrics(split: dict) -> dict[str, float]:
    """The headline figures of one split of ``metrics.json``: its numeric top-level values but ``rows``."""
    return {
        k: v
        for k, v in split.items()
        if k not in NOT_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }


def front_matter(facts: CardFacts) -> dict[str, Any]:
    """The card's metadata: Hugging Face keys, the task and labels, and ``model-index`` with every figure."""
    results, names = [], []
    for split in facts.splits():
        figures = split_metrics(facts.metrics[split])
        names += [k for k in figures if k not in names]
        dataset = _dataset_name(facts, split)
        results.append(
            {
                "task": {"type": "text-classification", "name": "Text Classification"},
                "dataset": {"name": dataset, "type": dataset, "split": SPLIT_NAMES[split]},
                "metrics": [
                    {"type": k, "value": v, "name": f"{SPLIT_NAMES[split]} {k.replace('_', ' ')}"}
                    for k, v in figures.items()
                ],
            }
        )
    rnn = str(facts.hyperparameters.get("rnn", "lstm"))
    return {
        "library_name": "textclf",
        "pipeline_tag": "text-classification",
        "tags": ["textclf", "keras", rnn, "text-classification", facts.task],
        "task": facts.task,
        "labels": facts.classes,
        "metrics": names,
        "model-index": [{"name": Path(facts.run).name, "results": results}],
    }


def _dataset_name(facts: CardFacts, split: str) -> str:
    files = facts.data.get("files") or {}
    if split == "valid" and facts.data.get("split_from_train"):
        return f"{_file_names(files.get('train'))} (validation split)"
    return _file_names(files.get(split))


def _file_names(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(Path(v).name for v in value)
    return Path(value).name if value else "-"


def _cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, line breaks as spaces."""
    return " ".join(str(value).split()).replace("|", "\\|") or " "


def _fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _value(value: Any) -> str:
    """A config value as written in YAML: ``true``, ``0.002``, ``null``."""
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _get(tree: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


# --------------------------------------------------------------------------------------------------
# The sections


def _description(facts: CardFacts) -> list[str]:
    hp, task, classes = facts.hyperparameters, facts.task, facts.classes
    rnn = f"{'bidirectional ' if hp.get('bidirectional') else ''}{str(hp.get('rnn', '')).upper()}"
    ngrams = _get(facts.config, "model.ngrams")
    branch = (
        f", plus a linear TF-IDF bag-of-n-grams branch (n-grams up to {ngrams} words)"
        if hp.get("ngram_vocab_size")
        else ""
    )
    kind = {
        "binary": "a binary classifier",
        "multiclass": f"a multi-class classifier ({len(classes)} classes, one per text)",
        "multilabel": f"a multi-label classifier ({len(classes)} labels, any number per text)",
    }[task]
    shown = ", ".join(f"`{c}`" for c in classes[:20]) + (
        f", ... ({len(classes) - 20} more)" if len(classes) > 20 else ""
    )
    count = parameter_count(hp)
    return [
        f"# Model card: {Path(facts.run).name}",
        "",
        "## Model description",
        "",
        f"A text classifier trained with textclf: {kind}. Labels: {shown}.",
        "",
        f"Architecture: word embeddings ({hp.get('embedding_dim')} dimensions) into {hp.get('layers')} {rnn} "
        f"layer(s) of {hp.get('units')} units, {hp.get('pooling')} pooling and a dense output layer{branch}. "
        + (f"{count:,} weights." if count else ""),
        "",
        f"Vocabulary: {_fmt(hp.get('vocab_size'))} word tokens"
        + (f" and {_fmt(hp.get('ngram_vocab_size'))} n-grams" if hp.get("ngram_vocab_size") else "")
        + f", learned from the training texts (standardization `{_get(facts.config, 'model.standardize')}`).",
    ]


def _training_data(facts: CardFacts) -> list[str]:
    data, files = facts.data, facts.data.get("files") or {}
    fingerprints = facts.metrics.get("data") if isinstance(facts.metrics.get("data"), dict) else {}
    rows = []
    for split in ("train", "valid", "test"):
        count = (data.get("rows") or {}).get(split)
        if count is None:
            continue
        source = _file_names(files.get(split)) if files.get(split) else "-"
        if split == "valid" and data.get("split_from_train"):
            source = f"a seeded {_get(facts.config, 'data.valid_fraction'):.0%} split of train"
        sha = fingerprints.get(f"data.{split}") if split != "valid" or not data.get("split_from_train") else None
        rows.append([split, source, _fmt(count), f"`{sha[:16]}...`" if sha else "-"])
    lines = ["## Training data", "", *_table(["split", "file", "rows", "SHA-256"], rows)]
    if data.get("streamed"):
        lines += ["", "The training files were streamed from disk (`data.stream`)."]
    if data.get("skipped_rows"):
        lines += ["", f"{data['skipped_rows']:,} unreadable rows were left out (listed in `rejected_rows.csv`)."]
    counts = data.get("label_counts") or {}
    total = (data.get("rows") or {}).get("train") or sum(counts.values()) or 1  # a share of the training rows
    what = "rows holding each label" if facts.task == "multilabel" else "rows per label"
    lines += ["", f"Training {what}:", ""]
    lines += _table(["label", "rows", "share"], [[f"`{k}`", _fmt(v), f"{v / total:.1%}"] for k, v in counts.items()])
    lines += ["", "Data checks (the linear-time checks training runs on the data it holds):", ""]
    checks = data.get("checks")
    if checks is None:
        lines.append("- not run on streamed data; `textclf check-data --config CONFIG` runs the full lint")
    else:
        lines += [f"- {_cell(c)}" for c in checks] or ["- nothing stood out"]
        lines += ["", "`textclf check-data --config CONFIG` runs the full lint (leakage, out-of-vocabulary rate, ...)."]
    return lines


def _procedure(facts: CardFacts) -> list[str]:
    keys = [
        "model.max_tokens", "model.sequence_length", "model.standardize", "model.embedding_dim", "model.rnn",
        "model.units", "model.layers", "model.bidirectional", "model.pooling", "model.embedding_dropout",
        "model.dropout", "model.ngrams", "model.ngram_length", "train.epochs", "train.batch_size",
        "train.learning_rate", "train.ngram_learning_rate", "train.seed", "train.early_stopping_patience",
        "train.early_stopping_monitor", "train.class_weight", "train.threshold_objective",
    ]  # fmt: skip
    m, timing = facts.metrics, facts.metrics.get("timing") or {}
    lines = ["## Training procedure", "", "Hyperparameters (the whole config is `config.yaml`):", ""]
    lines += _table(["key", "value"], [[f"`{k}`", _value(_get(facts.config, k))] for k in keys])
    lines += [
        "",
        f"Epochs run: {m.get('epochs_run')} of at most {_get(facts.config, 'train.epochs')}; best epoch "
        f"{m.get('best_epoch')} (its weights were kept), chosen by the validation "
        + ("loss" if _get(facts.config, "train.early_stopping_monitor") == "loss" else "metric")
        + ". Training took "
        + (f"{timing['fit_seconds']:.1f} s" if "fit_seconds" in timing else "-")
        + (
            f" ({timing['train_phase_seconds']:.1f} s with data and saving)."
            if "train_phase_seconds" in timing
            else "."
        ),
    ]
    if facts.history:
        cols = [c for c in facts.history[0] if c not in ("learning_rate",)]
        lines += [
            "",
            *_table(cols, [[_fmt(r.get(c), 1 if c == "seconds" else 4) for c in cols] for r in facts.history]),
        ]
    return lines


def _evaluation(facts: CardFacts) -> list[str]:
    splits = facts.splits()
    lines = ["## Evaluation", ""]
    if not splits:
        return lines + ["No metrics were recorded."]
    names = [k for k in split_metrics(facts.metrics[splits[-1]])]
    lines += _table(
        ["split", "rows", *names],
        [
            [SPLIT_NAMES[s], _fmt(facts.metrics[s].get("rows")), *[_fmt(facts.metrics[s].get(k)) for k in names]]
            for s in splits
        ],
    )
    shown = splits[-1]
    table = facts.metrics[shown].get("per_label") or facts.metrics[shown].get("per_class") or {}
    lines += ["", f"Per {'label' if facts.task == 'multilabel' else 'class'} ({SPLIT_NAMES[shown]} set):", ""]
    lines += _table(
        ["label", "precision", "recall", "f1", "support"],
        [
            [f"`{k}`", *[_fmt(v.get(c)) for c in ("precision", "recall", "f1", "support")]]
            for k, v in table.items()
            if isinstance(v, dict)
        ],
    )
    return lines + ["", *_thresholds(facts)]


def _thresholds(facts: CardFacts) -> list[str]:
    if facts.task == "multiclass":
        return ["Decisions: the class with the highest probability (no threshold)."]
    tuned = facts.thresholds
    if not tuned or not isinstance(tuned.get("thresholds"), dict):
        return ["Decision threshold: 0.5 for every label (`train.threshold_objective: none`)."]
    objective = tuned.get("objective")
    target = f" {tuned['target']:g}" if objective in ("precision", "recall") and "target" in tuned else ""
    lines = [
        f"Decision thresholds: tuned on the validation set for {objective}{target} "
        "(`thresholds.json`; `--threshold` overrides them at prediction time):",
        "",
    ]
    lines += _table(["label", "threshold"], [[f"`{k}`", _fmt(v)] for k, v in tuned["thresholds"].items()])
    gain = tuned.get("gain")
    if isinstance(gain, dict) and gain.get("metric"):
        parts = [f"{SPLIT_NAMES.get(k, k)} {v:+.4f}" for k, v in gain.items() if k != "metric"]
        lines += ["", f"Gain in {gain['metric']} over a threshold of 0.5: {', '.join(parts)}."]
    return lines


def _intended_use(facts: CardFacts) -> list[str]:
    return [
        "## Intended use",
        "",
        f"Sorting texts like the training data into its {len(facts.classes)} labels: routing, tagging, triage, "
        "analysis. Check it on data from where it will be used before relying on it (`textclf eval`), and keep a "
        "person in the loop where a wrong label harms someone.",
    ]


def _limitations(facts: CardFacts) -> list[str]:
    cfg = facts.config
    return [
        "## Limitations",
        "",
        "- Language and vocabulary: the model knows only the words of its training texts (the "
        f"{_fmt(_get(cfg, 'model.max_tokens'))} most frequent at most); other words, languages, spellings and "
        "domains are out-of-vocabulary and carry little or no signal.",
        f"- Length: the recurrent layers read the first {_get(cfg, 'model.sequence_length')} tokens of a text "
        + (
            f"and the n-gram branch its first {_get(cfg, 'model.ngram_length')} n-grams; "
            if _get(cfg, "model.ngrams")
            else "; "
        )
        + "the rest of a longer text is not read.",
        "- Labels: it only ever predicts the labels above; a text of another kind still gets one of them"
        + (" (or none, for a multi-label model)." if facts.task == "multilabel" else "."),
        "- The figures above come from held-out data of the same source as the training data; they say little "
        "about data from elsewhere, and rare labels have few examples behind their figures.",
    ]


def _how_to_use(facts: CardFacts) -> list[str]:
    run = facts.run
    return [
        "## How to use",
        "",
        "```bash",
        f"textclf predict --model {run} --input texts.csv --output predictions.csv",
        f"textclf eval --model {run} --data labeled.csv",
        "```",
        "",
        "```python",
        "from textclf import Classifier",
        "",
        f"clf = Classifier.load({run!r})",
        'clf.predict(["a text to classify"])  # labels; clf.predict_proba(...) gives the probabilities',
        "```",
        "",
        "Loading checks every file of the run against `manifest.json` (this card included).",
    ]
