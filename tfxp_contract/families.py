"""The tables a spec is checked against when it loads: which data family each raw format
can hold, and which data family each model family takes.

A data family is what a spec's feature columns are: ``tabular`` (numeric and categorical
columns), ``image`` (one encoded image) or ``text`` (one text). It picks the
preprocessing_fn (``transforms.MODULES``); the format picks the ExampleGen
(``components.ingest.formats.EXAMPLE_GENS``); the model family picks the builder
(``trainers.models.BUILDERS``, generative ones in ``trainers.generative``). Those tables are keyed like these (a test keeps them equal),
so a new format or model family is one row here and one beside its code.
"""
from __future__ import annotations

DATA_FAMILIES = ("tabular", "image", "text")

# Raw format -> the data families its ExampleGen produces.
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": ("tabular", "text"),  # delimited text rows (UCI's files, a user's table; reviews in a column)
    "parquet": ("tabular", "text"),  # a user's table as Parquet, read by column name
    "idx": ("image",),  # IDX image/label pairs (MNIST, Fashion-MNIST)
    "archive": ("image", "text"),  # class folders inside a tar archive (TF flowers, IMDB)
}

# Model family -> the data family its builder takes.
MODEL_FAMILIES: dict[str, str] = {
    "dense": "tabular",
    "cnn": "image",
    "mlp": "image",
    "mobilenet_v2": "image",
    "text_cnn": "text",
    "text_bag": "text",
    "text_nb": "text",  # NBSVM-style: distinct tokens scaled by naive-Bayes ratios, a linear classifier
    "text_lstm": "text",
    "vae": "image",  # generative (task: generative): the course's variational autoencoder
    "gan": "image",  # generative: a DCGAN
}

# What a spec's model is for: a classifier of the label, a regression of a numeric label, or a
# model of the images themselves.
TASKS = ("classification", "regression", "generative")
GENERATIVE_FAMILIES = ("vae", "gan")


def data_family(column_types: set[str]) -> str:
    """The data family of a spec whose feature columns have these types: text alone is text;
    text beside numeric or categorical columns is a table (its text columns become sequences
    the table's model embeds)."""
    return "image" if "image" in column_types else "text" if column_types == {"text"} else "tabular"
