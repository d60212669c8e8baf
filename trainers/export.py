"""The served model: serialized raw tf.Examples in, class probabilities out.

The Transform graph is embedded through TFT's Keras layer, so serving applies exactly the
normalisations and vocabularies learned over the training data. A second signature,
``transform_features``, lets TFMA compute the transformed label from raw eval examples; a
third, ``scores``, is ``serving_default`` without the class-name strings (for BulkInferrer).
"""
from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from tfxp_contract.dataset_spec import DatasetSpec
from tfxp_contract.names import CLASS_IDS, CLASSES, PROBABILITIES, SCORES_SIGNATURE, SERVING_SIGNATURE, TRANSFORM_SIGNATURE


def _model_inputs(model: keras.Model, transformed: dict) -> dict:
    return {name: transformed[name] for name in model.input_names}


def export_serving_model(model: keras.Model, tf_transform_output: tft.TFTransformOutput,
                         spec: DatasetSpec, export_dir: str) -> None:
    model.tft_layer = tf_transform_output.transform_features_layer()  # tracked, so it is saved
    raw_spec = tf_transform_output.raw_feature_spec()
    serving_spec = {k: v for k, v in raw_spec.items() if k != spec.label.column}
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

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(examples):
        return model.tft_layer(tf.io.parse_example(examples, raw_spec))

    model.save(export_dir, save_format="tf",
               signatures={SERVING_SIGNATURE: serve, SCORES_SIGNATURE: scores, TRANSFORM_SIGNATURE: transform_features})
