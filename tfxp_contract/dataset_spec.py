"""Declarative dataset specs: everything that differs between datasets, in one YAML file each.

A spec names the published files (with canonical URLs and checksums), how to parse them,
the features and label, the split, the model family with its hyperparameters and the
evaluation thresholds. The pipeline factory, ExampleGen, Transform and Trainer read only
this; adding a CSV dataset means adding a YAML file under ``tfxp_contract/specs/``.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Optional, Union

import yaml
from pydantic import Field, WithJsonSchema, field_validator, model_validator
from pydantic.dataclasses import dataclass

from tfxp_contract.errors import ExplainedError
from tfxp_contract.families import FORMATS, GENERATIVE_FAMILIES, MODEL_FAMILIES, TASKS, data_family
from tfxp_contract.hyperparameters import check_hyperparameters
from tfxp_contract.names import SOURCE_FILE_FEATURE
from tfxp_contract.strict import STRICT, check_plain_name, load_yaml, parse

COLUMN_TYPES = ("categorical", "numeric", "datetime", "image", "text", "ignore")
# impute: a missing value is learned away (numeric: training mean + indicator; categorical:
# its own out-of-vocabulary id); category: the missing token is a value like any other (always
# present); never: the column always has a value, a missing one is an anomaly.
MISSING_POLICIES = ("impute", "category", "never")
# How a text column's tokens reach the model: as a sequence of ids ("none"), or, for the text_nb
# family, each distinct token once with its naive-Bayes log-count ratio per class ("nb").
TEXT_WEIGHTINGS = ("none", "nb")
# Metric names a classifier's spec may threshold -> what they are (pipelines.evaluation computes them).
KNOWN_METRICS = {"accuracy": "the share of examples whose most probable class is the label",
                 "auc": "area under the ROC curve of the second label value (binary labels)"}
BINARY_ONLY_METRICS = {"auc"}
# A regression's metrics (pipelines.regression_metrics) -> whether lower is better.
REGRESSION_METRICS = {"mse": True, "mae": True, "rmse": True, "r2": False}
# Generative models' metrics (components.evaluation.generative_evaluator) -> whether lower is better.
GENERATIVE_METRICS = {"negative_elbo": True, "frechet_distance": True, "min_class_share": False}
VAE_ONLY_METRICS = {"negative_elbo"}
# ... and those measured in a classifier's feature space or classes (it needs a label or a pushed classifier)
CLASSIFIER_METRICS = {"frechet_distance", "min_class_share"}
STRATEGIES = ("none", "mirrored", "multi_worker", "tpu")
SPECS_DIR = Path(__file__).parent / "specs"
MAX_SHARDS = 1024
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# What YAML may give where the model keeps text: a digest, or several; raw values as text or numbers.
_DIGEST = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}
Digests = Annotated[tuple[str, ...], WithJsonSchema({"anyOf": [_DIGEST, {"type": "array", "items": _DIGEST}]})]
RawTexts = Annotated[tuple[str, ...], WithJsonSchema({"type": "array", "items": {"type": ["string", "number"]}})]

# A raw value of one column as read from the published file; None = missing.
RawValue = Union[str, float, None]


class SpecError(ExplainedError, ValueError):
    """A dataset spec is malformed; the message names the spec and the field."""


def _strings(value: Any) -> Any:
    """YAML reads 0 and '0' differently; raw values and names are compared as text."""
    if isinstance(value, (list, tuple)):
        return tuple(str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value)
    return value


@dataclass(frozen=True, config=STRICT)
class SourceFile:
    """One input file: published (``url`` + ``sha256``) or the user's own (``path``: a local
    path, relative to the spec file, or a gs:// URI; ``sha256`` optional, computed at ingest)."""
    name: str = ""  # file name as published; its name in a mirror folder and the cache (default: path's)
    url: str = ""  # canonical public URL users download from
    sha256: Digests = ()  # accepted digests of the file
    path: str = ""  # the user's own file instead of a published one

    @field_validator("sha256", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        if isinstance(value, (int, float)):
            raise ValueError(f"needs a sha256 (64 hex digits), got {value!r}")
        return (value,) if isinstance(value, str) else value

    @field_validator("sha256")
    @classmethod
    def _hex_digests(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for digest in value:
            if not _SHA256.match(digest.lower()):
                raise ValueError(f"needs a sha256 (64 hex digits), got {digest!r}")
        return tuple(d.lower() for d in value)

    @model_validator(mode="after")
    def _one_source(self) -> "SourceFile":
        if bool(self.url) == bool(self.path):
            raise ValueError("give either url (a published file, with its sha256) or path (your own file)")
        if self.url and not self.url.startswith(("https://", "http://")):
            raise ValueError(f"url {self.url!r} must be an http(s):// address (for your own file use path:)")
        if self.url and not self.sha256:
            raise ValueError(f"file {self.name!r} needs a sha256 (64 hex digits) of the published file")
        if not self.name:
            object.__setattr__(self, "name", self.path.rstrip("/").rsplit("/", 1)[-1])
        check_plain_name(self.name, "file name")
        return self

    @property
    def is_own(self) -> bool:
        return bool(self.path)


@dataclass(frozen=True, config=STRICT)
class Column:
    name: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(json_schema_extra={"enum": list(COLUMN_TYPES)})]  # see COLUMN_TYPES
    values: RawTexts = ()  # categorical domain; empty = learn it from data
    range: Optional[tuple[float, float]] = None  # numeric values outside it become missing
    missing: Annotated[str, Field(json_schema_extra={"enum": list(MISSING_POLICIES)})] = "impute"
    shape: tuple[int, ...] = ()  # image: (height, width, channels) the model sees
    vocabulary_size: int = Field(0, ge=0)  # text: most frequent tokens kept (others share one OOV id)
    sequence_length: int = Field(0, ge=0)  # text: tokens per example the model sees (padded; a longer text keeps its first and last halves)
    ngrams: int = Field(1, ge=1, le=3)  # text: also word pairs (2) as tokens, each a vocabulary entry
    weighting: Annotated[str, Field(json_schema_extra={"enum": list(TEXT_WEIGHTINGS)})] = "none"  # text: see TEXT_WEIGHTINGS

    @field_validator("values", mode="before")
    @classmethod
    def _text_values(cls, value: Any) -> Any:
        return _strings(value)

    @field_validator("range", mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and len(value) != 2:
            raise ValueError(f"range must be [low, high], got {list(value)}")
        return value


@dataclass(frozen=True, config=STRICT)
class Label:
    column: str
    values: RawTexts = ()  # raw values in the file, in class-index order (none for a regression)
    names: RawTexts = ()  # human-readable class names, same order (default: the values)

    @field_validator("values", "names", mode="before")
    @classmethod
    def _text_values(cls, value: Any) -> Any:
        return _strings(value)

    @model_validator(mode="after")
    def _default_names(self) -> "Label":
        if not self.names:
            object.__setattr__(self, "names", self.values)
        return self


@dataclass(frozen=True, config=STRICT)
class MetricThreshold:
    # a key of KNOWN_METRICS (classification) or GENERATIVE_METRICS (task: generative)
    name: Annotated[str, Field(json_schema_extra={"enum": list(KNOWN_METRICS) + list(GENERATIVE_METRICS)})]
    lower_bound: Optional[float] = None  # absolute threshold: the model is not blessed below it
    upper_bound: Optional[float] = None  # for lower-is-better metrics: not blessed above it


@dataclass(frozen=True, config=STRICT)
class Model:
    # a key of families.MODEL_FAMILIES ("" in a data view: no model)
    family: Annotated[str, Field(json_schema_extra={"enum": sorted(MODEL_FAMILIES)})]
    hyperparameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, config=STRICT)
class Distribution:
    """How the Trainer spreads training; a spec's default, overridable per run."""
    # none | mirrored | multi_worker (TF_CONFIG) | tpu
    strategy: Annotated[str, Field(json_schema_extra={"enum": list(STRATEGIES)})] = "none"
    tpu: str = ""  # tpu: a TPU name, "local" on a TPU VM, "" = from the environment
    # true: bfloat16 compute, float32 variables; auto: that where the hardware computes bfloat16
    # natively (TPUs; CPUs with AMX or AVX512-BF16), float32 elsewhere (emulated it is slower)
    mixed_precision: Union[bool, Literal["auto"]] = False
    # multi_worker without TF_CONFIG: launch this many local worker processes (0 = just
    # this process, a cluster of one).
    local_workers: int = Field(0, ge=0, le=64)

    @model_validator(mode="after")
    def _known_strategy(self) -> "Distribution":
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r} is not one of {STRATEGIES}")
        if self.local_workers and self.strategy != "multi_worker":
            raise ValueError("local_workers needs strategy multi_worker and a count >= 0")
        return self


