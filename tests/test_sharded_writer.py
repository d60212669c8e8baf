"""The batched hash split and shard writer every ExampleGen of ours shares, on real records."""
import subprocess
import sys

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import _PartitionFn
from tfx.proto import example_gen_pb2

from components.ingest.csv_example_gen import to_example
from components.ingest.sharded_example_gen import _split_batches
from components.ingest.workers.delimited_rows import read_rows
from components.ingest.workers.shard_writing import DealToShards, WriteShards, record_batches, shard_path, tfrecord_frames
from pipelines.pipeline import split_configs
from tfxp_contract.dataset_spec import load_spec


def _house_votes(data_dir) -> list:
    spec = load_spec("house_votes")
    return [to_example(row) for row in read_rows(spec, str(data_dir / "house_votes" / "house-votes-84.data"))]


def _tfx_split(example, split_config) -> int:
    buckets = []
    for split in split_config.splits:
        buckets.append((buckets[-1] if buckets else 0) + split.hash_buckets)
    return _PartitionFn(example, len(buckets), buckets, split_config)


def test_each_record_keeps_the_split_tfx_gives_it(data_dir):
    examples = _house_votes(data_dir)
    _, output_config = split_configs(load_spec("house_votes"))
    by_party = example_gen_pb2.SplitConfig(splits=output_config.split_config.splits, partition_feature_name="party")
    for config in (output_config.split_config, by_party):
        splitter = _split_batches(config)
        splitter.setup()
        ours = {}
        for batch in record_batches(examples, size=100):
            for index, part in splitter.process(batch):
                ours.update(dict.fromkeys(part, index))
        assert len(ours) == len({e.SerializeToString(deterministic=True) for e in examples})
        assert all(ours[e.SerializeToString(deterministic=True)] == _tfx_split(e, config) for e in examples)
    parties = {e.features.feature["party"].bytes_list.value[0]: ours[e.SerializeToString(deterministic=True)]
               for e in examples}
    assert all(ours[e.SerializeToString(deterministic=True)] == parties[e.features.feature["party"].bytes_list.value[0]]
               for e in examples)  # by party: one split per party


def test_records_are_dealt_evenly_from_where_the_last_batch_stopped():
    deal = DealToShards(3)
    deal.setup()
    dealt = {}
    for batch in ([b"a", b"b"], [b"c", b"d", b"e", b"f", b"g"]):
        for shard, records in deal.process(batch):
            dealt.setdefault(shard, []).extend(records)
    assert sorted(r for records in dealt.values() for r in records) == [b"a", b"b", b"c", b"d", b"e", b"f", b"g"]
    assert sorted(len(records) for records in dealt.values()) == [2, 2, 3]


def test_every_shard_is_written_whole_even_an_empty_one(tmp_path, data_dir):
    records = [e.SerializeToString() for e in _house_votes(data_dir)][:5]
    prefix = str(tmp_path / "split" / "data_tfrecord")
    with beam.Pipeline() as pipeline:
        _ = pipeline | beam.Create([records]) | WriteShards(prefix, 8)  # 5 records, 8 shards
    files = sorted(p.name for p in (tmp_path / "split").iterdir())
    assert files == sorted(shard_path("data_tfrecord", shard, 8) for shard in range(8))  # nothing half-written left
    written = [r.numpy() for r in tf.data.TFRecordDataset([str(tmp_path / "split" / f) for f in files], "GZIP")]
    assert sorted(written) == sorted(records)


def test_records_are_framed_byte_for_byte_as_tensorflow_writes_them(tmp_path, data_dir):
    records = [e.SerializeToString() for e in _house_votes(data_dir)][:50] + [b"", bytes(range(256)) * 300]
    with tf.io.TFRecordWriter(str(tmp_path / "tf.tfrecord")) as writer:
        for record in records:
            writer.write(record)
    assert tfrecord_frames(records) == (tmp_path / "tf.tfrecord").read_bytes()


def test_beam_workers_import_the_readers_and_the_writer_without_tensorflow_or_tfx():
    """A worker imports the module of each DoFn it runs: nothing in components.ingest.workers
    may pull in TensorFlow or TFX (seconds of every worker's start). The import contract in
    pyproject.toml checks the source; this checks what really loads."""
    import pkgutil

    import components.ingest.workers as workers
    modules = [f"{workers.__name__}.{m.name}" for m in pkgutil.iter_modules(workers.__path__)]
    assert len(modules) >= 8
    code = (f"import sys; import {', '.join(modules)}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'tfx', 'keras', 'tf_keras'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
