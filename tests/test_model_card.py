"""MODEL_CARD.md: written into every run before the manifest seals it, in Hugging Face's model card layout
(YAML front matter, then sections), shown by ``textclf show RUN --card`` once the run verifies.

The front matter must parse with ``yaml.safe_load`` whatever the label names hold (``:``, quotes, ``#``,
``---``), and its labels and metrics must be those of labels.json and metrics.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support import assert_clean_error, cli

from textclf.run.card import CardFacts, render_card, split_metrics

SECTIONS = (
    "## Model description",
    "## Training data",
    "## Training procedure",
    "## Evaluation",
    "## Intended use",
    "## Limitations",
    "## How to use",
)


def front_matter(text: str) -> dict:
    assert text.startswith("---\n"), text[:80]
    head, _, _ = text[4:].partition("\n---\n")
    return yaml.safe_load(head)


def assert_card_matches(card: str, labels: dict, metrics: dict) -> None:
    meta = front_matter(card)
    assert meta["library_name"] == "textclf" and meta["pipeline_tag"] == "text-classification"
    assert meta["task"] == labels["task"] and meta["labels"] == labels["classes"]
    results = {r["dataset"]["split"]: r for r in meta["model-index"][0]["results"]}
    assert set(results) == {"validation", "test"}
    for split, name in (("valid", "validation"), ("test", "test")):
        logged = {m["type"]: m["value"] for m in results[name]["metrics"]}
        assert logged == split_metrics(metrics[split]) and logged, (split, logged)
        assert set(logged) <= set(meta["metrics"])
    positions = [card.index(s) for s in SECTIONS]
    assert positions == sorted(positions), "the sections are in Hugging Face's order"


@pytest.mark.parametrize("fixture", ["multiclass_run", "binary_run", "multilabel_run"])
def test_every_task_writes_a_card_that_matches_its_run_and_the_manifest_seals_it(request, fixture):
    run = request.getfixturevalue(fixture).run
    card = (run / "MODEL_CARD.md").read_text(encoding="utf-8")
    labels = json.loads((run / "labels.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert_card_matches(card, labels, metrics)
    assert "MODEL_CARD.md" in json.loads((run / "manifest.json").read_text())["files"]
    for label in labels["classes"]:
        assert f"| `{label}` |" in card  # in the label counts and the per-class table
    if labels["task"] != "multiclass":
        assert "tuned on the validation set for f1" in card  # the thresholds and where they come from
    assert f"textclf predict --model {run}" in card and f"Classifier.load({str(run)!r})" in card


def test_show_card_prints_the_card_of_a_run_that_verifies(multiclass_run):
    result = cli("show", multiclass_run.run, "--card")
    assert result.exit_code == 0, result.output
    assert result.stdout == (multiclass_run.run / "MODEL_CARD.md").read_text(encoding="utf-8")
    shown = cli("show", multiclass_run.run)
    assert "model card" in shown.stdout and "MODEL_CARD.md" in shown.stdout
    assert_clean_error(cli("show", multiclass_run.run, "--card", "--json"), 2, "leave out --json")


def test_a_changed_card_makes_the_run_damaged(run_copy):
    card = run_copy / "MODEL_CARD.md"
    text = card.read_text(encoding="utf-8")
    card.write_text(text.replace("accuracy", "accurasy", 1), encoding="utf-8")  # same size, other bytes
    assert_clean_error(cli("show", run_copy, "--card"), 4, "checksum mismatch in MODEL_CARD.md")
    shown = cli("show", run_copy)
    assert shown.exit_code == 0 and "NOT verified" in shown.stdout and "MODEL_CARD.md" in shown.stdout
    card.write_text(text + "\nA claim added later.\n", encoding="utf-8")  # another size: damaged at a glance
    listed = cli("runs", run_copy.parent, "--json")
    assert "damaged" in json.loads(listed.stdout)[0]["status"], listed.stdout
    card.unlink()
    assert_clean_error(cli("show", run_copy, "--card"), 4, "MODEL_CARD.md is listed in the manifest but missing")


@pytest.mark.fast
def test_the_front_matter_quotes_any_label_name_and_tables_escape_pipes():
    classes = ["a: b", 'say "hi"', "it's", "#hash", "---", "- dash", "x | y", "yes", "null", "00123"]
    per_class = {c: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 3} for c in classes}
    metrics = {
        "task": "multiclass",
        "best_epoch": 1,
        "epochs_run": 1,
        "valid": {"rows": 30, "accuracy": 0.5, "macro_f1": 0.25, "per_class": per_class},
        "test": {"rows": 30, "accuracy": 0.75, "macro_f1": 0.125, "per_class": per_class},
    }
    labels = {"task": "multiclass", "classes": classes}
    hp = {"embedding_dim": 4, "rnn": "gru", "units": 2, "layers": 1, "bidirectional": False, "pooling": "max",
          "vocab_size": 10, "ngram_vocab_size": 0, "num_outputs": len(classes), "task": "multiclass",
          "embedding_dropout": 0.0, "dropout": 0.0}  # fmt: skip
    data = {"files": {"train": "/d/train.csv", "valid": None, "test": "/d/test.csv"},
            "rows": {"train": 270, "valid": 30, "test": 30}, "split_from_train": True,
            "label_counts": dict.fromkeys(classes, 27), "checks": ["imbalance: x | y is rare"]}  # fmt: skip
    config = {"model": {"sequence_length": 64, "ngrams": 0}, "train": {"epochs": 1}, "data": {"valid_fraction": 0.1}}
    card = render_card(CardFacts(str(Path("runs/odd")), config, labels, hp, metrics, [], None, data))
    assert_card_matches(card, labels, metrics)
    assert "| `x \\| y` |" in card and "x \\| y is rare" in card
