"""Generative model families: the course's variational autoencoder and GAN (Keras 2, tf_keras).

Both are Keras models with their own ``train_step``, so ``model.fit`` trains them under any
``tf.distribute`` strategy like a classifier: the input is the transformed image batch (the
label is ignored), losses are averaged over the *global* batch (``tf.nn.compute_average_loss``)
so gradients summed across replicas are the single-machine ones.

The VAE's loss is the course's: per image, binary cross-entropy summed over every pixel
(reconstruction) plus the KL divergence of the encoder's Gaussian from N(0, I), summed over the
latent dimensions; ``negative_elbo`` = reconstruction + KL, reported per image.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import tensorflow as tf
import tf_keras as keras

from trainers.model_inputs import image_input


def vae_losses(images: tf.Tensor, reconstructions: tf.Tensor, z_mean: tf.Tensor, z_log_var: tf.Tensor
               ) -> Tuple[tf.Tensor, tf.Tensor]:
    """Per image: (reconstruction, KL). Pixels in [0, 1]; reconstruction is the sum over pixels
    of binary cross-entropy, KL = -1/2 sum(1 + log var - mean^2 - var) over the latent dimensions."""
    eps = keras.backend.epsilon()
    reconstructions = tf.clip_by_value(reconstructions, eps, 1.0 - eps)
    bce = -(images * tf.math.log(reconstructions) + (1.0 - images) * tf.math.log(1.0 - reconstructions))
    reconstruction = tf.reduce_sum(tf.reshape(bce, [tf.shape(bce)[0], -1]), axis=1)
    kl = -0.5 * tf.reduce_sum(1.0 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var), axis=1)
    return reconstruction, kl


def _images(data, image_key: str) -> tf.Tensor:
    features = data[0] if isinstance(data, tuple) else data
    return features[image_key] if isinstance(features, dict) else features


def _conv_stack(x, filters: Sequence[int], transpose: bool = False, activation: str = "relu"):
    layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    for width in filters:
        x = layer(width, 3, strides=2, padding="same", activation=activation)(x)
    return x


class VAE(keras.Model):
    """Encoder -> (z mean, z log variance) -> a sample z -> decoder -> pixel probabilities."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, image_key: str, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.image_key = encoder, decoder, image_key
        self.latent_dim = int(decoder.inputs[0].shape[-1])
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "reconstruction", "kl")}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def count_params(self) -> int:
        return self.encoder.count_params() + self.decoder.count_params()

    def call(self, images, training=False):
        z_mean, _ = self.encoder(images, training=training)
        return self.decoder(z_mean, training=training)

    def losses_of(self, images, training: bool):
        z_mean, z_log_var = self.encoder(images, training=training)
        z = z_mean + tf.exp(0.5 * z_log_var) * tf.random.normal(tf.shape(z_mean))
        return vae_losses(images, self.decoder(z, training=training), z_mean, z_log_var)

    def _step(self, data, training: bool):
        images = _images(data, self.image_key)
        with tf.GradientTape() as tape:
            reconstruction, kl = self.losses_of(images, training)
            loss = tf.nn.compute_average_loss(reconstruction + kl)
        if training:
            variables = self.encoder.trainable_variables + self.decoder.trainable_variables
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for name, values in (("loss", reconstruction + kl), ("reconstruction", reconstruction), ("kl", kl)):
            self.trackers[name].update_state(values)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        return self._step(data, training=True)

    def test_step(self, data):
        return self._step(data, training=False)


