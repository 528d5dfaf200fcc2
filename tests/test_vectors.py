"""Pretrained word vectors (``model.pretrained_vectors``): reading the text formats, their errors, and a real
training that starts from them. Every vectors file is written by the test."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from support import SMALL, assert_clean_error, cli

from textclf.errors import DataError
from textclf.model.vectors import check_header, read_vectors

TOKENS = ["", "[UNK]", "goal", "team", "pizza", "cheese", "unseen"]


def vec(word: str, dim: int = 4) -> list[float]:
    """A deterministic vector per word."""
    rng = np.random.default_rng(sum(map(ord, word)))
    return [round(float(x), 4) for x in rng.normal(0, 1, dim)]


def write_vectors(path, words, dim=4, header=True, extra_lines=()):
    lines = [f"{len(words)} {dim}"] if header else []
    lines += [w + " " + " ".join(str(x) for x in vec(w.lower(), dim)) for w in words]
    lines += list(extra_lines)
    text = "\n".join(lines) + "\n"
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.fast
@pytest.mark.parametrize("name,header", [("w2v.vec", True), ("glove.txt", False), ("packed.vec.gz", True)])
def test_reads_each_text_format(tmp_path, name, header):
    p = write_vectors(tmp_path / name, ["goal", "team", "pizza", "other"], header=header)
    assert check_header(p, 4) == 4
    v = read_vectors(p, TOKENS, 4, seed=1)
    assert v.matrix.shape == (len(TOKENS), 4) and v.matrix.dtype == np.float32
    for i, word in enumerate(TOKENS):
        if word in ("goal", "team", "pizza"):
            np.testing.assert_allclose(v.matrix[i], vec(word), rtol=1e-6)
    assert (v.found, v.exact, v.words, v.file_words) == (3, 3, 5, 4)
    assert v.summary()["coverage"] == pytest.approx(0.6)
    assert not v.matrix[0].any(), "the padding row stays zero"
    # words the file lacks start on the scale of the found vectors, not at zero
    assert v.matrix[TOKENS.index("unseen")].any() and v.matrix[1].any()


@pytest.mark.fast
def test_exact_match_wins_over_a_lowercased_one(tmp_path):
    p = tmp_path / "cased.txt"
    p.write_text("Cheese 9 9 9 9\ncheese 1 2 3 4\nPizza 5 6 7 8\n", encoding="utf-8")
    v = read_vectors(p, TOKENS, 4)
    np.testing.assert_array_equal(v.matrix[TOKENS.index("cheese")], [1, 2, 3, 4])
    np.testing.assert_array_equal(v.matrix[TOKENS.index("pizza")], [5, 6, 7, 8])
    assert (v.found, v.exact) == (2, 1)


@pytest.mark.fast
def test_glove_words_with_spaces_are_skipped_not_fatal(tmp_path):
    p = tmp_path / "glove.txt"
    p.write_text("goal 1 2 3 4\n. . . 1 2 3 4\nteam 4 3 2 1\n\n", encoding="utf-8")
    v = read_vectors(p, TOKENS, 4)
    assert v.found == 2


@pytest.mark.fast
@pytest.mark.parametrize(
    "content,needles",
    [
        ("goal 1 2 3\n", ["line 1", "3 dimensions", "expected model.embedding_dim = 4", "model.embedding_dim: 3"]),
        ("2 4\ngoal 1 2 3\n", ["line 2", "header says 4 dimensions", "3 numbers"]),
        ("", ["line 1", "empty"]),
        ("2 4\n", ["line 2", "no vectors after the header"]),
        ("goal\n", ["line 1", "single field"]),
    ],
)
def test_header_problems_name_the_line_and_the_fix(tmp_path, content, needles):
    p = tmp_path / "v.txt"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as err:
        check_header(p, 4)
    message = str(err.value)
    assert str(p) in message
    for needle in needles:
        assert needle in message


@pytest.mark.fast
@pytest.mark.parametrize(
    "line,needles",
    [
        ("team 1 2 x 4", ["line 3", "'x'", "'team'", "not a number"]),
        ("team 1 2 3", ["line 3", "expected 4 numbers after 'team', found 3"]),
        ("team 1 nan 3 4", ["line 3", "not finite"]),
    ],
)
def test_malformed_vectors_name_their_line(tmp_path, line, needles):
    p = tmp_path / "v.txt"
    p.write_text(f"goal 1 2 3 4\nother 1 1 1 1\n{line}\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_vectors(p, TOKENS, 4)
    for needle in [str(p), *needles]:
        assert needle in str(err.value)


@pytest.mark.fast
def test_unusable_files_are_refused_with_the_fix(tmp_path):
    binary = tmp_path / "GoogleNews.bin"
    binary.write_bytes(b"3 4\n" + bytes(range(128, 256)) * 4)
    with pytest.raises(DataError, match="binary word2vec.*save_word2vec_format"):
        check_header(binary, 4)
    with pytest.raises(DataError, match="does not exist"):
        check_header(tmp_path / "missing.vec", 4)
    with pytest.raises(DataError, match="is a directory"):
        check_header(tmp_path, 4)
    foreign = write_vectors(tmp_path / "foreign.txt", ["hund", "katze"], header=False)
    with pytest.raises(DataError, match=r"none of the 5 vocabulary words is in .*foreign\.txt \(2 words read\)"):
        read_vectors(foreign, TOKENS, 4)


@pytest.mark.fast
def test_config_resolves_the_path_against_its_folder(tmp_path):
    from textclf.config import load_config

    (tmp_path / "conf").mkdir()
    cfg_file = tmp_path / "conf" / "c.yaml"
    cfg_file.write_text("data:\n  train: t.csv\nmodel:\n  pretrained_vectors: ../vecs/glove.txt\n", encoding="utf-8")
    cfg = load_config(cfg_file)
    assert cfg.model.pretrained_vectors == str(tmp_path / "vecs" / "glove.txt")


def _config(tmp_path, multiclass_files, vectors: str) -> str:
    cfg = tmp_path / "vec.yaml"
    cfg.write_text(
        f"data:\n  train: {multiclass_files['train']}\n  test: {multiclass_files['test']}\n"
        f"model:\n  pretrained_vectors: {vectors}\n",
        encoding="utf-8",
    )
    return str(cfg)


@pytest.mark.slow
def test_training_starts_from_the_vectors_and_the_run_keeps_them(tmp_path, multiclass_files):
    """With learning rates of (almost) 0 the embeddings stay where the file put them: the saved run holds the file's
    vectors for every word the file has, and predicting needs no vectors file."""
    from support import TOPICS

    from textclf.run.directory import load_run

    words = [w.upper() if i % 2 else w for i, w in enumerate(TOPICS["sports"] + TOPICS["food"])]
    vectors = write_vectors(tmp_path / "vecs.vec", words, dim=16)
    run = tmp_path / "run"
    result = cli(
        "train",
        "--config",
        _config(tmp_path, multiclass_files, "vecs.vec"),
        "--run-dir",
        run,
        *SMALL,
        "--set",
        "train.epochs=1",
        "--set",
        "train.learning_rate=0.000000001",
        "--set",
        "train.ngram_learning_rate=0",
    )
    assert result.exit_code == 0, result.output
    assert "pretrained vectors: 20 of" in result.output and "10 exact" in result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["pretrained_vectors"]["found"] == 20
    loaded = load_run(run)
    table = loaded.model.get_layer("embedding").embeddings.numpy()
    tokens = loaded.vocab.tokens
    for word in TOPICS["sports"][:3] + TOPICS["food"][:3]:
        np.testing.assert_allclose(table[tokens.index(word)], vec(word, 16), atol=1e-4)
    vectors.unlink()  # the run is self-contained
    out = tmp_path / "preds.csv"
    result = cli("predict", "--model", run, "--input", multiclass_files["predict"], "--output", out)
    assert result.exit_code == 0, result.output


@pytest.mark.fast
def test_a_dimension_mismatch_stops_before_any_run_is_made(tmp_path, multiclass_files):
    write_vectors(tmp_path / "vecs300.txt", ["goal", "team"], dim=5, header=False)
    run = tmp_path / "run"
    result = cli("train", "--config", _config(tmp_path, multiclass_files, "vecs300.txt"), "--run-dir", run, *SMALL)
    assert_clean_error(
        result, 3, "vecs300.txt, line 1", "5 dimensions", "model.embedding_dim = 16", "--set model.embedding_dim=5"
    )
    assert not run.exists()