def distribution_from_dict(raw: dict[str, Any] | None, where: str = "distribution") -> Distribution:
    return parse(Distribution, dict(raw or {}), where, SpecError)


@dataclass(frozen=True, config=STRICT)
class Inference:
    """New, unlabelled data the pipeline scores with the blessed model (BulkInferrer): files
    matching ``pattern`` in ``folder`` (local, relative to the spec file, or gs://). Tables in
    the dataset's raw format, the label column may be left out; for image and text datasets,
    loose image files (JPEG/PNG) or text files (.txt), one input each."""
    folder: str
    pattern: str = "*"


TUNING_OBJECTIVES = {"val_accuracy": "max", "val_loss": "min"}  # Keras' validation metrics a search can rank by


@dataclass(frozen=True, config=STRICT)
class Tuning:
    """A search before the Trainer (TFX's Tuner with KerasTuner's oracles): each trial trains
    the model with one combination of the candidate values and is ranked by ``objective`` on
    the eval split after its last epoch; the Trainer then trains with the best combination."""
    # hyperparameter -> its candidate values, e.g. {learning_rate: [0.001, 0.01], hidden_units: [[16], [64]]}
    search: Annotated[dict[str, Annotated[tuple[Any, ...], Field(min_length=1, max_length=100)]],
                      Field(min_length=1, max_length=20)]
    objective: str = ""  # val_accuracy (classification, the default) or val_loss (the default otherwise)
    algorithm: Literal["grid", "random"] = "grid"  # every combination in turn, or random ones
    max_trials: int = Field(0, ge=0, le=1000)  # 0: every combination
    epochs: Optional[int] = Field(None, ge=1, le=100_000)  # per trial (default: the model's epochs)
    time_budget_minutes: float = Field(0.0, ge=0.0)  # 0: none; once spent, no new trial starts
    seed: int = 0