def build_vae(layout: Dict[str, Tuple[int, ...]], num_classes: int, latent_dim: int = 2,
              filters: Sequence[int] = (32, 64), dense_units: int = 16, learning_rate: float = 1e-3) -> VAE:
    """The course's convolutional VAE: strided 3x3 convolutions to a dense layer and the latent
    mean and log variance; the decoder mirrors them with transposed convolutions and ends in a
    sigmoid (one probability per pixel). Height and width must divide by 2 ** len(filters)."""
    inputs = image_input(layout)
    height, width, channels = inputs.shape[1:]
    scale = 2 ** len(filters)
    if height % scale or width % scale:
        raise ValueError(f"image {height}x{width} does not divide by 2**{len(filters)} (one halving per filter)")
    x = keras.layers.Flatten()(_conv_stack(inputs, filters))
    x = keras.layers.Dense(dense_units, activation="relu")(x)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    encoder = keras.Model(inputs, [z_mean, z_log_var], name="encoder")

    latent = keras.Input(shape=(latent_dim,), name="z")
    x = keras.layers.Dense((height // scale) * (width // scale) * filters[-1], activation="relu")(latent)
    x = keras.layers.Reshape((height // scale, width // scale, filters[-1]))(x)
    x = _conv_stack(x, list(reversed(filters)), transpose=True)
    outputs = keras.layers.Conv2DTranspose(channels, 3, padding="same", activation="sigmoid", dtype="float32")(x)
    decoder = keras.Model(latent, outputs, name="decoder")

    [image_key] = layout
    model = VAE(encoder, decoder, image_key, name="vae")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return model


class GAN(keras.Model):
    """Generator (noise -> image) and discriminator (image -> real or not), trained in
    alternation: ``discriminator_steps`` updates of D on real and generated batches, then
    ``generator_steps`` updates of G to make D call its images real."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, image_key: str,
                 discriminator_steps: int = 1, generator_steps: int = 1, label_smoothing: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.image_key = generator, discriminator, image_key
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.discriminator_steps, self.generator_steps = discriminator_steps, generator_steps
        self.label_smoothing = label_smoothing
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss")}

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    def count_params(self) -> int:
        return self.generator.count_params() + self.discriminator.count_params()

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def _noise(self, images):
        return tf.random.normal([tf.shape(images)[0], self.latent_dim])

    def _d_loss(self, images, training: bool):
        real = self.discriminator(images, training=training)
        fake = self.discriminator(self.generator(self._noise(images), training=training), training=training)
        per_image = (keras.losses.binary_crossentropy(tf.fill(tf.shape(real), 1.0 - self.label_smoothing), real,
                                                      from_logits=True)
                     + keras.losses.binary_crossentropy(tf.zeros_like(fake), fake, from_logits=True))
        return per_image

    def _g_loss(self, images, training: bool):
        fake = self.discriminator(self.generator(self._noise(images), training=training), training=training)
        return keras.losses.binary_crossentropy(tf.ones_like(fake), fake, from_logits=True)

    def train_step(self, data):
        images = _images(data, self.image_key)
        for _ in range(self.discriminator_steps):
            with tf.GradientTape() as tape:
                d_per_image = self._d_loss(images, True)
                d_loss = tf.nn.compute_average_loss(d_per_image)
            variables = self.discriminator.trainable_variables
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))
        for _ in range(self.generator_steps):
            with tf.GradientTape() as tape:
                g_per_image = self._g_loss(images, True)
                g_loss = tf.nn.compute_average_loss(g_per_image)
            variables = self.generator.trainable_variables
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        self.trackers["d_loss"].update_state(d_per_image)
        self.trackers["g_loss"].update_state(g_per_image)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def test_step(self, data):
        images = _images(data, self.image_key)
        self.trackers["d_loss"].update_state(self._d_loss(images, False))
        self.trackers["g_loss"].update_state(self._g_loss(images, False))
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def build_gan(layout: Dict[str, Tuple[int, ...]], num_classes: int, latent_dim: int = 64,
              filters: Sequence[int] = (64, 128), discriminator_steps: int = 1, generator_steps: int = 1,
              discriminator_learning_rate: float = 2e-4, generator_learning_rate: float = 2e-4,
              label_smoothing: float = 0.1, dropout: float = 0.3) -> GAN:
    """A DCGAN: the generator projects noise to a small feature map and upsamples it with
    transposed convolutions (batch norm, ReLU) to a sigmoid image; the discriminator is strided
    convolutions with LeakyReLU and dropout to one logit. Adam with beta_1 0.5 and one-sided
    label smoothing keep the two in balance (the course's plain GAN collapses to one garment)."""
    inputs = image_input(layout)
    height, width, channels = inputs.shape[1:]
    scale = 2 ** len(filters)
    if height % scale or width % scale:
        raise ValueError(f"image {height}x{width} does not divide by 2**{len(filters)} (one halving per filter)")
    x = inputs
    for width_ in filters:
        x = keras.layers.Conv2D(width_, 4, strides=2, padding="same")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        x = keras.layers.Dropout(dropout)(x)
    logit = keras.layers.Dense(1, dtype="float32")(keras.layers.Flatten()(x))
    discriminator = keras.Model(inputs, logit, name="discriminator")

    latent = keras.Input(shape=(latent_dim,), name="z")
    x = keras.layers.Dense((height // scale) * (width // scale) * filters[-1], use_bias=False)(latent)
    x = keras.layers.Reshape((height // scale, width // scale, filters[-1]))(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    for width_ in reversed(filters[:-1]):
        x = keras.layers.Conv2DTranspose(width_, 4, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    image = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="sigmoid",
                                         dtype="float32")(x)
    generator = keras.Model(latent, image, name="generator")

    [image_key] = layout
    model = GAN(generator, discriminator, image_key, discriminator_steps, generator_steps, label_smoothing, name="gan")
    model.compile(d_optimizer=keras.optimizers.Adam(discriminator_learning_rate, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(generator_learning_rate, beta_1=0.5))
    return model


def generate(model: keras.Model, count: int, seed: int) -> tf.Tensor:
    """``count`` images from the model's decoder or generator, [count, h, w, c] in [0, 1],
    the same for the same seed."""
    net = model.decoder if isinstance(model, VAE) else model.generator
    z = tf.random.stateless_normal([count, model.latent_dim], seed=[seed, 0])
    return net(z, training=False)
