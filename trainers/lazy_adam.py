"""Adam whose sparse updates touch only the rows a batch used (TF Addons' LazyAdam, PyTorch's
SparseAdam), for Keras 2 (tf_keras).

An embedding's gradient is sparse (``tf.IndexedSlices``: the rows of the batch's tokens), but
Keras' Adam decays the moments of every row at every step and rewrites the whole table: on
IMDB's 100,002 x 32 embedding that was half of each training step. Here the moments and the
weights of the batch's rows are updated as Adam updates them; the other rows keep theirs until
their tokens next appear. Dense gradients take Keras' Adam unchanged.
"""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


class LazyAdam(keras.optimizers.Adam):
    def update_step(self, gradient, variable):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable)
        if self.amsgrad:
            raise ValueError("LazyAdam does not implement amsgrad")
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        alpha = tf.cast(self.learning_rate, dtype) * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
        index = self._index_dict[self._var_key(variable)]
        m, v = self._momentums[index], self._velocities[index]
        rows = gradient.indices  # unique: the optimizer sums a row's repeated slices first
        m_rows = beta_1 * tf.gather(m, rows) + (1 - beta_1) * gradient.values
        v_rows = beta_2 * tf.gather(v, rows) + (1 - beta_2) * tf.square(gradient.values)
        m.scatter_update(tf.IndexedSlices(m_rows, rows))
        v.scatter_update(tf.IndexedSlices(v_rows, rows))
        epsilon = self.epsilon * tf.sqrt(1 - tf.pow(beta_2, step)) if self.adaptive_epsilon else self.epsilon
        variable.scatter_sub(tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + epsilon), rows))
