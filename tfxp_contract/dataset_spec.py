"""Declarative dataset specs: everything that differs between datasets, in one YAML file each.

A spec names the published files (with canonical URLs and checksums), how to parse them,
the features and label, the split, the model family with its hyperparameters and the
evaluation thresholds. The pipeline factory, ExampleGen, Transform and Trainer read only
this; adding a CSV dataset means adding a YAML file under ``tfxp_contract/specs/``.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from tfxp_contract.errors import ExplainedError
from tfxp_contract.families import FORMATS, MODEL_FAMILIES, data_family

COLUMN_TYPES = ("categorical", "numeric", "image", "text", "ignore")
MISSING_POLICIES = ("impute", "category")
# Metric names a spec may threshold, and the TFMA metric each one means.
KNOWN_METRICS = {"accuracy": "SparseCategoricalAccuracy", "auc": "AUC"}
BINARY_ONLY_METRICS = {"auc"}
STRATEGIES = ("none", "mirrored", "multi_worker", "tpu")
SPECS_DIR = Path(__file__).parent / "specs"


# A raw value of one column as read from the published file; None = missing.
RawValue = Union[str, float, None]


class SpecError(ExplainedError, ValueError):
    """A dataset spec is malformed; the message names the spec and the field."""


@dataclass(frozen=True)
class SourceFile:
    name: str  # file name as published; also its name in a mirror folder and the cache
    url: str  # canonical public URL users download from
    sha256: tuple[str, ...]  # accepted digests of the file as downloaded


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # categorical | numeric | ignore
    values: tuple[str, ...] = ()  # categorical domain; empty = learn it from data
    range: tuple[float, float] | None = None  # numeric values outside it become missing
    missing: str = "impute"  # impute: learned mean + indicator; category: token is a value
    shape: tuple[int, ...] = ()  # image: (height, width, channels) the model sees
    vocabulary_size: int = 0  # text: most frequent tokens kept (others share one OOV id)
    sequence_length: int = 0  # text: tokens per example the model sees (truncated or padded)
    ngrams: int = 1  # text: also word pairs (2) as tokens, each a vocabulary entry


@dataclass(frozen=True)
class Label:
    column: str
    values: tuple[str, ...]  # raw values in the file, in class-index order
    names: tuple[str, ...]  # human-readable class names, same order


@dataclass(frozen=True)
class MetricThreshold:
    name: str  # a key of KNOWN_METRICS
    lower_bound: float  # absolute threshold: the model is not blessed below it


@dataclass(frozen=True)
class Model:
    family: str  # a key of families.MODEL_FAMILIES ("" in a data view: no model)
    hyperparameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Distribution:
    """How the Trainer spreads training; a spec's default, overridable per run."""
    strategy: str = "none"  # none | mirrored | multi_worker (TF_CONFIG) | tpu
    tpu: str = ""  # tpu: a TPU name, "local" on a TPU VM, "" = from the environment
    mixed_precision: bool = False  # bfloat16 compute with float32 variables (TPU)
    # multi_worker without TF_CONFIG: launch this many local worker processes (0 = just
    # this process, a cluster of one).
    local_workers: int = 0


