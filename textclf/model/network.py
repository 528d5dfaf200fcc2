"""Building the network from plain hyperparameters, in textclf's own code.

The model is Embedding -> (Bi)LSTM or GRU layers -> pooling over time -> Dense logits, plus an optional
linear branch over the TF-IDF weighted bag of 1..n-grams (an Embedding of n-gram ids straight to one weight
per class, summed with the TF-IDF weights: logistic regression on TF-IDF features, trained jointly) whose
logits are added to the RNN's.

The model outputs *logits*; :func:`probabilities_from_logits` turns them into probabilities (sigmoid for binary and
multi-label tasks, softmax for multi-class). Loading a run rebuilds the model with :func:`build_model` from
the saved hyperparameters and then sets the weights: no layer configuration is ever read from disk.

The recurrent layers keep the conditions of the cuDNN kernel (tanh and sigmoid activations,
``recurrent_dropout=0``, ``unroll=False``, ``use_bias=True``, right-padded masks), so that on a GPU Keras
uses the fast fused kernel; ``cudnn_eligible`` checks that, and a test runs it on CPU.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .hyperparameters import Hyperparameters


class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Max over time that ignores padded steps (Keras's ``GlobalMaxPooling1D`` ignores the mask)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        # arithmetic rather than a boolean select: padded steps get a large negative offset
        keep = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return ops.max(inputs + (keep - 1.0) * ops.cast(1e4, inputs.dtype), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


class WeightedSum(keras.layers.Layer):
    """``sum_j weights[:, j] * values[:, j, :]``: a sparse linear layer over a weighted bag of ids."""

    def call(self, inputs):
        values, weights = inputs
        return ops.sum(values * ops.expand_dims(ops.cast(weights, values.dtype), -1), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][2])


def _rnn_layer(hp: Hyperparameters, return_sequences: bool, name: str):
    cls = keras.layers.LSTM if hp.rnn == "lstm" else keras.layers.GRU
    kwargs = dict(
        activation="tanh",
        recurrent_activation="sigmoid",
        recurrent_dropout=0.0,
        unroll=False,
        use_bias=True,
        return_sequences=return_sequences,
    )
    if hp.rnn == "gru":
        kwargs["reset_after"] = True  # a cuDNN condition for GRU
    layer = cls(hp.units, name=name, **kwargs)
    if hp.bidirectional:
        layer = keras.layers.Bidirectional(layer, name=f"bi_{name}")
    return layer


def build_model(hp: Hyperparameters, seed: int | None = None, output_bias: np.ndarray | None = None) -> keras.Model:
    """The classifier as a Keras functional model with inputs ``tokens`` (and ``ngrams``), output logits.

    ``output_bias`` initializes the output layer's bias, e.g. to the log prior odds of each label, so that
    training does not spend its first steps learning that most labels are absent. It affects only the
    initialization (a loaded model gets its saved weights).
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    inputs = {"tokens": tokens}
    x = keras.layers.Embedding(hp.vocab_size, hp.embedding_dim, mask_zero=True, name="embedding")(tokens)
    if hp.embedding_dropout:
        x = keras.layers.SpatialDropout1D(hp.embedding_dropout, name="embedding_dropout")(x)
    for i in range(hp.layers):
        last = i == hp.layers - 1
        x = _rnn_layer(hp, return_sequences=not (last and hp.pooling == "last"), name=f"{hp.rnn}_{i}")(x)
    if hp.pooling == "max":
        x = MaskedGlobalMaxPooling1D(name="max_pool")(x)
    elif hp.pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D(name="mean_pool")(x)
    if hp.dropout:
        x = keras.layers.Dropout(hp.dropout, name="dropout")(x)
    bias_init = "zeros" if output_bias is None else keras.initializers.Constant(np.asarray(output_bias, "float32"))
    logits = keras.layers.Dense(hp.num_outputs, dtype="float32", bias_initializer=bias_init, name="logits")(x)
    if hp.ngram_vocab_size:
        # a linear model over the TF-IDF weighted bag of n-grams: sum_j w_j * E[id_j]
        ngrams = keras.Input(shape=(None,), dtype="int32", name="ngrams")
        ngram_weights = keras.Input(shape=(None,), dtype="float32", name="ngram_weights")
        inputs.update(ngrams=ngrams, ngram_weights=ngram_weights)
        bag = keras.layers.Embedding(
            hp.ngram_vocab_size, hp.num_outputs, embeddings_initializer="zeros", dtype="float32", name="ngram_embedding"
        )(ngrams)
        bag = WeightedSum(name="ngram_sum", dtype="float32")([bag, ngram_weights])
        logits = keras.layers.Add(name="add_logits", dtype="float32")([logits, bag])
    return keras.Model(inputs, logits, name="textclf")


