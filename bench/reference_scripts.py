"""The public reference scripts time_to_accuracy measures the pipeline against, on in-memory
arrays read from the same published files, with their own recipes:

  mnist  Keras' "Simple MNIST convnet" (keras.io/examples/vision/mnist_convnet): two 3x3
         convolutions (32, 64) with max pooling, dropout 0.5, softmax; Adam, batch 128,
         15 epochs, 10% of the training images held out for validation.
  imdb   Keras' "Text classification from scratch"
         (keras.io/examples/nlp/text_classification_from_scratch): lower case, <br /> and
         punctuation stripped, 20,000 words, a review's first 500; embedding 128, dropout 0.5,
         two 1-D convolutions (128 filters, width 7, stride 3), global max pooling, dense 128,
         dropout 0.5, sigmoid; Adam, batch 32, 3 epochs, 20% of the training reviews held out.

Keras 2 (tf_keras), as the pipeline's Trainer uses. Prints one JSON line: test accuracy on
the published test set, epochs, and the seconds spent reading the files and training.

  python -m bench.reference_scripts mnist --data-dir ../shared/datasets
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import string
import time
from typing import Optional

import numpy as np


def _idx(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_mnist(data_dir: str, limit: Optional[int]) -> tuple:
    """(x_train, y_train), (x_test, y_test) as keras.datasets.mnist.load_data() gives them."""
    folder = os.path.join(data_dir, "mnist")
    splits = []
    for prefix in ("train", "t10k"):
        images = _idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), 16).reshape(-1, 28, 28)
        labels = _idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), 8)
        splits.append((images[:limit], labels[:limit]))
    return tuple(splits)


def mnist_convnet(data_dir: str, limit: Optional[int], epochs: int) -> dict:
    import tf_keras as keras
    from tf_keras import layers

    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir, limit)
    x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    y_train, y_test = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_test, 10)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {"accuracy": float(accuracy), "train_examples": len(x_train), "test_examples": len(x_test)}


def load_imdb(data_dir: str, limit: Optional[int]) -> dict[str, tuple[list[str], list[int]]]:
    """{"train": (texts, labels), "test": ...} from the published archive, read once."""
    from components.ingest.workers.archive_records import read_archive

    splits = {"train": ([], []), "test": ([], [])}
    archive = os.path.join(data_dir, "imdb", "aclImdb_v1.tar.gz")
    for record in read_archive(archive, "text", ["neg", "pos"], (".txt",)):
        split = record.member.strip("/").split("/")[-3]
        if split in splits:
            splits[split][0].append(record.content.decode("utf-8"))
            splits[split][1].append(int(record.label == "pos"))
    if limit:  # the archive lists one class after the other: an equal share of each
        rng = np.random.default_rng(0)
        for split, (texts, labels) in splits.items():
            picks = rng.permutation(len(texts))[:limit]
            splits[split] = ([texts[i] for i in picks], [labels[i] for i in picks])
    return splits


def text_classification_from_scratch(data_dir: str, limit: Optional[int], epochs: int) -> dict:
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras import layers

    data = load_imdb(data_dir, limit)
    texts, labels = data["train"]
    order = np.random.default_rng(1337).permutation(len(texts))  # the example's shuffled 80/20 split
    cut = int(len(order) * 0.8)
    train = tf.data.Dataset.from_tensor_slices(([texts[i] for i in order[:cut]], [labels[i] for i in order[:cut]]))
    val = tf.data.Dataset.from_tensor_slices(([texts[i] for i in order[cut:]], [labels[i] for i in order[cut:]]))
    test = tf.data.Dataset.from_tensor_slices(data["test"])
    train, val, test = (d.batch(32) for d in (train, val, test))

    def custom_standardization(input_data):
        lowercase = tf.strings.lower(input_data)
        stripped_html = tf.strings.regex_replace(lowercase, "<br />", " ")
        return tf.strings.regex_replace(stripped_html, f"[{re.escape(string.punctuation)}]", "")

    vectorize_layer = layers.TextVectorization(standardize=custom_standardization, max_tokens=20000,
                                               output_mode="int", output_sequence_length=500)
    vectorize_layer.adapt(train.map(lambda x, y: x))

    def vectorize_text(text, label):
        return vectorize_layer(tf.expand_dims(text, -1)), label

    train, val, test = (d.map(vectorize_text).cache().prefetch(10) for d in (train, val, test))
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(20000, 128)(inputs)
    x = layers.Dropout(0.5)(x)
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    model = keras.Model(inputs, predictions)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(train, validation_data=val, epochs=epochs, verbose=2)
    _, accuracy = model.evaluate(test, verbose=0)
    return {"accuracy": float(accuracy), "train_examples": cut, "test_examples": len(data["test"][0])}


SCRIPTS = {"mnist": (mnist_convnet, 15), "imdb": (text_classification_from_scratch, 3)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(SCRIPTS))
    parser.add_argument("--data-dir", required=True, help="local mirror holding mnist/ and imdb/")
    parser.add_argument("--max-examples", type=int, default=None, help="a slice of each split (a smoke test)")
    parser.add_argument("--epochs", type=int, default=None, help="instead of the script's own (a smoke test)")
    args = parser.parse_args(argv)
    script, epochs = SCRIPTS[args.task]
    start = time.monotonic()
    result = script(args.data_dir, args.max_examples, args.epochs or epochs)
    print(json.dumps({**result, "epochs": args.epochs or epochs, "seconds": round(time.monotonic() - start, 1)}))


if __name__ == "__main__":
    main()
