"""Adam with lazy (sparse) updates for embedding tables.

Keras 3's ``Adam`` turns the sparse gradient of an embedding lookup into dense updates of the whole table
and of its two moment tables at every step. For the n-gram branch (up to 500,000 rows times one column per
class) that is most of the step time (bench/NOTES.md has the measurement). TF Addons' ``LazyAdam`` did the
same for Keras 2, but TF Addons has reached its end of life and does not support Keras 3.

For a sparse gradient only the rows a batch touches are updated: their moments are decayed and the
variable moves by the usual bias-corrected Adam step. Rows a batch does not touch keep their moments
unchanged (the "lazy" part). Dense gradients take Keras's own Adam update unchanged. The updates use
``scatter_update``/``scatter_sub`` on the variables, which also work under a ``tf.distribute`` strategy.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class LazyAdam(keras.optimizers.Adam):
    """Adam whose sparse (``tf.IndexedSlices``) updates touch only the rows in the batch.

    Args:
        learning_rate: as for Adam.
        rates: ``{path part: learning rate}`` for the variables whose path contains the part, e.g.
            ``{"ngram_embedding/": 0.1}``: the linear n-gram branch needs a far larger step than the RNN
            to converge in the few epochs the RNN takes (bench/NOTES.md).
    """

    def __init__(self, learning_rate: float = 0.001, rates: dict[str, float] | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self._factors = {part: rate / learning_rate for part, rate in (rates or {}).items()}

    def _rate_factor(self, variable) -> float:
        name = getattr(variable, "path", None) or variable.name
        return next((f for part, f in self._factors.items() if part in name), 1.0)

    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices) or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate * self._rate_factor(variable))
        dtype = variable.dtype
        lr = tf.cast(learning_rate, dtype) * self._rate_factor(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        alpha = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
        rows, position = tf.unique(gradient.indices)
        grad = tf.math.unsorted_segment_sum(tf.cast(gradient.values, dtype), position, tf.shape(rows)[0])
        index = self._get_variable_index(variable)
        m, v = _tf(self._momentums[index]), _tf(self._velocities[index])
        new_m = tf.gather(m, rows) * beta_1 + (1 - beta_1) * grad
        new_v = tf.gather(v, rows) * beta_2 + (1 - beta_2) * tf.square(grad)
        m.scatter_update(tf.IndexedSlices(new_m, rows))
        v.scatter_update(tf.IndexedSlices(new_v, rows))
        _tf(variable).scatter_sub(tf.IndexedSlices(alpha * new_m / (tf.sqrt(new_v) + self.epsilon), rows))


def _tf(variable):
    """The underlying ``tf.Variable`` of a Keras variable."""
    return variable.value if isinstance(variable, keras.Variable) else variable
