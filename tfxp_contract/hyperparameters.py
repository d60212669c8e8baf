"""Each model family's hyperparameters: names, types and bounds, checked when a spec loads,
when ``--set`` overrides them, and before a Trainer builds a model.

A field left out keeps its builder's default (``trainers.models``, ``trainers.generative``),
so defaults live in one place, beside the code that uses them; a test keeps these fields equal
to the builders' arguments. ``epochs``, ``batch_size`` and ``validation_freq`` belong to the fit
loop and are accepted by every family.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field
from pydantic.dataclasses import dataclass

from tfxp_contract.strict import STRICT, parse

Count = Annotated[int, Field(ge=1, le=1_000_000)]
Width = Annotated[int, Field(ge=1, le=65_536)]
Widths = Annotated[tuple[Width, ...], Field(min_length=1, max_length=32)]
Rate = Annotated[float, Field(ge=0, le=10)]  # 0 trains nothing (tests use it for a model that must lose)
Share = Annotated[float, Field(ge=0, lt=1)]  # dropout, augmentation fractions, label smoothing
Schedule = Literal["constant", "cosine"]


@dataclass(frozen=True, config=STRICT)
class Fit:
    epochs: Optional[Annotated[int, Field(ge=1, le=100_000)]] = None
    batch_size: Optional[Annotated[int, Field(ge=1, le=1_048_576)]] = None
    # validate on the eval split after every this many epochs and after the last (default 1)
    validation_freq: Optional[Annotated[int, Field(ge=1, le=100_000)]] = None


@dataclass(frozen=True, config=STRICT)
class Optimizer(Fit):
    learning_rate: Optional[Rate] = None
    lr_schedule: Optional[Schedule] = None  # cosine: decays to zero over the run
    decay_steps: Optional[Annotated[int, Field(ge=0)]] = None  # set by the training job for a schedule


@dataclass(frozen=True, config=STRICT)
class Dense(Optimizer):
    hidden_units: Optional[Widths] = None
    dropout: Optional[Share] = None
    l2: Optional[Annotated[float, Field(ge=0, le=10)]] = None
    embedding_dim: Optional[Width] = None  # a text column's word embeddings


@dataclass(frozen=True, config=STRICT)
class Cnn(Optimizer):
    filters: Optional[Widths] = None
    convs_per_block: Optional[Annotated[int, Field(ge=1, le=8)]] = None
    stem_stride: Optional[Annotated[int, Field(ge=1, le=8)]] = None
    head: Optional[Literal["flatten", "gap"]] = None
    dense_units: Optional[Annotated[int, Field(ge=0, le=65_536)]] = None  # 0: no dense layer before the output
    dropout: Optional[Share] = None
    translate: Optional[Share] = None
    flip: Optional[bool] = None
    rotate: Optional[Share] = None
    zoom: Optional[Share] = None
    fill_mode: Optional[Literal["constant", "reflect", "wrap", "nearest"]] = None
    test_time_flip: Optional[bool] = None  # serving averages each image with its mirror image
    test_time_shift: Optional[Annotated[int, Field(ge=0, le=64)]] = None  # ... and with it moved by this many pixels
    weight_decay: Optional[Annotated[float, Field(ge=0, le=10)]] = None  # decoupled (AdamW), per unit learning rate


@dataclass(frozen=True, config=STRICT)
class ImageMlp(Optimizer):
    hidden_units: Optional[Widths] = None
    dropout: Optional[Share] = None


@dataclass(frozen=True, config=STRICT)
class MobileNetV2(Optimizer):
    weights: Optional[str] = None  # "imagenet", a local weights file, or "none"
    alpha: Optional[Literal[0.35, 0.5, 0.75, 1.0, 1.3, 1.4]] = None
    dropout: Optional[Share] = None
    fine_tune_epochs: Optional[Annotated[int, Field(ge=0, le=100_000)]] = None
    fine_tune_layers: Optional[Annotated[int, Field(ge=0, le=1_000)]] = None
    fine_tune_learning_rate: Optional[Rate] = None


@dataclass(frozen=True, config=STRICT)
class TextCnn(Optimizer):
    embedding_dim: Optional[Width] = None
    filters: Optional[Width] = None
    kernel_size: Optional[Annotated[int, Field(ge=1, le=64)]] = None
    dropout: Optional[Share] = None


@dataclass(frozen=True, config=STRICT)
class TextBag(Optimizer):
    embedding_dim: Optional[Width] = None
    dropout: Optional[Share] = None


@dataclass(frozen=True, config=STRICT)
class TextNb(Optimizer):
    """A linear model: the optimizer's settings only."""


@dataclass(frozen=True, config=STRICT)
class TextLstm(Optimizer):
    embedding_dim: Optional[Width] = None
    units: Optional[Width] = None
    dropout: Optional[Share] = None


@dataclass(frozen=True, config=STRICT)
class Vae(Fit):
    latent_dim: Optional[Width] = None
    filters: Optional[Widths] = None
    dense_units: Optional[Width] = None
    learning_rate: Optional[Rate] = None


@dataclass(frozen=True, config=STRICT)
class Gan(Fit):
    latent_dim: Optional[Width] = None
    filters: Optional[Widths] = None
    discriminator_steps: Optional[Annotated[int, Field(ge=1, le=100)]] = None
    generator_steps: Optional[Annotated[int, Field(ge=1, le=100)]] = None
    discriminator_learning_rate: Optional[Rate] = None
    generator_learning_rate: Optional[Rate] = None
    label_smoothing: Optional[Share] = None
    dropout: Optional[Share] = None


# Model family (families.MODEL_FAMILIES) -> its hyperparameters.
HYPERPARAMETERS: dict[str, type] = {
    "dense": Dense, "cnn": Cnn, "mlp": ImageMlp, "mobilenet_v2": MobileNetV2, "text_cnn": TextCnn,
    "text_bag": TextBag, "text_nb": TextNb, "text_lstm": TextLstm, "vae": Vae, "gan": Gan,
}


def check_hyperparameters(family: str, values: dict, where: str, error: type[Exception]) -> dict:
    """``values`` checked against ``family``'s model (unknown names with the nearest known one,
    types, bounds); returns them as given (lists as lists), or raises ``error`` with one line."""
    if not isinstance(values, dict):
        raise error(f"{where}: expected a mapping of hyperparameters, got {type(values).__name__}")
    parse(HYPERPARAMETERS[family], values, where, error)
    return dict(values)
