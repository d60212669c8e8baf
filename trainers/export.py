"""The served model: serialized raw tf.Examples in, class probabilities out, or a regression's
``predictions`` (a generative model's: see ``export_generative_model``).

The Transform graph is embedded through TFT's Keras layer, so serving applies exactly the
normalisations and vocabularies learned over the training data. A second signature,
``transform_features``, lets TFMA compute the transformed label from raw eval examples; a
third, ``scores``, is ``serving_default`` without the class-name strings (for BulkInferrer);
an image classifier's ``image_features`` gives a generative model's evaluation its feature space.
"""
from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from tfxp_contract.dataset_spec import DatasetSpec
from tfxp_contract.names import (
    CLASS_IDS,
    CLASSES,
    DECODE_SIGNATURE,
    ELBO_SIGNATURE,
    ENCODE_SIGNATURE,
    GENERATE_SIGNATURE,
    IMAGE_FEATURES_SIGNATURE,
    PREDICTIONS,
    PROBABILITIES,
    SCORES_SIGNATURE,
    SERVING_SIGNATURE,
    TRANSFORM_SIGNATURE,
)
from trainers.generative import VAE, vae_losses
from trainers.models import OUTPUT_LAYER


def _model_inputs(model: keras.Model, transformed: dict) -> dict:
    return {name: transformed[name] for name in model.input_names}


def export_serving_model(model: keras.Model, tf_transform_output: tft.TFTransformOutput,
                         spec: DatasetSpec, export_dir: str) -> None:
    model.tft_layer = tf_transform_output.transform_features_layer()  # tracked, so it is saved
    raw_spec = tf_transform_output.raw_feature_spec()
    serving_spec = {k: v for k, v in raw_spec.items() if k != spec.label.column}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(examples):
        return model.tft_layer(tf.io.parse_example(examples, raw_spec))

    if spec.is_regression:
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def predict(examples):
            transformed = model.tft_layer(tf.io.parse_example(examples, serving_spec))
            return {PREDICTIONS: model(_model_inputs(model, transformed))}

        model.save(export_dir, save_format="tf", include_optimizer=False, signatures={
            SERVING_SIGNATURE: predict, SCORES_SIGNATURE: predict, TRANSFORM_SIGNATURE: transform_features})
        return
    class_names = tf.constant(list(spec.label.names))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(examples):
        transformed = model.tft_layer(tf.io.parse_example(examples, serving_spec))
        probabilities = model(_model_inputs(model, transformed))
        class_ids = tf.argmax(probabilities, axis=1)
        return {PROBABILITIES: probabilities, CLASS_IDS: class_ids, CLASSES: tf.gather(class_names, class_ids)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def scores(examples):
        outputs = serve(examples)
        return {PROBABILITIES: outputs[PROBABILITIES], CLASS_IDS: outputs[CLASS_IDS]}

    signatures = {SERVING_SIGNATURE: serve, SCORES_SIGNATURE: scores, TRANSFORM_SIGNATURE: transform_features}
    if spec.data_family == "image":
        [image_key] = [c.name for c in spec.feature_columns]
        output = model.get_layer(OUTPUT_LAYER)
        model.feature_model = keras.Model(model.inputs, [output.input, model.output])  # tracked, so it is saved

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
        def image_features(images):
            transformed = model.tft_layer({image_key: _as_raw_feature(images, raw_spec[image_key])})
            features, probabilities = model.feature_model(_model_inputs(model, transformed))
            return {"features": tf.cast(features, tf.float32), PROBABILITIES: probabilities, "class_names": class_names}

        signatures[IMAGE_FEATURES_SIGNATURE] = image_features
    # Serving needs no optimizer: without it the model is smaller, and loads (TFMA loads it as a
    # Keras model) without our optimizer class.
    model.save(export_dir, save_format="tf", signatures=signatures, include_optimizer=False)


def _as_raw_feature(values: tf.Tensor, feature_spec) -> tf.Tensor:
    """[batch] values shaped as ``tf.io.parse_example`` gives them for ``feature_spec``."""
    if isinstance(feature_spec, tf.io.VarLenFeature):
        return tf.sparse.from_dense(tf.reshape(values, [-1, 1]))
    return tf.reshape(values, [-1, *feature_spec.shape])


def _png(images: tf.Tensor) -> tf.Tensor:
    pixels = tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)
    return tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)


def export_generative_model(model: keras.Model, tf_transform_output: tft.TFTransformOutput, spec: DatasetSpec,
                            export_dir: str) -> None:
    """A VAE's or GAN's served model (``tf.saved_model.load``):
    ``generate`` (= ``serving_default``): ``count`` and ``seed`` -> ``images`` [count, h, w, c]
    in [0, 1] and ``png`` (encoded), the same for the same seed; for a VAE also ``encode``:
    raw image bytes -> ``latent_mean``; ``decode``: ``latent`` -> ``images``, ``png``; and
    ``negative_elbo``: serialized raw tf.Examples -> the loss per image (reconstruction + KL,
    one sample of z drawn with a fixed seed), which the evaluation reads; and for both,
    ``transform_features`` (raw tf.Examples -> the pixels and label index the model trained on)."""
    served = tf.Module()
    served.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    [image_key] = [c.name for c in spec.feature_columns]
    is_vae = isinstance(model, VAE)
    served.net = model.decoder if is_vae else model.generator
    latent_dim = model.latent_dim

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="count"), tf.TensorSpec([], tf.int32, name="seed")])
    def generate(count, seed):
        z = tf.random.stateless_normal(tf.stack([count, latent_dim]), seed=tf.stack([seed, 0]))
        images = served.net(z, training=False)
        return {"images": images, "png": _png(images)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(examples):
        return served.tft_layer(tf.io.parse_example(examples, raw_spec))

    signatures = {SERVING_SIGNATURE: generate, GENERATE_SIGNATURE: generate, TRANSFORM_SIGNATURE: transform_features}
    if is_vae:
        served.encoder = model.encoder

        def pixels(raw: dict) -> tf.Tensor:
            return served.tft_layer(raw)[image_key]

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
        def encode(images):
            z_mean, _ = served.encoder(pixels({image_key: _as_raw_feature(images, raw_spec[image_key])}),
                                       training=False)
            return {"latent_mean": z_mean}

        @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="latent")])
        def decode(latent):
            images = served.net(latent, training=False)
            return {"images": images, "png": _png(images)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def negative_elbo(examples):
            images = pixels(tf.io.parse_example(examples, {image_key: raw_spec[image_key]}))
            z_mean, z_log_var = served.encoder(images, training=False)
            noise = tf.random.stateless_normal(tf.shape(z_mean), seed=[1, 2])
            z = z_mean + tf.exp(0.5 * z_log_var) * noise
            reconstruction, kl = vae_losses(images, served.net(z, training=False), z_mean, z_log_var)
            return {"negative_elbo": reconstruction + kl, "reconstruction": reconstruction, "kl": kl}

        signatures.update({ENCODE_SIGNATURE: encode, DECODE_SIGNATURE: decode, ELBO_SIGNATURE: negative_elbo})
    tf.saved_model.save(served, export_dir, signatures=signatures)
