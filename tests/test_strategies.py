"""Strategy selection, cluster roles and TPU-ready input, without a pipeline (seconds)."""
import json

import pytest
import tensorflow as tf
import tf_keras as keras

from tfxp_cli.local_commands import distribution_overrides
from tfxp_cli.main import build_parser
from tfxp_contract.dataset_spec import Distribution, SpecError, distribution_from_dict, load_spec
from trainers import data, models, strategies
from trainers.local_cluster import describe_exit, tf_configs
from trainers.strategies import StrategyError


def tf_config(cluster, task_type, index):
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})}


WORKERS_ONLY = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
WITH_CHIEF = {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2", "127.0.0.1:3"]}


@pytest.mark.parametrize("environ, chief, workers", [
    ({}, True, 1),
    (tf_config(WORKERS_ONLY, "worker", 0), True, 2),
    (tf_config(WORKERS_ONLY, "worker", 1), False, 2),
    (tf_config(WITH_CHIEF, "chief", 0), True, 3),
    (tf_config(WITH_CHIEF, "worker", 0), False, 3),  # with a chief task, worker 0 is not the chief
])
def test_role_follows_tf_config(environ, chief, workers):
    role = strategies.role_from_tf_config(strategies.parse_tf_config(environ))
    assert role.is_chief is chief
    assert role.num_workers == workers


def test_malformed_tf_config_is_a_clear_error():
    with pytest.raises(StrategyError, match="TF_CONFIG is not a cluster description"):
        strategies.parse_tf_config({"TF_CONFIG": '{"task": {}}'})


def test_local_cluster_configs_make_worker_0_the_chief():
    configs = tf_configs([5001, 5002])
    roles = [strategies.role_from_tf_config(c) for c in configs]
    assert [r.is_chief for r in roles] == [True, False]
    assert configs[1]["cluster"]["worker"] == ["127.0.0.1:5001", "127.0.0.1:5002"]
    assert describe_exit(-9) == "was killed by SIGKILL" and describe_exit(3) == "exited with status 3"


@pytest.mark.parametrize("name, kind", [
    ("none", type(tf.distribute.get_strategy())),
    ("mirrored", tf.distribute.MirroredStrategy),
    ("multi_worker", tf.distribute.MultiWorkerMirroredStrategy),  # no TF_CONFIG: a cluster of one
])
def test_each_strategy_builds_and_compiles_the_same_model(name, kind):
    strategy = strategies.make_strategy(Distribution(strategy=name), {})
    assert isinstance(strategy, kind)
    assert strategies.global_batch_size(32, strategy) == 32 * strategy.num_replicas_in_sync
    with strategy.scope():
        model = models.build_model("dense", {"x": (3, 0)}, 2, {})
    assert model.optimizer is not None
    assert all(strategy.extended.variable_created_in_scope(v) for v in model.trainable_variables)


@pytest.mark.parametrize("tpu", ["local", "", "no-such-tpu"])
def test_tpu_without_a_tpu_is_a_clear_error(tpu):
    with pytest.raises(StrategyError, match="strategy 'tpu' asked for, but no TPU is reachable"):
        strategies.make_strategy(Distribution(strategy="tpu", tpu=tpu), {})


def test_bfloat16_keeps_the_output_float32():
    strategies.set_precision(Distribution(mixed_precision=True))
    try:
        model = models.build_model("cnn", {"image": (28, 28, 1)}, 10, {"filters": [4]})
    finally:
        strategies.set_precision(Distribution())
    assert model.get_layer("probabilities").compute_dtype == "float32"
    assert any(layer.compute_dtype == "bfloat16" for layer in model.layers)
    assert keras.mixed_precision.global_policy().name == "float32"


def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n")
    assert strategies.cpu_has_native_bfloat16(str(cpuinfo)) is True
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16x\n")
    assert strategies.cpu_has_native_bfloat16(str(cpuinfo)) is False
    cpuinfo.write_text("processor\t: 0\n")
    assert strategies.cpu_has_native_bfloat16(str(cpuinfo)) is None
    assert strategies.cpu_has_native_bfloat16(str(tmp_path / "absent")) is None


@pytest.mark.parametrize("flags, strategy, asked, policy", [
    ("fpu avx2 avx512_bf16", "none", "auto", "mixed_bfloat16"),
    ("fpu avx2", "none", "auto", "float32"),  # emulated bfloat16 is slower: auto keeps float32
    ("fpu avx2", "tpu", "auto", "mixed_bfloat16"),  # a TPU computes bfloat16 whatever the host CPU
    (None, "none", "auto", "float32"),  # flags unknown
    ("fpu avx2", "none", True, "mixed_bfloat16"),  # asked for explicitly: it runs, with a warning
    ("fpu avx2 amx_bf16", "none", False, "float32"),
])
def test_mixed_precision_auto_takes_bfloat16_only_where_it_is_native(tmp_path, flags, strategy, asked, policy):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\n" + (f"flags\t\t: {flags}\n" if flags else ""))
    dist = Distribution(strategy=strategy, mixed_precision=asked)
    try:
        assert strategies.set_precision(dist, str(cpuinfo)) == policy
        assert keras.mixed_precision.global_policy().name == policy
    finally:
        strategies.set_precision(Distribution())


def test_a_spec_says_true_false_or_auto():
    assert distribution_from_dict({"mixed_precision": "auto"}).mixed_precision == "auto"
    assert distribution_from_dict({"mixed_precision": True}).mixed_precision is True
    with pytest.raises(SpecError, match="mixed_precision"):
        distribution_from_dict({"mixed_precision": "sometimes"})


def test_shard_policy_is_by_file_only_when_files_divide_evenly():
    policy = tf.data.experimental.AutoShardPolicy
    assert data.shard_policy(4, 2) == policy.FILE
    assert data.shard_policy(3, 2) == policy.DATA
    assert data.shard_policy(1, 1) == policy.DATA


def test_training_input_has_static_batches(tmp_path):
    path = str(tmp_path / "rows.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for i in range(10):
            example = tf.train.Example(features=tf.train.Features(feature={
                "x": tf.train.Feature(float_list=tf.train.FloatList(value=[float(i)])),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 2]))}))
            writer.write(example.SerializeToString())
    spec = {"x": tf.io.FixedLenFeature([1], tf.float32), "label": tf.io.FixedLenFeature([], tf.int64)}
    assert data.count_examples([path]) == 10
    train = data.make_dataset([path], spec, 4, shuffle=True, repeat=True, drop_remainder=True, num_workers=2)
    assert train.element_spec[0]["x"].shape.as_list() == [4, 1]  # static: TPU-ready
    assert train.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA
    batches = [labels.numpy() for _, labels in train.take(6)]  # repeats past the 10 rows
    assert all(len(b) == 4 for b in batches)
    evaluation = data.make_dataset([path], spec, 4, shuffle=False)
    assert [len(labels) for _, labels in evaluation] == [4, 4, 2]
    # no autotuning thread, whose wake-ups deleting an iterator waits for (data.make_dataset)
    assert not train.options().autotune.enabled and not evaluation.options().autotune.enabled