@dataclass(frozen=True, config=STRICT)
class DatasetSpec:
    name: str
    # a key of families.FORMATS: the ExampleGen that reads the files
    format: Annotated[str, Field(json_schema_extra={"enum": list(FORMATS)})]
    files: Annotated[tuple[SourceFile, ...], Field(min_length=1)]
    columns: Annotated[tuple[Column, ...], Field(min_length=1)]
    model: Model
    metrics: tuple[MetricThreshold, ...]
    # what a classifier learns to predict; optional for a generative model, whose evaluation
    # uses it only to name classes (and to train its feature space when no classifier is pushed)
    label: Optional[Label] = None
    # classification (the label, evaluated by TFMA) or generative (the images: vae, gan)
    task: Annotated[str, Field(json_schema_extra={"enum": list(TASKS)})] = "classification"
    # task generative: the classification dataset (pipeline name) whose newest pushed model
    # gives the evaluation its feature space and classes (Fréchet distance, coverage); when it
    # has pushed none, a classifier is trained in the evaluation on this spec's label
    evaluation_classifier: str = ""
    description: str = ""
    mirror_folder: str = ""  # folder of a local mirror holding the files (default: name)
    delimiter: str = Field(",", min_length=1, max_length=1)
    header: bool = False  # the first row names the columns (their order comes from it)
    # what a cell holds when it has no value: one token, or several (['', 'NA']); the first is
    # what a value-less Parquet cell or an absent column reads as
    missing_token: Union[str, tuple[str, ...]] = "?"
    train_eval_buckets: tuple[int, int] = (4, 1)  # hash-bucket ratio of the split
    # The publisher's own split, {split name: file pattern}; replaces the hash split.
    published_splits: dict[str, str] = field(default_factory=dict)
    # how much worse than the last blessed model a new one may be: classification, absolute (0.01
    # = one point of accuracy lower); generative, a share of the baseline (0.1 = 10% worse)
    change_tolerance: float = Field(0.0, ge=0.0, le=1.0)
    num_shards: int = Field(2, ge=1, le=MAX_SHARDS)
    distribution: Distribution = Distribution()
    slices: tuple[str, ...] = ()  # raw columns whose values the evaluation reports separately
    # format archive with a published split: {split name: its folder inside the archive}
    archive_split_folders: dict[str, str] = field(default_factory=dict)
    # format archive: a file inside it larger than this is skipped (and reported) unread
    archive_file_limit_mb: int = Field(256, ge=1, le=1 << 20)
    # task generative: how many samples the evaluation generates (and held-out images it reads)
    generative_samples: int = Field(2000, ge=100, le=100_000)
    inference: Optional[Inference] = None  # batch predictions after each run
    tuning: Optional[Tuning] = None  # a hyperparameter search before training (TFX's Tuner)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _dataset_name(value)

    @field_validator("mirror_folder")
    @classmethod
    def _mirror_folder(cls, value: str) -> str:
        return check_plain_name(value, "mirror_folder") if value else value

    @field_validator("train_eval_buckets")
    @classmethod
    def _buckets(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) < 1:
            raise ValueError(f"train_eval_buckets must be two counts >= 1, got {list(value)}")
        return value

    @property
    def label_column(self) -> Optional[str]:
        """The raw label column, or None (a generative spec without a label)."""
        return self.label.column if self.label else None

    @property
    def feature_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.type != "ignore" and c.name != self.label_column)

    @property
    def data_family(self) -> str:
        """tabular, image or text: picks the preprocessing_fn and the model families that fit."""
        return data_family({c.type for c in self.feature_columns})

    @property
    def num_classes(self) -> int:
        """Classes of the label; 0 for a regression (and without a label)."""
        return len(self.label.values) if self.label else 0

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

    @property
    def input_pattern(self) -> str:
        return self.files[0].name if len(self.files) == 1 else "*"

    @property
    def missing_tokens(self) -> tuple[str, ...]:
        """Every token that means "no value" (``missing_token`` as a tuple)."""
        return (self.missing_token,) if isinstance(self.missing_token, str) else tuple(self.missing_token)

    def data_view(self) -> "DatasetSpec":
        """The spec as the schema and Transform components see it: what the data is, with the
        model, thresholds, slices and distribution set to neutral values, so a run that only
        changes those reuses their cached outputs (a new model family or ``--set epochs=...``
        starts at the Trainer)."""
        # neutral: a classifier's; images without a label are only ever a generative model's data
        task, metric = ("classification", MetricThreshold("accuracy", 0.0)) if self.label else (
            "generative", MetricThreshold("negative_elbo", upper_bound=0.0))
        if self.is_regression:  # the label is read as a number
            task, metric = "regression", MetricThreshold("rmse", upper_bound=0.0)
        return dataclasses.replace(self, description="", model=Model(family=""), change_tolerance=0.0,
                                   task=task, generative_samples=2000, evaluation_classifier="",
                                   metrics=(metric,), distribution=Distribution(), slices=(), inference=None,
                                   tuning=None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def spec_from_dict(raw: Any, where: str = "spec", base_dir: Optional[Path] = None) -> DatasetSpec:
    """Builds and validates a DatasetSpec; errors name the spec and the offending field.
    ``base_dir``: the spec file's folder, against which relative ``path:`` files resolve."""
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected a mapping at the top level")
    spec = parse(DatasetSpec, raw, where, SpecError)
    validate(spec, where)
    if not spec.mirror_folder:
        spec = dataclasses.replace(spec, mirror_folder=spec.name)
    if base_dir is not None and any(f.is_own and not _is_absolute(f.path) for f in spec.files):
        files = tuple(dataclasses.replace(f, path=str((base_dir / f.path).resolve()))
                      if f.is_own and not _is_absolute(f.path) else f for f in spec.files)
        spec = dataclasses.replace(spec, files=files)
    if base_dir is not None and spec.inference and not _is_absolute(spec.inference.folder):
        spec = dataclasses.replace(spec, inference=dataclasses.replace(
            spec.inference, folder=str((base_dir / spec.inference.folder).resolve())))
    return spec


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "gs://"))


