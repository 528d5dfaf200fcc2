"""``textclf explain``: word attributions by occlusion, on the session's real trained runs."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from support import FILLER, TOPICS, assert_clean_error, cli, write_csv, write_jsonl

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def loaded(multiclass_run):
    from textclf import Classifier

    return Classifier.load(multiclass_run.run)


def test_topic_words_get_the_credit(loaded):
    from textclf import Classifier  # noqa: F401

    text = "the ball and the goal of the team"
    (exp,) = loaded.explain([text])
    assert exp.label == exp.prediction == "sports" and exp.predicted
    assert exp.tokens == text.split() and exp.scored == len(exp.tokens)
    scores = dict(zip(exp.tokens, exp.scores))  # later duplicates win; fine for the means below
    topic = [s for t, s in zip(exp.tokens, exp.scores) if t in TOPICS["sports"]]
    filler = [s for t, s in zip(exp.tokens, exp.scores) if t in FILLER]
    best = exp.tokens[int(np.argmax(exp.scores))]
    assert best in TOPICS["sports"], scores
    assert min(topic) > np.mean(filler), scores
    assert exp.top(1, 1)[0][0] == best
    # the same text explained towards another topic: its sports words push against that label
    (food,) = loaded.explain([text], label="food")
    assert food.label == "food" and not food.predicted and food.prediction == "sports"
    assert food.prob < exp.prob
    assert all(s < 0 for t, s in zip(food.tokens, food.scores) if t == "goal")


def test_scores_are_exact_occlusion_of_both_branches(loaded):
    """The base probability is the model's own (both branches), and each score is the drop when that word
    is removed, checked against an independent prediction of the edited text."""
    from textclf import Classifier  # noqa: F401
    from textclf.model.network import Inference, probabilities_from_logits

    text = "Pizza, SOUP and bread... with the team!"
    (exp,) = loaded.explain([text], measure="prob")
    enc = loaded.vocabulary.encoder()
    assert loaded.hyperparameters.ngram_vocab_size > 0  # the n-gram branch is part of the model under test
    edited = [text, text.replace("SOUP", " ")]
    probs = probabilities_from_logits("multiclass", Inference(loaded.model).logits(enc.encode(edited)))
    j = loaded.classes.index(exp.label)
    assert exp.prob == pytest.approx(float(probs[0, j]), abs=1e-5)
    assert exp.scores[exp.tokens.index("SOUP")] == pytest.approx(float(probs[0, j] - probs[1, j]), abs=1e-5)
    # words as written, punctuation split off as the model's standardization does, offsets into the text
    assert exp.tokens == ["Pizza", ",", "SOUP", "and", "bread", ".", ".", ".", "with", "the", "team", "!"]
    assert all(text[s:e] == t for (s, e), t in zip(exp.spans, exp.tokens))


@pytest.mark.fast
def test_word_spans_follow_each_standardization():
    from textclf.model.tokens import word_spans

    text = "Don't\u2028stop\x1cnow, café\u00a0ok"
    words = lambda mode: [text[s:e] for s, e in word_spans(text, mode)]  # noqa: E731
    assert words("lower_and_split_punctuation") == ["Don", "'", "t", "stop", "now", ",", "café\u00a0ok"]
    assert words("lower_and_strip_punctuation") == ["Don", "t", "stop", "now", "café\u00a0ok"]
    assert words("lower") == ["Don't", "stop", "now,", "café\u00a0ok"]


def test_long_text_only_first_sequence_length_words_are_scored(loaded, multiclass_run):
    from textclf import Classifier  # noqa: F401

    n = loaded.vocabulary.sequence_length
    words = (["goal", "the", "team", "a"] * n)[: n + 7]
    (exp,) = loaded.explain([" ".join(words)])
    assert len(exp.tokens) == n + 7 and exp.scored == n and exp.truncated
    assert all(s is not None for s in exp.scores[:n]) and exp.scores[n:] == [None] * 7
    # past what either branch reads (ngram_length n-grams), the text is cut before scoring: same numbers
    from textclf.model.network import Inference, probabilities_from_logits

    long_words = (["pizza", "the", "goal", "soup", "a"] * 1000)[: loaded.vocabulary.ngram_length + 50]
    long_text = " ".join(long_words)
    (big,) = loaded.explain([long_text], measure="prob")
    edited = [long_text, long_text[len("pizza ") :]]
    probs = probabilities_from_logits(
        "multiclass", Inference(loaded.model).logits(loaded.vocabulary.encoder().encode(edited))
    )
    j = loaded.classes.index(big.label)
    assert big.prob == pytest.approx(float(probs[0, j]), abs=1e-5)
    assert big.scores[0] == pytest.approx(float(probs[0, j] - probs[1, j]), abs=1e-5)
    assert big.scored == n and len(big.tokens) == len(long_words)
    result = cli("explain", "--model", multiclass_run.run, "--text", " ".join(words))
    assert result.exit_code == 0, result.output
    assert f"only the first {n} of {n + 7} words are scored" in result.stdout
    assert "model.sequence_length" in result.stdout


def test_empty_text(loaded, multiclass_run):
    from textclf import Classifier  # noqa: F401

    exps = loaded.explain(["", "   ", "!!!"])
    assert [e.tokens for e in exps] == [[], [], ["!", "!", "!"]]
    assert exps[0].scores == [] and exps[0].label in loaded.classes and 0 < exps[0].prob < 1
    result = cli("explain", "--model", multiclass_run.run, "--text", "")
    assert result.exit_code == 0, result.output
    assert "text 1: prediction" in result.stdout and "empty text: no words to attribute" in result.stdout


def test_cli_text_colours_and_top_words(multiclass_run):
    args = ["explain", "--model", str(multiclass_run.run), "--text", "the goal of the team"]
    result = CliRunner().invoke(__import__("textclf.cli").cli.main, args, color=True)
    assert result.exit_code == 0, result.output
    assert "\x1b[" in result.stdout  # coloured when the output is a terminal
    plain = ANSI.sub("", result.stdout)
    assert "text 1: prediction sports (confidence " in plain
    assert "the goal of the team" in plain
    towards = next(line for line in plain.splitlines() if "towards sports" in line)
    assert re.search(r"'(goal|team)' \+0\.\d{3}", towards), plain
    no_color = CliRunner().invoke(__import__("textclf.cli").cli.main, args + ["--no-color"], color=True)
    assert no_color.exit_code == 0 and "\x1b[" not in no_color.stdout and ANSI.sub("", result.stdout) == no_color.stdout
    piped = cli(*args)  # not a terminal: no colours
    assert "\x1b[" not in piped.stdout and piped.stdout == no_color.stdout


def test_cli_input_file_with_limit_and_html(multiclass_run, tmp_path):
    out = tmp_path / "explain.html"
    result = cli(
        "explain", "--model", multiclass_run.run, "--input", multiclass_run.test, "--limit", "3", "--html", out
    )
    assert result.exit_code == 0, result.output
    heads = [line for line in result.stdout.splitlines() if line.startswith("line ")]
    assert [h.split(":")[0] for h in heads] == ["line 2", "line 3", "line 4"]
    assert f"wrote {out}" in result.stdout
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<section>") == 3 and "Legend" in page


def test_input_jsonl_and_text_column(multiclass_run, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "body": "pizza soup"}, {"id": 2, "body": "code app"}])
    result = cli("explain", "--model", multiclass_run.run, "--input", path, "--text-column", "body")
    assert result.exit_code == 0, result.output
    assert "line 1: prediction food" in result.stdout and "line 2: prediction tech" in result.stdout


def test_html_escapes_everything(loaded, tmp_path):
    from textclf.use.explain import write_html

    text = '<script>alert("x")</script> goal <img src=x onerror=alert(1)> & "team"'
    exps = loaded.explain([text])
    path = write_html(exps, tmp_path / "x.html", title="run <b>")
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<b>" not in page
    assert "onerror" in page and "&amp;" in page and "&quot;" in page and "run &lt;b&gt;" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # the words the model reads keep their tags escaped inside coloured spans
    assert re.search(r'<span class="w"[^>]*>&lt;</span><span class="w"[^>]*>script</span>', page), page


def test_missing_text_column_is_a_data_error(multiclass_run, tmp_path):
    path = write_csv(tmp_path / "bad.csv", ["body", "label"], [("goal team", "sports")])
    result = cli("explain", "--model", multiclass_run.run, "--input", path)
    assert_clean_error(result, 3, str(path), "column 'text' not found", "columns found: 'body', 'label'")


@pytest.mark.parametrize(
    "args, needle",
    [
        ([], "give a text to explain with --text"),
        (["--text", "goal", "--input", "x.csv"], "not both"),
        (
            ["--text", "goal", "--label", "weather"],
            "--label 'weather': received a label this model does not have; expected one of 'food', 'sports', 'tech'",
        ),
        (["--input", "missing.csv"], "--input file not found: missing.csv"),
        (["--text", "goal", "--html", "no/such/dir/x.html"], "the folder no/such/dir does not exist"),
    ],
)
def test_usage_errors(multiclass_run, args, needle):
    assert_clean_error(cli("explain", "--model", multiclass_run.run, *args), 2, needle)


def test_multilabel_explains_each_predicted_label(multilabel_run):
    from support import COLORS

    from textclf import Classifier
    from textclf.model.network import Inference, probabilities_from_logits

    run = Classifier.load(multilabel_run.run)
    text = "cherry ruby ocean sky the"
    probs = probabilities_from_logits(
        "multilabel", Inference(run.model).logits(run.vocabulary.encoder().encode([text]))
    )[0]
    exps = run.explain([text], threshold=0.3)
    expected = [c for c, p in zip(run.classes, probs) if p >= 0.3]
    assert expected and [e.label for e in exps] == expected and {e.index for e in exps} == {0}
    assert all(e.predicted and e.prediction == "|".join(expected) for e in exps)
    assert exps[0].confidence == pytest.approx(min(float(p) for p in probs if p >= 0.3), abs=1e-6)
    for colour in ("red", "blue"):  # each label is explained by its own words
        (e,) = run.explain([text], label=colour, measure="logodds")
        assert e.label == colour and e.measure == "logodds" and len(e.scores) == 5
        assert e.top(1)[0][0] in COLORS[colour], list(zip(e.tokens, e.scores))


def test_binary_explains_either_class(binary_run):
    """Binary models have one sigmoid output; either class can be explained, with opposite signs."""
    from textclf import Classifier  # noqa: F401

    text = "the goal and the coach"
    (pred,) = Classifier.load(binary_run.run).explain([text], measure="prob")
    assert pred.prediction == pred.label == "NA" and pred.prob > 0.5 and pred.predicted
    assert pred.top(1)[0][0] in ("goal", "coach")
    (other,) = Classifier.load(binary_run.run).explain([text], label="00123", measure="prob")
    assert other.prob == pytest.approx(1 - pred.prob, abs=1e-6) and not other.predicted
    assert other.scores == pytest.approx([-s for s in pred.scores], abs=1e-5)


@pytest.mark.fast
def test_importing_explain_does_not_import_tensorflow():
    code = "import sys, textclf.use.explain, textclf.cli; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
