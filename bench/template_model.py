"""The model code of ``bench.template_pipeline``, written the way TFX's penguin template writes
its ``models/`` (a preprocessing_fn, a run_fn reading through ``fn_args.data_accessor``, a
serving signature over the Transform layer), for a table of numeric and categorical columns.

The network is the spec's ``dense`` model (one-hot categoricals and z-scored numerics, hidden
ReLU layers with L2 and dropout, softmax), so the benchmark compares pipelines, not models.
Columns, label and hyperparameters come from ``custom_config`` (Transform and Trainer pass it).
"""
from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

LABEL = "label_xf"


def _dense(x, default):
    """A [batch] dense tensor from a CSV column (sparse when the schema lets it be missing)."""
    if isinstance(x, tf.sparse.SparseTensor):
        x = tf.sparse.to_dense(tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]), default)
    return tf.reshape(x, [-1])


def preprocessing_fn(inputs, custom_config):
    outputs = {}
    for name in custom_config["numeric"]:
        outputs[name] = tft.scale_to_z_score(tf.cast(_dense(inputs[name], tf.constant(0, inputs[name].dtype)),
                                                     tf.float32))
    for name in custom_config["categorical"]:
        text = tf.strings.as_string(inputs[name]) if inputs[name].dtype != tf.string else inputs[name]
        outputs[name] = tft.compute_and_apply_vocabulary(_dense(text, ""), num_oov_buckets=1, vocab_filename=name)
    label = inputs[custom_config["label"]]
    label = tf.strings.as_string(label) if label.dtype != tf.string else label
    matches = tf.equal(tf.expand_dims(_dense(label, ""), 1), tf.constant(custom_config["label_values"]))
    outputs[LABEL] = tf.argmax(tf.cast(matches, tf.int64), axis=1)
    return outputs


def _input_fn(file_pattern, data_accessor, tf_transform_output, batch_size):
    """The template's: batches repeated without end (the steps decide how long training is)."""
    return data_accessor.tf_dataset_factory(
        file_pattern, tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=LABEL),
        tf_transform_output.transformed_metadata.schema)


def _count(files) -> int:
    return sum(1 for _ in tf.data.TFRecordDataset(tf.io.gfile.glob(files), compression_type="GZIP"))


def _build_model(config, tf_transform_output):
    hp = config["hyperparameters"]
    inputs, parts = [], []
    for name in config["numeric"]:
        x = keras.Input(shape=(1,), name=name)
        inputs.append(x)
        parts.append(x)
    for name in config["categorical"]:
        x = keras.Input(shape=(1,), name=name, dtype=tf.int64)
        inputs.append(x)
        size = tf_transform_output.vocabulary_size_by_name(name) + 1
        parts.append(keras.layers.CategoryEncoding(size, output_mode="one_hot")(x))
    x = keras.layers.concatenate(parts)
    for units in hp["hidden_units"]:
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=keras.regularizers.l2(hp["l2"]))(x)
        x = keras.layers.Dropout(hp["dropout"])(x)
    outputs = keras.layers.Dense(len(config["label_values"]), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(hp["learning_rate"]), keras.losses.SparseCategoricalCrossentropy(),
                  [keras.metrics.SparseCategoricalAccuracy()])
    return model


def run_fn(fn_args: tfx.components.FnArgs):
    config = fn_args.custom_config
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    batch_size = config["hyperparameters"]["batch_size"]
    train = _input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output, batch_size)
    evaluate = _input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output, batch_size)
    model = _build_model(config, tf_transform_output)
    # As the template trains: one fit over a number of steps, validated at the end; here the
    # steps of the spec's epochs over the training rows, so both pipelines train alike.
    steps = config["hyperparameters"]["epochs"] * -(-_count(fn_args.train_files) // batch_size)
    model.fit(train, steps_per_epoch=steps, validation_data=evaluate,
              validation_steps=-(-_count(fn_args.eval_files) // batch_size), verbose=2)

    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    serving_spec = {k: v for k, v in raw_spec.items() if k != config["label"]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(examples):
        transformed = model.tft_layer(tf.io.parse_example(examples, serving_spec))
        return {"outputs": model({name: transformed[name] for name in model.input_names})}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(examples):
        return model.tft_layer(tf.io.parse_example(examples, raw_spec))

    model.save(fn_args.serving_model_dir, save_format="tf",
               signatures={"serving_default": serve, "transform_features": transform_features})
