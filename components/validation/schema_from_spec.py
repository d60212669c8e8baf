"""SchemaGen that knows what the data should be, so that ExampleValidator is a real gate.

TFX's SchemaGen infers the schema from the very statistics ExampleValidator then checks,
so a bad value in the training data becomes part of the schema and nothing is flagged.
This component starts from the inferred schema and tightens it with what the dataset spec
declares: the allowed values of each categorical feature and of the label, the documented
range of each numeric feature, and presence: the label and columns whose missing token is a
value (or that may never be missing) are in every row; columns that may be missing may be
absent in any split, whatever the training split happened to hold.
"""

import os

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.types.standard_artifacts import ExampleStatistics, Schema

from tfxp_contract.dataset_spec import DatasetSpec, spec_from_json
from tfxp_contract.names import SCHEMA_FILE, STATISTICS_FILE


def tighten_schema(schema: schema_pb2.Schema, spec: DatasetSpec) -> schema_pb2.Schema:
    """Applies the spec's domains and presence rules to an inferred schema (in place)."""
    features = {f.name: f for f in schema.feature}
    declared = {c.name: c for c in spec.columns if c.type != "ignore"}
    for name, column in declared.items():
        feature = features.get(name)
        if feature is None:
            continue  # never present in training data; the stats already show it
        values = spec.label.values if name == spec.label_column else column.values
        if column.type == "categorical" and values:
            feature.ClearField("domain")
            feature.string_domain.CopyFrom(schema_pb2.StringDomain(name=name, value=list(values)))
            feature.distribution_constraints.min_domain_mass = 1.0
        if column.type == "numeric" and column.range is not None:
            feature.float_domain.CopyFrom(schema_pb2.FloatDomain(min=column.range[0], max=column.range[1]))
        if name == spec.label_column or column.missing in ("category", "never"):
            feature.presence.min_fraction = 1.0  # always a value: the label, a token kept as a value
            feature.presence.min_count = 1
        elif column.type in ("categorical", "numeric", "datetime"):
            # The spec allows a missing value here, so absence is never an anomaly, in any split:
            # the inferred presence (1.0 when the training split happens to have no gap) is dropped.
            feature.presence.min_fraction = 0.0
            feature.presence.min_count = 0
    schema.ClearField("string_domain")
    for feature in schema.feature:  # top-level domains that inference may have referenced
        if feature.HasField("domain"):
            feature.ClearField("domain")
    return schema


@component
def SchemaFromSpec(statistics: InputArtifact[ExampleStatistics], schema: OutputArtifact[Schema],
                   spec_json: Parameter[str], code_version: Parameter[str] = "") -> None:
    """Infers the schema from the training split's statistics and applies the spec's domains.
    ``code_version``: a fingerprint of this code, for the cache key only."""
    spec = spec_from_json(spec_json)
    stats = tfdv.load_stats_binary(os.path.join(artifact_utils.get_split_uri([statistics], "train"), STATISTICS_FILE))
    # No fixed shapes: every feature parses as VarLen, so Transform and the serving
    # signature accept rows and requests where a value is missing.
    inferred = tfdv.infer_schema(stats, infer_feature_shape=False)
    fileio.makedirs(schema.uri)  # an object store has no folders to find; a file system needs this one
    tfdv.write_schema_text(tighten_schema(inferred, spec), os.path.join(schema.uri, SCHEMA_FILE))