def tuning_objective(spec: DatasetSpec) -> tuple[str, str]:
    """(Keras metric, "max" or "min") that ranks the spec's tuning trials."""
    name = (spec.tuning.objective if spec.tuning else "") or (
        "val_accuracy" if spec.task == "classification" else "val_loss")
    return name, TUNING_OBJECTIVES[name]


def _validate_weighting(spec: DatasetSpec, family: str, fail: Callable[[str, str], None]) -> None:
    """A text column weighted "nb" is a text spec's one column, with a class label, read by the
    text_nb family; text_nb reads nothing else."""
    weighted = [c for c in spec.columns if c.weighting == "nb"]
    if weighted and (spec.data_family != "text" or spec.is_regression or not spec.label):
        fail("columns", f"weighting nb (column {weighted[0].name!r}) needs a text spec (one text column) "
                        "with a class label: the ratios are of each class against the others")
    if family == "text_nb" and not weighted:
        fail("model.family", "model family text_nb reads each distinct token with its naive-Bayes ratios: "
                             "give the text column weighting: nb")
    if family and family != "text_nb" and weighted:
        fail("columns", f"weighting nb (column {weighted[0].name!r}) is read by the text_nb family only, "
                        f"not {family!r}: remove it, or use family text_nb")


def _validate_tuning(spec: DatasetSpec, fail: Callable[[str, str], None]) -> None:
    tuning, family = spec.tuning, spec.model.family
    if not family or spec.task == "generative":
        fail("tuning", "a search tunes a classifier's or a regression's hyperparameters; "
                       f"{spec.name} has {'no model' if not family else 'a generative model'}")
    allowed = ["val_accuracy", "val_loss"] if spec.task == "classification" else ["val_loss"]
    if tuning.objective and tuning.objective not in allowed:
        fail("tuning.objective", f"{tuning.objective!r} is not one of {allowed}")
    for name, values in tuning.search.items():
        for value in values:  # every candidate, as the Trainer would get it
            check_hyperparameters(family, {**spec.model.hyperparameters, name: value},
                                  f"{spec.name}: tuning.search.{name}", SpecError)
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            fail(f"tuning.search.{name}", f"repeated candidate values {list(values)}")


