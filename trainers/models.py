"""Keras model builders, one screen each. Keras 2 (tf_keras), as TFX 1.16's Transform and TFMA use.

A builder takes the transformed-input layout (feature -> (width, token count; 0 for numeric)),
the number of classes and the spec's hyperparameters, and returns a compiled model whose
output is class probabilities, or (0 classes: a regression) the predicted number.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Dict, Sequence, Tuple

import tensorflow as tf
import tf_keras as keras

from tfxp_contract.errors import ExplainedError
from trainers.generative import build_gan, build_vae
from trainers.lazy_adam import LazyAdam
from trainers.model_inputs import Layout, image_input, nb_inputs, tabular_inputs, token_input
from transforms.autograph import skip_autograph_for_libraries

OUTPUT_LAYER = "probabilities"  # every model's last layer; its input is the model's feature layer


class RegressionHead(keras.layers.Layer):
    """A regression's output: one number per example, ``dense(x) * scale + offset``, where
    ``scale`` and ``offset`` are the training labels' deviation and mean (``set_label_scale``,
    before fitting): the dense layer learns z-scores whatever the label's units."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1, dtype=self.dtype)

    def build(self, input_shape):
        self.scale = self.add_weight("scale", shape=(), initializer="ones", trainable=False, dtype=self.dtype)
        self.offset = self.add_weight("offset", shape=(), initializer="zeros", trainable=False, dtype=self.dtype)
        super().build(input_shape)

    def call(self, x):
        return tf.reshape(self.dense(x), [-1]) * self.scale + self.offset

    def set_label_scale(self, mean: float, deviation: float) -> None:
        self.offset.assign(mean)
        self.scale.assign(deviation if deviation > 0 else 1.0)


def class_probabilities(x, num_classes: int):
    """The output layer: class probabilities, or a ``RegressionHead`` for 0 classes; float32
    even under a bfloat16 mixed-precision policy, so the softmax and the loss stay exact."""
    if num_classes == 0:
        return RegressionHead(name=OUTPUT_LAYER, dtype="float32")(x)
    return keras.layers.Dense(num_classes, activation="softmax", name=OUTPUT_LAYER, dtype="float32")(x)


def is_regression(model: keras.Model) -> bool:
    return isinstance(model.get_layer(OUTPUT_LAYER), RegressionHead)


LR_SCHEDULES = ("constant", "cosine")


def learning_rate_for(learning_rate: float, lr_schedule: str = "constant", decay_steps: int = 0):
    """A constant rate, or cosine decay to 1% of it over ``decay_steps`` (the training job
    sets them to epochs x steps per epoch)."""
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule {lr_schedule!r} is not one of {LR_SCHEDULES}")
    if lr_schedule == "cosine" and decay_steps > 0:
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=decay_steps, alpha=0.01)
    return learning_rate


def compile_classifier(model: keras.Model, learning_rate, weight_decay: float = 0.0) -> keras.Model:
    """Adam (lazy for embeddings: ``trainers.lazy_adam``) and cross-entropy on integer labels
    with accuracy, or (a regression) mean squared error with RMSE and MAE: every model, and
    again when fine-tuning. ``weight_decay`` > 0: decoupled weight decay (AdamW: every weight
    shrinks by ``weight_decay`` x the learning rate at each step)."""
    optimizer = LazyAdam(learning_rate, weight_decay=weight_decay or None)
    if is_regression(model):
        model.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError(),
                      metrics=[keras.metrics.RootMeanSquaredError(name="rmse"),
                               keras.metrics.MeanAbsoluteError(name="mae")])
    else:
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def compiled_classifier(inputs, outputs, learning_rate: float, lr_schedule: str = "constant",
                        decay_steps: int = 0, weight_decay: float = 0.0) -> keras.Model:
    """Every builder's model, compiled with its learning rate (schedule)."""
    return compile_classifier(keras.Model(inputs, outputs), learning_rate_for(learning_rate, lr_schedule, decay_steps),
                              weight_decay)


def build_dense_classifier(layout: Layout, num_classes: int, hidden_units: Sequence[int] = (16,),
                           dropout: float = 0.2, l2: float = 1e-3, learning_rate: float = 1e-2,
                           lr_schedule: str = "constant", decay_steps: int = 0, embedding_dim: int = 16) -> keras.Model:
    """A small MLP over one-hot categoricals, z-scored numerics, missing indicators and the
    averaged word embeddings (``embedding_dim`` wide) of any text column."""
    inputs, x = tabular_inputs(layout, embedding_dim)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=keras.regularizers.l2(l2))(x)
        x = keras.layers.Dropout(dropout)(x)
    outputs = class_probabilities(x, num_classes)
    return compiled_classifier(inputs, outputs, learning_rate, lr_schedule, decay_steps)