def distribution_from_dict(raw: dict[str, Any] | None, where: str = "distribution") -> Distribution:
    raw = dict(raw or {})
    known = {f.name for f in dataclasses.fields(Distribution)}
    if set(raw) - known:
        raise SpecError(f"{where}: unknown field(s) {sorted(set(raw) - known)}; known: {sorted(known)}")
    dist = Distribution(strategy=str(raw.get("strategy", "none")), tpu=str(raw.get("tpu", "") or ""),
                        mixed_precision=bool(raw.get("mixed_precision", False)),
                        local_workers=int(raw.get("local_workers", 0)))
    if dist.strategy not in STRATEGIES:
        raise SpecError(f"{where}: strategy {dist.strategy!r} is not one of {STRATEGIES}")
    if dist.local_workers < 0 or (dist.local_workers and dist.strategy != "multi_worker"):
        raise SpecError(f"{where}: local_workers needs strategy multi_worker and a count >= 0")
    return dist


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    format: str  # a key of families.FORMATS: the ExampleGen that reads the files
    files: tuple[SourceFile, ...]
    columns: tuple[Column, ...]
    label: Label
    model: Model
    metrics: tuple[MetricThreshold, ...]
    mirror_folder: str = ""  # folder of a local mirror holding the files (default: name)
    delimiter: str = ","
    header: bool = False
    missing_token: str = "?"
    train_eval_buckets: tuple[int, int] = (4, 1)  # hash-bucket ratio of the split
    # The publisher's own split, {split name: file pattern}; replaces the hash split.
    published_splits: dict[str, str] = field(default_factory=dict)
    change_tolerance: float = 0.0  # a new model may be at most this much worse than baseline
    num_shards: int = 2
    distribution: Distribution = Distribution()
    slices: tuple[str, ...] = ()  # raw columns whose values the evaluation reports separately
    # format archive with a published split: {split name: its folder inside the archive}
    archive_split_folders: dict[str, str] = field(default_factory=dict)

    @property
    def feature_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.type != "ignore" and c.name != self.label.column)

    @property
    def data_family(self) -> str:
        """tabular, image or text: picks the preprocessing_fn and the model families that fit."""
        return data_family({c.type for c in self.feature_columns})

    @property
    def num_classes(self) -> int:
        return len(self.label.values)

    @property
    def input_pattern(self) -> str:
        return self.files[0].name if len(self.files) == 1 else "*"

    def data_view(self) -> "DatasetSpec":
        """The spec as the schema and Transform components see it: what the data is, with the
        model, thresholds, slices and distribution set to neutral values, so a run that only
        changes those reuses their cached outputs (a new model family or ``--set epochs=...``
        starts at the Trainer)."""
        return dataclasses.replace(self, description="", model=Model(family=""), change_tolerance=0.0,
                                   metrics=(MetricThreshold("accuracy", 0.0),), distribution=Distribution(),
                                   slices=())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _tuple(value) -> tuple:
    return tuple(value) if value is not None else ()


def spec_from_dict(raw: dict[str, Any], where: str = "spec") -> DatasetSpec:
    """Builds and validates a DatasetSpec; errors name the spec and the offending field."""
    try:
        files = tuple(
            SourceFile(name=f["name"], url=f["url"], sha256=_tuple(f["sha256"]) if isinstance(f["sha256"], list) else (f["sha256"],))
            for f in raw["files"]
        )
        columns = tuple(
            Column(
                name=c["name"],
                type=c["type"],
                values=tuple(str(v) for v in _tuple(c.get("values"))),
                range=tuple(float(x) for x in c["range"]) if c.get("range") is not None else None,
                missing=c.get("missing", "impute"),
                shape=tuple(int(x) for x in c.get("shape", ())),
                vocabulary_size=int(c.get("vocabulary_size", 0)),
                sequence_length=int(c.get("sequence_length", 0)),
                ngrams=int(c.get("ngrams", 1)),
            )
            for c in raw["columns"]
        )
        label = Label(
            column=raw["label"]["column"],
            values=tuple(str(v) for v in raw["label"]["values"]),
            names=tuple(str(v) for v in raw["label"].get("names", raw["label"]["values"])),
        )
        model = Model(family=raw["model"]["family"], hyperparameters=dict(raw["model"].get("hyperparameters", {})))
        metrics = tuple(MetricThreshold(name=m["name"], lower_bound=float(m["lower_bound"])) for m in raw["metrics"])
        known = {f.name for f in dataclasses.fields(DatasetSpec)}
        unknown = set(raw) - known
        if unknown:
            raise SpecError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(known)}")
        optional = {k: raw[k] for k in ("mirror_folder", "delimiter", "header", "missing_token",
                                         "change_tolerance", "num_shards") if k in raw}
        if "published_splits" in raw:
            optional["published_splits"] = {str(k): str(v) for k, v in raw["published_splits"].items()}
        if "archive_split_folders" in raw:
            optional["archive_split_folders"] = {str(k): str(v) for k, v in raw["archive_split_folders"].items()}
        if "slices" in raw:
            optional["slices"] = tuple(str(c) for c in raw["slices"])
        if "distribution" in raw:
            optional["distribution"] = distribution_from_dict(raw["distribution"], f"{where}: distribution")
        if "train_eval_buckets" in raw:
            optional["train_eval_buckets"] = tuple(int(x) for x in raw["train_eval_buckets"])
        spec = DatasetSpec(
            name=raw["name"], description=raw.get("description", ""), format=raw["format"],
            files=files, columns=columns, label=label, model=model, metrics=metrics, **optional,
        )
    except KeyError as err:
        raise SpecError(f"{where}: missing required field {err}") from None
    except (TypeError, ValueError) as err:
        if isinstance(err, SpecError):
            raise
        raise SpecError(f"{where}: {err}") from None
    validate(spec, where)
    if not spec.mirror_folder:
        spec = dataclasses.replace(spec, mirror_folder=spec.name)
    return spec