def probabilities_from_logits(task: str, logits: np.ndarray) -> np.ndarray:
    """Sigmoid for binary and multi-label tasks, softmax for multi-class (NumPy, float64-stable)."""
    logits = np.asarray(logits, dtype=np.float64)
    if task == "multiclass":
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)
    from scipy.special import expit  # scipy comes with scikit-learn; expit does not overflow

    return expit(logits).astype(np.float32)


class Inference:
    """A model's logits for encoded texts, from one traced function with a relaxed input signature.

    Traced once (at the first call), so that batches of any shape reuse the same graph; safe to call from
    several threads once traced. Rows are sorted by length and batched so that each batch is padded only to
    its own longest text; the logits come back in the original row order.
    """

    def __init__(self, model: keras.Model):
        self.model = model
        self.outputs = int(model.output.shape[-1])
        sig = {
            name: tf.TensorSpec([None, None], tf.float32 if name == "ngram_weights" else tf.int32)
            for name in model.input
        }

        @tf.autograph.experimental.do_not_convert
        def infer(inputs):
            return tf.cast(model(inputs, training=False), tf.float32)

        self._call = tf.function(infer, input_signature=[sig], reduce_retracing=True)

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The logits of one padded batch."""
        return self._call(inputs).numpy()

    def logits(self, encoded, batch_size: int = 512, progress=None) -> np.ndarray:
        """Logits for every row of an :class:`~textclf.model.vocabulary.Encoded` set, in row order.

        ``progress(done, total)``, if given, is called after each batch with the rows scored so far.
        """
        from .vocabulary import epoch_batches

        n = len(encoded)
        out = np.zeros((n, self.outputs), dtype=np.float32)
        done = 0
        for index in epoch_batches(encoded.lengths, batch_size, None):
            out[index] = self(encoded.batch(index))
            done += len(index)
            if progress is not None:
                progress(done, n)
        return out


def cudnn_eligible(model: keras.Model) -> list[str]:
    """Reasons the recurrent layers would fall back from the cuDNN kernel; empty when all are eligible."""
    problems = []
    for layer in model.layers:
        inner = (
            [layer.forward_layer, layer.backward_layer] if isinstance(layer, keras.layers.Bidirectional) else [layer]
        )
        for rnn in inner:
            if not isinstance(rnn, (keras.layers.LSTM, keras.layers.GRU)):
                continue
            cell = rnn.cell
            if cell.activation is not keras.activations.tanh:
                problems.append(f"{rnn.name}: activation is not tanh")
            if cell.recurrent_activation is not keras.activations.sigmoid:
                problems.append(f"{rnn.name}: recurrent_activation is not sigmoid")
            if cell.recurrent_dropout:
                problems.append(f"{rnn.name}: recurrent_dropout is {cell.recurrent_dropout}")
            if rnn.unroll:
                problems.append(f"{rnn.name}: unroll is on")
            if not cell.use_bias:
                problems.append(f"{rnn.name}: use_bias is off")
            if isinstance(rnn, keras.layers.GRU) and not cell.reset_after:
                problems.append(f"{rnn.name}: reset_after is off")
    return problems