def augmented(x, translate: float = 0.0, flip: bool = False, rotate: float = 0.0, zoom: float = 0.0,
              fill_mode: str = "constant"):
    """Random training-time changes to the images (no-ops when serving): horizontal flips,
    rotations by up to ``rotate`` of a full turn, zooms and shifts by up to those fractions."""
    if flip:
        x = keras.layers.RandomFlip("horizontal")(x)
    if rotate > 0:
        x = keras.layers.RandomRotation(rotate, fill_mode=fill_mode)(x)
    if zoom > 0:
        x = keras.layers.RandomZoom(zoom, fill_mode=fill_mode)(x)
    if translate > 0:
        x = keras.layers.RandomTranslation(translate, translate, fill_mode=fill_mode)(x)
    return x


@keras.saving.register_keras_serializable(package="tfxp")
class ViewsAveraged(keras.layers.Layer):
    """``inner``'s output for an image when training; when serving, the mean of its outputs for
    several views of the image (test-time augmentation: more looks at each image for that many
    times the serving compute): the image, its left-right mirror image if ``flip`` (for images
    whose mirror image is as likely, e.g. clothing), and the image moved by ``shift`` pixels
    up, down, left and right (the uncovered border black) if ``shift`` > 0."""

    def __init__(self, inner: keras.Model, flip: bool = False, shift: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.flip, self.shift = inner, flip, shift

    def get_config(self):
        """With ``inner`` serialized, so the whole model has a JSON config (Keras saves it beside
        the SavedModel, and warns when a layer has none)."""
        return {**super().get_config(), "inner": keras.saving.serialize_keras_object(self.inner),
                "flip": self.flip, "shift": self.shift}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(keras.saving.deserialize_keras_object(config.pop("inner")), **config)

    def views(self, x):
        views = [x]
        if self.flip:
            views.append(tf.reverse(x, axis=[2]))
        if self.shift > 0:
            s = self.shift
            height, width = tf.shape(x)[1], tf.shape(x)[2]
            padded = tf.pad(x, [[0, 0], [s, s], [s, s], [0, 0]])
            for dy, dx in ((s, 0), (-s, 0), (0, s), (0, -s)):
                views.append(padded[:, s - dy:s - dy + height, s - dx:s - dx + width, :])
        return views

    def call(self, x, training=None):
        if training:
            return self.inner(x, training=True)
        outputs = [self.inner(view, training=False) for view in self.views(x)]
        return tf.add_n(outputs) / len(outputs)


def conv_bn_relu(x, width: int, strides: int = 1):
    x = keras.layers.Conv2D(width, 3, strides=strides, padding="same", use_bias=False)(x)
    # momentum 0.9: the moving statistics settle within tens of steps, so a short run on a
    # slice evaluates sensibly as well (Keras' 0.99 needs hundreds).
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    return keras.layers.ReLU()(x)


def build_cnn(layout: Dict[str, Tuple[int, ...]], num_classes: int, filters: Sequence[int] = (32, 64),
              convs_per_block: int = 2, stem_stride: int = 1, head: str = "flatten", dense_units: int = 128,
              dropout: float = 0.4, learning_rate: float = 1e-3, lr_schedule: str = "constant",
              decay_steps: int = 0, translate: float = 0.0, flip: bool = False, rotate: float = 0.0,
              zoom: float = 0.0, fill_mode: str = "constant", test_time_flip: bool = False,
              test_time_shift: int = 0, weight_decay: float = 0.0) -> keras.Model:
    """Conv blocks (``convs_per_block`` 3x3 convolutions with batch norm, then max pooling),
    then a head: ``flatten`` + dense layer, or ``gap`` (global average pooling; the dense
    layer only if ``dense_units`` > 0). ``stem_stride`` 2 halves large inputs with a first
    strided convolution (a quarter of the compute). Augmentation: see ``augmented``;
    ``test_time_flip``, ``test_time_shift``: the served model averages the features of each
    image and of its mirror image, or of the image moved by that many pixels each way, before
    the output layer (``ViewsAveraged``). ``weight_decay``: see ``compile_classifier``."""
    if head not in ("flatten", "gap"):
        raise ValueError(f"head {head!r} is not 'flatten' or 'gap'")
    inputs = image_input(layout)
    x = augmented(inputs, translate, flip, rotate, zoom, fill_mode)
    if test_time_flip or test_time_shift > 0:
        image = keras.Input(x.shape[1:])
        features = _cnn_features(image, filters, convs_per_block, stem_stride, head, dense_units, dropout)
        x = ViewsAveraged(keras.Model(image, features, name="features"), test_time_flip, test_time_shift)(x)
    else:
        x = _cnn_features(x, filters, convs_per_block, stem_stride, head, dense_units, dropout)
    outputs = class_probabilities(x, num_classes)
    return compiled_classifier(inputs, outputs, learning_rate, lr_schedule, decay_steps, weight_decay)


def _cnn_features(x, filters: Sequence[int], convs_per_block: int, stem_stride: int, head: str, dense_units: int,
                  dropout: float):
    """The convolutional blocks and the head, up to the output layer."""
    if stem_stride > 1:
        x = conv_bn_relu(x, filters[0], strides=stem_stride)
    for width in filters:
        for _ in range(convs_per_block):
            x = conv_bn_relu(x, width)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x) if head == "flatten" else keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(dropout)(x)
    if dense_units > 0:
        x = keras.layers.Dense(dense_units, activation="relu")(x)
        x = keras.layers.Dropout(dropout)(x)
    return x


