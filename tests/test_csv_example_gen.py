"""The CSV ExampleGen's executor on the real house_votes file, with Beam in multi-processing mode."""
import os

import pytest
import tensorflow as tf
from google.protobuf import json_format
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from components.ingest.csv_example_gen import Executor
from components.ingest.sharded_example_gen import pack_config
from infra.dataflow import direct_runner_args
from pipelines.pipeline import split_configs
from tests.helpers import private_temp
from tfxp_contract.dataset_spec import load_spec


@pytest.mark.slow
@pytest.mark.parametrize("range_bytes, limit", [(0, 0), (1500, 0), (1500, 100)])  # whole file; about 12 byte
def test_hash_split_into_shards_with_two_worker_processes(tmp_path, data_dir, range_bytes, limit, monkeypatch):
    """(range_bytes 1500: about 12 byte ranges read in parallel; limit: --max-examples, the file's first rows.)"""
    # TFX would pack its own source into a temporary folder for remote workers and leave it there.
    system_tmp = private_temp(tmp_path, monkeypatch)
    spec = load_spec("house_votes")
    input_config, output_config = split_configs(spec)
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    exec_properties = {
        standard_component_specs.INPUT_BASE_KEY: str(data_dir / "house_votes"),
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(input_config),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(output_config),
        standard_component_specs.CUSTOM_CONFIG_KEY: json_format.MessageToJson(
            pack_config({"spec": spec.to_json(), "num_shards": 3, "range_bytes": range_bytes, "max_examples": limit})),
    }
    context = BaseBeamExecutor.Context(beam_pipeline_args=direct_runner_args(2), tmp_dir=str(tmp_path / "tmp"))
    Executor(context).Do({}, {standard_component_specs.EXAMPLES_KEY: [examples]}, exec_properties)
    assert not list(system_tmp.glob("*/build/tfx")), "the DirectRunner's arguments let TFX build a package"

    counts, democrats = {}, 0
    for split in ["train", "eval"]:
        files = sorted(fileio.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*.gz")))
        assert len(files) == 3, files
        records = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(files, "GZIP")]
        counts[split] = len(records)
        assert all(r.features.feature["party"].bytes_list.value[0] in (b"democrat", b"republican") for r in records)
        assert all(len(r.features.feature) == 17 for r in records)  # label + 16 votes, '?' kept
        democrats += sum(r.features.feature["party"].bytes_list.value[0] == b"democrat" for r in records)
    rows = limit or 435
    assert counts["train"] + counts["eval"] == rows  # every row once
    assert democrats == (267 if not limit else sum(line.startswith("democrat") for line in
                                                   (data_dir / "house_votes" / "house-votes-84.data")
                                                   .read_text().splitlines()[:limit]))
    assert 0.6 < counts["train"] / rows < 0.95  # 4:1 hash buckets
