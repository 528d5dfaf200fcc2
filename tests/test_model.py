"""The network and the vocabulary, checked on CPU: cuDNN-eligible layer config, masking, standardization.

Keras and the modules that import TensorFlow are imported inside the tests, not when pytest collects this
file, so that a run of the quick subset (``pytest -m fast``) never starts TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest


def hp(**changes):
    """Small hyperparameters for a model built on CPU, with ``changes`` applied."""
    from textclf.model.network import Hyperparameters

    base = Hyperparameters(
        task="multiclass",
        num_outputs=3,
        vocab_size=50,
        ngram_vocab_size=80,
        embedding_dim=8,
        rnn="lstm",
        units=4,
        layers=1,
        bidirectional=True,
        pooling="max",
        embedding_dropout=0.25,
        dropout=0.4,
    )
    return dataclasses.replace(base, **changes)


def rnn_layers(model):
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            out += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
            out.append(layer)
    return out


# --------------------------------------------------------------------------------------------------
# cuDNN conditions


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"rnn": "gru"},
        {"layers": 2, "bidirectional": False, "pooling": "last"},
        {"layers": 3, "pooling": "mean", "ngram_vocab_size": 0},
    ],
)
def test_recurrent_layers_are_cudnn_eligible(changes):
    import keras

    from textclf.model.network import build_model, cudnn_eligible

    model = build_model(hp(**changes), seed=1)
    layers = rnn_layers(model)
    assert len(layers) == hp(**changes).layers * (2 if hp(**changes).bidirectional else 1)
    assert cudnn_eligible(model) == []
    for rnn in layers:
        cell = rnn.cell
        assert cell.activation is keras.activations.tanh
        assert cell.recurrent_activation is keras.activations.sigmoid
        assert cell.recurrent_dropout == 0
        assert rnn.unroll is False
        assert cell.use_bias is True
        if isinstance(rnn, keras.layers.GRU):
            assert cell.reset_after is True
    emb = model.get_layer("embedding")
    assert emb.mask_zero is True


def test_cudnn_eligible_reports_each_problem():
    import keras

    from textclf.model.network import cudnn_eligible

    inp = keras.Input(shape=(None, 4))
    x = keras.layers.LSTM(
        3, activation="relu", recurrent_dropout=0.2, use_bias=False, return_sequences=True, name="bad_lstm"
    )(inp)
    x = keras.layers.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid", name="bad_gru")(x)
    problems = cudnn_eligible(keras.Model(inp, x))
    text = "\n".join(problems)
    assert "bad_lstm: activation is not tanh" in text
    assert "bad_lstm: recurrent_dropout is 0.2" in text
    assert "bad_lstm: use_bias is off" in text
    assert "bad_gru: reset_after is off" in text
    assert "bad_gru: recurrent_activation is not sigmoid" in text


def test_trained_run_model_is_cudnn_eligible(multiclass_run):
    from textclf.model.network import cudnn_eligible
    from textclf.run.directory import load_run

    model = load_run(multiclass_run.run).model
    assert cudnn_eligible(model) == []
    assert rnn_layers(model)


def test_output_layer_and_probabilities():
    from textclf.model.network import build_model, probabilities_from_logits

    model = build_model(hp(ngram_vocab_size=0), seed=1)
    assert model.output.shape[-1] == 3
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    p = probabilities_from_logits("multiclass", logits)
    assert np.allclose(p.sum(axis=1), 1.0) and np.all(np.isfinite(p)) and p[1, 0] == pytest.approx(1.0)
    s = probabilities_from_logits("multilabel", np.array([[0.0, 800.0, -800.0]]))
    assert np.allclose(s, [[0.5, 1.0, 0.0]])


def test_hyperparameters_from_json_is_strict():
    from textclf.model.network import Hyperparameters

    good = hp().to_json()
    assert Hyperparameters.from_json(json.loads(json.dumps(good))) == hp()
    with pytest.raises(ValueError, match="unexpected keys"):
        Hyperparameters.from_json({**good, "layer": {"class_name": "Lambda"}})
    with pytest.raises(ValueError, match="missing keys"):
        Hyperparameters.from_json({k: v for k, v in good.items() if k != "units"})


# --------------------------------------------------------------------------------------------------
# Masking: padding never changes a prediction


def test_masked_max_pooling_ignores_padding():
    from textclf.model.network import MaskedGlobalMaxPooling1D

    x = np.array(
        [[[1.0, -5.0], [2.0, -3.0], [99.0, 99.0]], [[-1.0, -2.0], [-7.0, -1.0], [-9.0, -9.0]]], dtype="float32"
    )
    mask = np.array([[True, True, False], [True, True, False]])
    out = np.asarray(MaskedGlobalMaxPooling1D()(x, mask=mask))
    assert np.allclose(out, [[2.0, -3.0], [-1.0, -1.0]])
    plain = np.asarray(MaskedGlobalMaxPooling1D()(x))
    assert np.allclose(plain, [[99.0, 99.0], [-1.0, -1.0]])


def test_keras_global_max_pooling_would_not_ignore_padding():
    # why textclf has its own pooling layer: Keras's GlobalMaxPooling1D ignores the mask
    import keras

    from textclf.model.network import MaskedGlobalMaxPooling1D

    x = np.array([[[1.0], [99.0]]], dtype="float32")
    assert float(np.asarray(keras.layers.GlobalMaxPooling1D()(x))[0, 0]) == 99.0
    assert float(np.asarray(MaskedGlobalMaxPooling1D()(x, mask=np.array([[True, False]])))[0, 0]) == 1.0


def _real_inputs(texts, **hp_changes):
    """A fitted vocabulary, an encoded batch of ``texts`` and a matching model with random n-gram weights."""
    from textclf.model.network import build_model

    vocab = fit(
        ["goal team match score", "pizza cheese soup bread", "code laptop chip app server", "team pizza code"],
        sequence_length=16,
    )
    enc = vocab.encoder().encode(texts)
    model = build_model(
        hp(vocab_size=len(vocab.tokens), ngram_vocab_size=len(vocab.ngram_tokens or []), **hp_changes), seed=3
    )
    if vocab.ngram_tokens:  # give the n-gram branch non-zero weights so that its padding is tested too
        emb = model.get_layer("ngram_embedding")
        emb.set_weights([np.random.default_rng(0).normal(size=emb.get_weights()[0].shape).astype("float32")])
    return enc, model


def _pad_right(inputs: dict, extra: int) -> dict:
    return {k: np.pad(v, ((0, 0), (0, extra))) for k, v in inputs.items()}


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_right_padding_does_not_change_logits(pooling, bidirectional):
    enc, model = _real_inputs(["goal team pizza", "!!!"], pooling=pooling, bidirectional=bidirectional, layers=2)
    for i in range(len(enc)):
        alone = enc.batch(np.array([i]))
        assert all(v.shape[0] == 1 for v in alone.values())
        a = np.asarray(model(alone, training=False))
        b = np.asarray(model(_pad_right(alone, 7), training=False))
        assert np.all(np.isfinite(a)) and np.allclose(a, b, atol=1e-5), (pooling, i, a, b)


def test_batch_order_and_padding_do_not_change_predict_logits():
    from textclf.model.network import Inference

    texts = [
        "goal",
        "team match score goal goal",
        "",
        "pizza cheese soup bread code laptop chip app",
        "?!",
        "server",
        "team pizza code",
    ] * 3
    enc, model = _real_inputs(texts)
    a = Inference(model).logits(enc, batch_size=4)
    b = Inference(model).logits(enc, batch_size=64)
    single = np.concatenate([np.asarray(model(enc.batch(np.array([i])), training=False)) for i in range(len(enc))])
    assert np.allclose(a, b, atol=1e-5) and np.allclose(a, single, atol=1e-5)


# --------------------------------------------------------------------------------------------------
# Vocabulary and input pipeline


def fit(texts, **kw):
    from textclf.model.vocabulary import Vocabulary

    args = dict(
        max_tokens=100, sequence_length=6, standardize="lower_and_split_punctuation", ngrams=2, ngram_max_tokens=200
    )
    args.update(kw)
    return Vocabulary.fit(texts, **args)


def test_empty_and_punctuation_texts_become_one_oov_token():
    from textclf.model.vocabulary import OOV

    vocab = fit(["hello world", "good morning world"], standardize="lower_and_strip_punctuation")
    enc = vocab.encoder().encode(["", "!!! ...", "   ", "hello"])
    assert enc.lengths.tolist() == [1, 1, 1, 1]
    assert enc.values[:3].tolist() == [OOV, OOV, OOV]
    assert enc.values[3] != OOV
    for key, value in enc.batch(np.arange(4)).items():  # no input row is empty
        assert value.shape == (4, value.shape[1]) and value.shape[1] >= 1, key


def test_sequence_length_truncates():
    vocab = fit(["a b c d e f g h i j"], sequence_length=4)
    assert vocab.encoder().encode(["a b c d e f g h i j"]).lengths.tolist() == [4]


def test_line_breaking_characters_never_reach_the_vocabulary():
    odd = ["word\x85split", "line\u2028sep", "para\u2029sep", "file\x1csep", "bom\ufeffword", "nul\x00x"]
    vocab = fit(odd + ["plain text"], standardize="none")
    for token in vocab.tokens[2:] + (vocab.ngram_tokens or [])[2:]:
        assert token == token.strip() and len(token.splitlines()) <= 1, repr(token)
        assert not any(c in token for c in "\x85\u2028\u2029\x1c\ufeff\x00"), repr(token)


def test_vocabulary_json_round_trip_encodes_identically():
    from textclf.model.vocabulary import Vocabulary

    texts = ["Ünïcode café 😀", "line\u2028sep and\x85more", "tabs\tand  spaces", "", "?!"]
    vocab = fit(texts + ["more words here"])
    again = Vocabulary.from_json(json.loads(json.dumps(vocab.to_json(), ensure_ascii=False)))
    a, b = vocab.encoder().encode(texts), again.encoder().encode(texts)
    assert np.array_equal(a.values, b.values) and np.array_equal(a.offsets, b.offsets)
    assert np.array_equal(a.ngram_values, b.ngram_values)


def test_ngram_branch_has_its_own_standardization():
    from textclf.model.vocabulary import Vocabulary

    texts = ["Hello, world!", "good-bye world."]
    vocab = fit(texts, ngram_standardize="lower_and_strip_punctuation")
    assert {",", "!", "-", "."} <= set(vocab.tokens)  # the RNN's words keep punctuation
    assert not any(c in tok for tok in vocab.ngram_tokens[2:] for c in ",!-.")
    assert {"hello world", "good bye", "bye world"} <= set(vocab.ngram_tokens)
    obj = json.loads(json.dumps(vocab.to_json()))
    assert obj["ngram_standardize"] == "lower_and_strip_punctuation"
    again = Vocabulary.from_json(obj)
    a, b = vocab.encoder().encode(texts), again.encoder().encode(texts)
    assert np.array_equal(a.ngram_values, b.ngram_values) and np.array_equal(a.values, b.values)
    # a vocabulary saved before the key existed reads its n-grams with the words' standardization
    old = {k: v for k, v in obj.items() if k != "ngram_standardize"}
    assert Vocabulary.from_json(old).ngram_mode == "lower_and_split_punctuation"
    with pytest.raises(ValueError, match="unknown ngram_standardize"):
        Vocabulary.from_json({**obj, "ngram_standardize": "shout"})


def test_vocabulary_is_fitted_on_training_text_only():
    vocab = fit(["alpha beta"], max_tokens=10)
    assert vocab.tokens[:2] == ["", "[UNK]"] and set(vocab.tokens[2:]) == {"alpha", "beta"}


def test_epoch_batches_cover_every_row_once():
    from textclf.model.vocabulary import epoch_batches

    lengths = np.random.default_rng(0).integers(1, 30, size=103)
    for rng in (None, np.random.default_rng(5)):
        batches = epoch_batches(lengths, 10, rng)
        assert sorted(np.concatenate(batches).tolist()) == list(range(103))
        assert max(len(b) for b in batches) == 10
    a = epoch_batches(lengths, 10, np.random.default_rng(5))
    b = epoch_batches(lengths, 10, np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