def validate(spec: DatasetSpec, where: str = "spec") -> None:
    """What the types alone do not say: the rules across fields. Errors name the field."""
    def fail(field_path: str, message: str) -> None:
        raise SpecError(f"{where}: {field_path}: {message}")

    names = [c.name for c in spec.columns]
    if len(set(names)) != len(names):
        fail("columns", f"duplicate column names in {names}")
    for i, c in enumerate(spec.columns):
        if c.type not in COLUMN_TYPES:
            fail(f"columns[{i}].type", f"column {c.name!r} has type {c.type!r}; expected one of {COLUMN_TYPES}")
        if c.missing not in MISSING_POLICIES:
            fail(f"columns[{i}].missing",
                 f"column {c.name!r} has missing policy {c.missing!r}; expected one of {MISSING_POLICIES}")
        if c.type == "image" and len(c.shape) != 3:
            fail(f"columns[{i}].shape", f"image column {c.name!r} needs shape [height, width, channels]")
        if c.type == "text" and (c.vocabulary_size < 1 or c.sequence_length < 1):
            fail(f"columns[{i}]", f"text column {c.name!r} needs vocabulary_size and sequence_length")
        if c.weighting not in TEXT_WEIGHTINGS:
            fail(f"columns[{i}].weighting", f"column {c.name!r} has weighting {c.weighting!r}; expected one of {TEXT_WEIGHTINGS}")
        if c.weighting != "none" and c.type != "text":
            fail(f"columns[{i}].weighting", f"only a text column has a weighting; {c.name!r} is {c.type}")
        if c.range is not None and c.range[0] > c.range[1]:
            fail(f"columns[{i}].range", f"column {c.name!r} range must be [low, high], got {list(c.range)}")
        if c.shape and (len(c.shape) != 3 or min(c.shape) < 1 or c.type != "image"):
            fail(f"columns[{i}].shape", "only an image column has a shape, [height, width, channels] with each >= 1")
    if spec.label is None and spec.task != "generative":
        fail("label", "a classifier needs a label: the column it learns to predict, its values and names")
    if spec.label is None and spec.format != "idx":
        fail("label", f"format {spec.format!r} reads the label with the data; only idx images can come "
                      "without one (each split's images file alone)")
    if spec.label and spec.label.column not in names:
        fail("label.column", f"label column {spec.label.column!r} is not among the columns {names}")
    if spec.label and len(spec.label.names) != len(spec.label.values):
        fail("label", "label needs one name per value")
    if not spec.feature_columns:
        fail("columns", "no feature columns")
    if spec.inference and spec.data_family != "tabular" and (
            len(spec.feature_columns) != 1 or spec.feature_columns[0].name == SOURCE_FILE_FEATURE):
        fail("inference", f"batch inference on {spec.data_family} files needs one feature column (the file's "
                          f"content), not named {SOURCE_FILE_FEATURE!r}")
    if spec.format not in FORMATS:
        fail("format", f"format {spec.format!r} has no ExampleGen; known: {', '.join(FORMATS)}")
    if spec.data_family not in FORMATS[spec.format]:
        fail("format", f"format {spec.format!r} holds {' or '.join(FORMATS[spec.format])} data, "
                       f"but the columns describe {spec.data_family} data")
    family = spec.model.family
    if family and family not in MODEL_FAMILIES:  # "" only in a data view (see data_view)
        fail("model.family", f"unknown model family {family!r}; known: {sorted(MODEL_FAMILIES)}")
    if family and MODEL_FAMILIES[family] != spec.data_family:
        fitting = sorted(f for f, d in MODEL_FAMILIES.items() if d == spec.data_family)
        fail("model.family", f"model family {family!r} takes {MODEL_FAMILIES[family]} data, but "
                             f"{spec.name} is {spec.data_family} data; families for it: {', '.join(fitting)}")
    if family:
        check_hyperparameters(family, spec.model.hyperparameters, f"{where}: model.hyperparameters", SpecError)
    _validate_weighting(spec, family, fail)
    if spec.tuning is not None:
        _validate_tuning(spec, fail)
    if not spec.metrics:
        # TFX writes no blessing at all when nothing is thresholded (tensorflow/tfx#5148).
        fail("metrics", "needs at least one metric threshold, or no model is ever blessed")
    if spec.task not in TASKS:
        fail("task", f"task {spec.task!r} is not one of {TASKS}")
    generative = spec.task == "generative"
    if family and (family in GENERATIVE_FAMILIES) != generative:
        fail("model.family", f"model family {family!r} is not for task {spec.task!r}; "
                             f"generative families ({', '.join(GENERATIVE_FAMILIES)}) need task: generative")
    if generative and spec.inference:
        fail("inference", "batch inference scores inputs with a classifier; a generative model has none")
    if generative and spec.data_family != "image":
        fail("task", f"generative models are for image data; {spec.name} is {spec.data_family} data")
    if spec.evaluation_classifier and not generative:
        fail("evaluation_classifier", "only a generative model's evaluation uses a classifier of its samples")
    if spec.evaluation_classifier:
        _checked(_dataset_name, spec.evaluation_classifier, f"{where}: evaluation_classifier")
    if spec.is_regression and (not spec.label or spec.format not in ("csv", "parquet")):
        fail("task", "a regression predicts a numeric label column of a table (format csv or parquet)")
    if spec.label and spec.is_regression:
        [label_type] = [c.type for c in spec.columns if c.name == spec.label.column] or ["absent"]
        if spec.label.values or label_type != "numeric":
            fail("label", f"a regression's label is a numeric column without values; {spec.label.column!r} is "
                          f"{label_type}" + (" with values" if spec.label.values else ""))
    elif spec.label and len(spec.label.values) < 2:
        fail("label.values", "a classifier's label needs its values (two or more, in class order); for a numeric "
                             "label to predict, set task: regression")
    metric_tables = {"generative": GENERATIVE_METRICS, "regression": REGRESSION_METRICS}
    for i, m in enumerate(spec.metrics):
        known = metric_tables.get(spec.task, KNOWN_METRICS)
        if m.name not in known:
            fail(f"metrics[{i}].name", f"metric {m.name!r} is not computed by the evaluation of a {spec.task} "
                                       f"model; known: {sorted(known)}")
        if m.name in BINARY_ONLY_METRICS and spec.num_classes != 2:
            fail(f"metrics[{i}].name", f"metric {m.name!r} needs a binary label, "
                                       f"{spec.name} has {spec.num_classes} classes")
        if m.name in VAE_ONLY_METRICS and family and family != "vae":
            fail(f"metrics[{i}].name", f"metric {m.name!r} is a VAE's; model family {family!r} has none")
        if m.name in CLASSIFIER_METRICS and generative and not spec.label and not spec.evaluation_classifier:
            fail(f"metrics[{i}].name", f"metric {m.name!r} is measured with a classifier of the samples: "
                                       "give a label to train one on, or evaluation_classifier (a classification "
                                       "dataset whose pushed model to use)")
        lower_is_better = isinstance(known.get(m.name), bool) and known[m.name]
        wanted, other = ("upper_bound", "lower_bound") if lower_is_better else ("lower_bound", "upper_bound")
        if getattr(m, wanted) is None or getattr(m, other) is not None:
            fail(f"metrics[{i}]", f"metric {m.name!r} is {'lower' if lower_is_better else 'higher'} is better: "
                                  f"give it {wanted} (only)")
    file_names = [f.name for f in spec.files]
    if len(set(file_names)) != len(file_names):
        fail("files", f"two files have one name in {file_names}; give each its own name:")
    if spec.format not in ("csv", "parquet", "archive") and any(f.is_own for f in spec.files):
        fail("files", "your own files (path:) are tables (format csv or parquet), or a folder or tar of class "
                      "folders (format archive)")
    if spec.published_splits and set(spec.published_splits) != {"train", "eval"}:
        fail("published_splits", f"published_splits must name 'train' and 'eval', got {sorted(spec.published_splits)}")
    for i, column in enumerate(spec.slices):
        kind = next((c.type for c in spec.columns if c.name == column), None)
        if kind != "categorical":
            fail(f"slices[{i}]", f"slice column {column!r} must be a categorical column (or the label)")
    if spec.format == "archive" and len(spec.feature_columns) != 1:
        fail("columns", "an archive spec has one feature column (the file's content) and the label")
    if spec.archive_split_folders and set(spec.archive_split_folders) != set(spec.published_splits):
        fail("archive_split_folders", "archive_split_folders must name the same splits as published_splits")
    for split, folder in spec.archive_split_folders.items():
        _checked(lambda name: check_plain_name(name, "folder"), folder, f"{where}: archive_split_folders.{split}")