def test_distribution_settings_are_validated():
    with pytest.raises(SpecError, match="strategy 'parameter_server' is not one of"):
        distribution_from_dict({"strategy": "parameter_server"})
    with pytest.raises(SpecError, match="local_workers needs strategy multi_worker"):
        distribution_from_dict({"strategy": "mirrored", "local_workers": 2})
    with pytest.raises(SpecError, match="unknown field"):
        distribution_from_dict({"gpus": 2})
    assert load_spec("house_votes").distribution == Distribution()


@pytest.mark.parametrize("argv, expected", [
    ([], {}),
    (["--workers", "2"], {"strategy": "multi_worker", "local_workers": 2}),
    (["--strategy", "tpu", "--tpu", "local", "--bfloat16"], {"strategy": "tpu", "tpu": "local", "mixed_precision": True}),
    (["--strategy", "mirrored"], {"strategy": "mirrored"}),
])
def test_cli_overrides_the_spec_strategy(argv, expected):
    args = build_parser().parse_args(["run", "house_votes", *argv])
    assert distribution_overrides(args) == expected
    distribution_from_dict(expected)  # and they are valid settings


def test_shuffled_input_does_not_follow_the_files_order(tmp_path):
    """Records written sorted by label (two shards, each sorted): the first batches of a
    shuffled epoch mix both labels, and a later epoch comes in another order."""
    import numpy as np

    spec = {"x": tf.io.FixedLenFeature([1], tf.float32), "label": tf.io.FixedLenFeature([], tf.int64)}
    for shard in range(2):
        with tf.io.TFRecordWriter(str(tmp_path / f"s{shard}.gz"), options="GZIP") as writer:
            for i in range(500):
                label = 0 if i < 250 else 1
                example = tf.train.Example(features=tf.train.Features(feature={
                    "x": tf.train.Feature(float_list=tf.train.FloatList(value=[shard * 500 + i])),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}))
                writer.write(example.SerializeToString())
    dataset = data.make_dataset([str(tmp_path / "s*.gz")], spec, 50, shuffle=True, repeat=True, drop_remainder=True)
    batches = [(f["x"].numpy().ravel(), y.numpy()) for f, y in dataset.take(40)]
    first_epoch, second_epoch = np.concatenate([x for x, _ in batches[:20]]), \
        np.concatenate([x for x, _ in batches[20:]])
    assert all(0.2 < y.mean() < 0.8 for _, y in batches[:4]), [y.mean() for _, y in batches[:4]]
    assert sorted(first_epoch) == sorted(second_epoch) == list(range(1000))  # every record once an epoch
    assert list(first_epoch) != list(second_epoch)
    assert data.count_records([str(tmp_path / "s*.gz")])[0] == 1000