def validate(spec: DatasetSpec, where: str = "spec") -> None:
    names = [c.name for c in spec.columns]
    if len(set(names)) != len(names):
        raise SpecError(f"{where}: duplicate column names in {names}")
    for c in spec.columns:
        if c.type not in COLUMN_TYPES:
            raise SpecError(f"{where}: column {c.name!r} has type {c.type!r}; expected one of {COLUMN_TYPES}")
        if c.missing not in MISSING_POLICIES:
            raise SpecError(f"{where}: column {c.name!r} has missing policy {c.missing!r}; expected one of {MISSING_POLICIES}")
        if c.type == "image" and len(c.shape) != 3:
            raise SpecError(f"{where}: image column {c.name!r} needs shape [height, width, channels]")
        if c.type == "text" and (c.vocabulary_size < 1 or c.sequence_length < 1):
            raise SpecError(f"{where}: text column {c.name!r} needs vocabulary_size and sequence_length")
        if c.range is not None and (len(c.range) != 2 or c.range[0] > c.range[1]):
            raise SpecError(f"{where}: column {c.name!r} range must be [low, high], got {list(c.range)}")
    if spec.label.column not in names:
        raise SpecError(f"{where}: label column {spec.label.column!r} is not among the columns {names}")
    if len(spec.label.values) < 2 or len(spec.label.names) != len(spec.label.values):
        raise SpecError(f"{where}: label needs at least two values and one name per value")
    if not spec.feature_columns:
        raise SpecError(f"{where}: no feature columns")
    if spec.format not in FORMATS:
        raise SpecError(f"{where}: format {spec.format!r} has no ExampleGen; known: {', '.join(FORMATS)}")
    if spec.data_family not in FORMATS[spec.format]:
        raise SpecError(f"{where}: format {spec.format!r} holds {' or '.join(FORMATS[spec.format])} data, "
                        f"but the columns describe {spec.data_family} data")
    family = spec.model.family
    if family and family not in MODEL_FAMILIES:  # "" only in a data view (see data_view)
        raise SpecError(f"{where}: unknown model family {family!r}; known: {sorted(MODEL_FAMILIES)}")
    if family and MODEL_FAMILIES[family] != spec.data_family:
        fitting = sorted(f for f, d in MODEL_FAMILIES.items() if d == spec.data_family)
        raise SpecError(f"{where}: model family {family!r} takes {MODEL_FAMILIES[family]} data, but "
                        f"{spec.name} is {spec.data_family} data; families for it: {', '.join(fitting)}")
    if not spec.metrics:
        # TFX writes no blessing at all when nothing is thresholded (tensorflow/tfx#5148).
        raise SpecError(f"{where}: needs at least one metric threshold, or no model is ever blessed")
    for m in spec.metrics:
        if m.name not in KNOWN_METRICS:
            raise SpecError(f"{where}: metric {m.name!r} is not computed by the evaluation; known: {sorted(KNOWN_METRICS)}")
        if m.name in BINARY_ONLY_METRICS and spec.num_classes != 2:
            raise SpecError(f"{where}: metric {m.name!r} needs a binary label, {spec.name} has {spec.num_classes} classes")
    if not spec.files:
        raise SpecError(f"{where}: no source files")
    for f in spec.files:
        if not f.sha256 or any(len(d) != 64 for d in f.sha256):
            raise SpecError(f"{where}: file {f.name!r} needs a sha256 (64 hex digits)")
    if spec.published_splits and set(spec.published_splits) != {"train", "eval"}:
        raise SpecError(f"{where}: published_splits must name 'train' and 'eval', got {sorted(spec.published_splits)}")
    for column in spec.slices:
        kind = next((c.type for c in spec.columns if c.name == column), None)
        if kind != "categorical":
            raise SpecError(f"{where}: slice column {column!r} must be a categorical column (or the label)")
    if spec.format == "archive" and len(spec.feature_columns) != 1:
        raise SpecError(f"{where}: an archive spec has one feature column (the file's content) and the label")
    if spec.archive_split_folders and set(spec.archive_split_folders) != set(spec.published_splits):
        raise SpecError(f"{where}: archive_split_folders must name the same splits as published_splits")
    if spec.num_shards < 1:
        raise SpecError(f"{where}: num_shards must be >= 1")


def spec_from_file(path: str | Path) -> DatasetSpec:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    return spec_from_dict(raw, where=str(path))


def spec_from_json(text: str) -> DatasetSpec:
    """Inverse of DatasetSpec.to_json, for components that receive the spec as a string."""
    return spec_from_dict(json.loads(text), where="spec JSON")


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