def _dataset_name(value: str) -> str:
    if not _DATASET_NAME.match(value) or ".." in value:
        raise ValueError(f"name {value!r} must be 1-64 letters, digits, '_', '-' or '.', starting with a "
                         "letter or digit (it names folders)")
    return value


def _checked(check: Callable[[str], str], value: str, where: str) -> str:
    """``check(value)``, its ValueError raised as a SpecError naming ``where``."""
    try:
        return check(value)
    except ValueError as err:
        raise SpecError(f"{where}: {err}") from None


def spec_from_file(path: str | Path) -> DatasetSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: cannot read the spec ({err})") from None
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None
    return spec_from_dict(raw, where=str(path), base_dir=path.parent.absolute())


def spec_from_json(text: str) -> DatasetSpec:
    """Inverse of DatasetSpec.to_json, for components that receive the spec as a string."""
    return spec_from_dict(json.loads(text), where="spec JSON")


def spec_json_schema() -> dict:
    """The JSON Schema of spec files, generated from the model (``tfxp spec schema``)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(DatasetSpec).json_schema()
    schema["title"] = "tfxp dataset spec"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def builtin_spec_names() -> list[str]:
    return sorted(p.stem for p in SPECS_DIR.glob("*.yaml"))


def load_spec(name_or_path: str) -> DatasetSpec:
    """A built-in spec by name (``house_votes``) or any spec file by path."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return spec_from_file(name_or_path)
    if name_or_path not in builtin_spec_names():
        raise SpecError(f"unknown dataset {name_or_path!r}; built-in datasets: {', '.join(builtin_spec_names())} "
                        "(or give a path to a spec .yaml)")
    return spec_from_file(SPECS_DIR / f"{name_or_path}.yaml")