def build_image_mlp(layout: Dict[str, Tuple[int, ...]], num_classes: int, hidden_units: Sequence[int] = (256,),
                    dropout: float = 0.2, learning_rate: float = 1e-3, lr_schedule: str = "constant",
                    decay_steps: int = 0) -> keras.Model:
    """The course's Keras MLP: flattened pixels, dense layers with dropout (a baseline)."""
    inputs = image_input(layout)
    x = keras.layers.Flatten()(inputs)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
        x = keras.layers.Dropout(dropout)(x)
    return compiled_classifier(inputs, class_probabilities(x, num_classes), learning_rate, lr_schedule, decay_steps)


def build_text_classifier(layout: Dict[str, Tuple[int, int]], num_classes: int, embedding_dim: int = 64,
                          filters: int = 128, kernel_size: int = 5, dropout: float = 0.4,
                          learning_rate: float = 1e-3, lr_schedule: str = "constant",
                          decay_steps: int = 0) -> keras.Model:
    """Token ids -> embeddings -> a 1-D convolution over n-grams -> max over the text."""
    inputs, ids = token_input(layout)
    x = keras.layers.Embedding(ids, embedding_dim)(inputs)
    x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Conv1D(filters, kernel_size, activation="relu")(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    x = keras.layers.Dropout(dropout)(x)
    return compiled_classifier(inputs, class_probabilities(x, num_classes), learning_rate, lr_schedule, decay_steps)


def build_text_bag(layout: Dict[str, Tuple[int, int]], num_classes: int, embedding_dim: int = 32,
                   dropout: float = 0.3, learning_rate: float = 1e-3, lr_schedule: str = "constant",
                   decay_steps: int = 0) -> keras.Model:
    """fastText-style: the average of token (and n-gram) embeddings, then the classifier.
    Padding (id 0) is masked out of the average."""
    inputs, ids = token_input(layout)
    x = keras.layers.Embedding(ids, embedding_dim, mask_zero=True)(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(dropout)(x)
    return compiled_classifier(inputs, class_probabilities(x, num_classes), learning_rate, lr_schedule, decay_steps)


def build_text_nb(layout: Dict[str, Tuple], num_classes: int, learning_rate: float = 3e-3,
                  lr_schedule: str = "constant", decay_steps: int = 0) -> keras.Model:
    """NBSVM-style (Wang & Manning 2012): a linear classifier of a text's distinct tokens, each
    scaled by its naive-Bayes log-count ratio for each class (learned by tf.Transform,
    ``transforms.text.nb_features``): a class's score (two classes: the second's) is the sum
    over the text's tokens of a weight (from zero) times the token's ratio for that class."""
    inputs, (ids_input, ratios_input, ids) = nb_inputs(layout)
    weights = keras.layers.Embedding(ids, ratios_input.shape[-1], embeddings_initializer="zeros")(ids_input)
    scores = tf.reduce_sum(keras.layers.Multiply()([weights, ratios_input]), axis=1)
    return compiled_classifier(inputs, class_probabilities(scores, num_classes),
                               learning_rate, lr_schedule, decay_steps)


def build_text_lstm(layout: Dict[str, Tuple[int, int]], num_classes: int, embedding_dim: int = 128,
                    units: int = 128, dropout: float = 0.2, learning_rate: float = 1e-3,
                    lr_schedule: str = "constant", decay_steps: int = 0) -> keras.Model:
    """The course's IMDB model: token embeddings read by an LSTM, its last state classified.
    Padding (id 0) is masked, so the state is the one after the review's last token."""
    inputs, ids = token_input(layout)
    x = keras.layers.Embedding(ids, embedding_dim, mask_zero=True)(inputs)
    x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.LSTM(units)(x)
    x = keras.layers.Dropout(dropout)(x)
    return compiled_classifier(inputs, class_probabilities(x, num_classes), learning_rate, lr_schedule, decay_steps)


MOBILENET_V2_WEIGHTS = "imagenet"  # Keras downloads these from its canonical URL and caches them


# Transfer learning's second phase (see FineTuning): the base's top layers, at a low rate.
FINE_TUNE_LAYERS = 30
FINE_TUNE_LEARNING_RATE = 1e-5


@dataclass(frozen=True)
class FineTuning:
    """After the frozen-base epochs: ``epochs`` more with the base's top ``layers`` trainable."""
    epochs: int = 0
    layers: int = FINE_TUNE_LAYERS
    learning_rate: float = FINE_TUNE_LEARNING_RATE

    @classmethod
    def from_hyperparameters(cls, hyperparameters: dict) -> "FineTuning":
        return cls(epochs=int(hyperparameters.get("fine_tune_epochs", 0)),
                   layers=int(hyperparameters.get("fine_tune_layers", FINE_TUNE_LAYERS)),
                   learning_rate=float(hyperparameters.get("fine_tune_learning_rate", FINE_TUNE_LEARNING_RATE)))


class PretrainedWeightsError(ExplainedError, ValueError):
    """Pretrained weights could not be loaded; the message says where they were looked for."""


def mobilenet_v2_base(shape: Tuple[int, int, int], weights: str, alpha: float) -> keras.Model:
    """MobileNetV2 without its classifier (include_top=False). ``weights``: 'imagenet'
    (downloaded once to ~/.keras/models), a local .h5 weights file, or 'random'."""
    source = None if weights == "random" else weights
    try:
        return keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=source, alpha=alpha)
    except Exception as err:  # offline downloads and bad files raise many types
        raise PretrainedWeightsError(
            f"MobileNetV2 weights {weights!r} could not be loaded ({type(err).__name__}: {str(err)[:200]}); "
            "without network access give a local weights file (--set weights=/path/to/"
            "mobilenet_v2_weights_..._no_top.h5) or weights=random") from None


def build_mobilenet_v2(layout: Dict[str, Tuple[int, ...]], num_classes: int, weights: str = MOBILENET_V2_WEIGHTS,
                       alpha: float = 1.0, dropout: float = 0.2, learning_rate: float = 1e-3,
                       lr_schedule: str = "constant", decay_steps: int = 0, fine_tune_epochs: int = 0,
                       fine_tune_layers: int = FINE_TUNE_LAYERS,
                       fine_tune_learning_rate: float = FINE_TUNE_LEARNING_RATE) -> keras.Model:
    """Transfer learning: a frozen MobileNetV2 base, global pooling and a new classifier.
    With ``fine_tune_epochs`` > 0 the training job then unfreezes the base's top
    ``fine_tune_layers`` and trains on at ``fine_tune_learning_rate`` (see ``unfreeze``)."""
    inputs = image_input(layout)
    x = keras.layers.Rescaling(2.0, offset=-1.0)(inputs)  # the transform's [0, 1] -> MobileNet's [-1, 1]
    base = mobilenet_v2_base(tuple(inputs.shape[1:]), weights, alpha)
    base.trainable = False
    x = base(x, training=False)  # batch norm statistics stay the pretrained ones
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(dropout)(x)
    return compiled_classifier(inputs, class_probabilities(x, num_classes), learning_rate, lr_schedule, decay_steps)


def unfreeze(model: keras.Model, layers: int, learning_rate: float) -> keras.Model:
    """Fine-tuning: the base's top ``layers`` become trainable; recompiled at a low rate.
    Call inside the strategy's scope."""
    [base] = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    base.trainable = True
    for layer in base.layers[:-layers] if layers else base.layers:
        layer.trainable = False
    return compile_classifier(model, learning_rate)


BUILDERS: Dict[str, Callable[..., keras.Model]] = {
    "mobilenet_v2": build_mobilenet_v2,
    "text_cnn": build_text_classifier,
    "text_bag": build_text_bag,
    "text_nb": build_text_nb,
    "text_lstm": build_text_lstm,
    "dense": build_dense_classifier,
    "cnn": build_cnn,
    "mlp": build_image_mlp,
    "vae": build_vae,
    "gan": build_gan,
}


def hyperparameter_names(family: str) -> list[str]:
    """What a model family accepts (its builder's arguments, plus the fit loop's)."""
    names = [p for p in inspect.signature(BUILDERS[family]).parameters if p not in ("layout", "num_classes")]
    return names + ["epochs", "batch_size"]


def build_model(family: str, layout: Layout, num_classes: int, hyperparameters: dict) -> keras.Model:
    skip_autograph_for_libraries()
    if family not in BUILDERS:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(BUILDERS)}")
    try:
        return BUILDERS[family](layout, num_classes, **hyperparameters)
    except TypeError as err:
        if "unexpected keyword argument" not in str(err):
            raise
        raise ValueError(f"model family {family!r}: {str(err).split('() ')[-1]}; its hyperparameters are "
                         f"{hyperparameter_names(family)}") from None
