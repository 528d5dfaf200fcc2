"""Helpers shared by the tests: tiny synthetic datasets, file writers, and a CLI runner wrapper.

Nothing here imports TensorFlow: the CLI is run in-process through click's ``CliRunner`` and imports
TensorFlow only when a command needs it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

from click.testing import CliRunner, Result

# Small model settings for every real training in the suite (a few seconds each on 2 CPU cores).
SMALL = [
    "--set", "model.units=8",
    "--set", "model.embedding_dim=16",
    "--set", "train.epochs=2",
    "--set", "train.batch_size=32",
    "--set", "train.verbose=false",
    "--set", "train.tensorboard=true",
]

TOPICS = {
    "sports": "ball goal team match score player coach league stadium referee".split(),
    "tech": "computer software code chip laptop phone app server network robot".split(),
    "food": "pizza bread cheese soup salad cook recipe dinner spicy kitchen".split(),
}
COLORS = {
    "red": "cherry tomato brick ruby fire".split(),
    "green": "grass leaf lime frog emerald".split(),
    "blue": "ocean sky sapphire denim whale".split(),
}
FILLER = "the a and of to in is it".split()

# Texts that must neither break training nor prediction.
EDGE_TEXTS = ["", "!!! ...", "?", "   ", "\u2028", "tab\there", "naïve café 😀", "line1\nline2"]
# Texts a spreadsheet would run as a formula.
FORMULA_TEXTS = ["=cmd|' /C calc'!A0", "+1+2", "-3 minus", "@SUM(A1:A2)"]


def topic_rows(n: int, seed: int, topics: dict[str, list[str]] = TOPICS) -> list[tuple[str, str]]:
    """``n`` (text, label) rows cycling through the topics; each text mixes topic words and filler."""
    rng = random.Random(seed)
    names = list(topics)
    rows = []
    for i in range(n):
        label = names[i % len(names)]
        words = [rng.choice(topics[label] + FILLER) for _ in range(rng.randint(3, 12))]
        rows.append((" ".join(words), label))
    return rows


def multilabel_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (text, "label|label") rows over COLORS; every row has one or two labels."""
    rng = random.Random(seed)
    names = sorted(COLORS)
    rows = []
    for i in range(n):
        chosen = sorted(rng.sample(names, 1 + (i % 2)))
        words = [w for lab in chosen for w in rng.sample(COLORS[lab], 2)] + rng.sample(FILLER, 2)
        rng.shuffle(words)
        rows.append((" ".join(words), "|".join(chosen)))
    return rows


def write_csv(path: Path, header: list[str], rows, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=kwargs.pop("encoding", "utf-8"), newline="") as f:
        writer = csv.writer(f, **kwargs)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV as (header, rows of str), read with the csv module so that nothing is converted."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, r)) for r in reader]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tree_hashes(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): sha256(p) for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def cli(*args: str) -> Result:
    """Run ``textclf ARGS`` in-process; stdout and stderr are kept apart (``result.stdout``/``result.stderr``)."""
    from textclf.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def assert_clean_error(result: Result, code: int, *needles: str) -> str:
    """The command failed with ``code``, one message, no traceback; the message holds every needle."""
    output = result.output  # stdout and stderr together
    assert result.exit_code == code, f"exit {result.exit_code}, expected {code}; output:\n{output}"
    assert "Traceback" not in output, output
    assert "error:" in result.stderr, output
    for needle in needles:
        assert needle in output, f"{needle!r} not in output:\n{output}"
    return output
