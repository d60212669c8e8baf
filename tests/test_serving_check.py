"""The serving check before a push: real SavedModels, each probed in a fresh process; the one
whose probabilities do not sum to 1 is not pushed and the served version stays."""
import os

import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import json_utils, proto_utils

from components.serving import serving_check
from components.serving.atomic_pusher import Executor, publish_model, served_versions
from components.serving.serving_check import WARMUP_FILE, check_in_fresh_process
from tfxp_contract.names import SERVING_CHECK_PROPERTY


class _Scorer(tf.Module):
    """Raw examples with a float ``x`` -> two class probabilities (times ``scale``: 1 is honest)."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        x = tf.io.parse_example(examples, {"x": tf.io.FixedLenFeature([1], tf.float32, default_value=[0.0])})["x"]
        return {"probabilities": tf.nn.softmax(tf.concat([x, -x], axis=1)) * self.scale}


def saved_model(folder, scale: float) -> str:
    module = _Scorer(scale)
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    return str(folder)


def raw_examples(count: int) -> list:
    return [tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[i / 10])),
        "label": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"y"]))})).SerializeToString()
        for i in range(count)]


@pytest.mark.slow
def test_probe_in_a_fresh_process_passes_an_honest_model_and_names_what_is_wrong(tmp_path):
    examples = raw_examples(8)
    honest = check_in_fresh_process(saved_model(tmp_path / "good", 1.0), examples, 2, str(tmp_path / "w"))
    assert honest.ok and honest.batch_ms > 0, honest
    doubled = check_in_fresh_process(saved_model(tmp_path / "bad", 2.0), examples, 2, str(tmp_path / "w"))
    assert doubled.problems == ["probabilities of an example sum to 2.0000, not 1"]
    wrong_classes = check_in_fresh_process(saved_model(tmp_path / "good2", 1.0), examples, 3, str(tmp_path / "w"))
    assert wrong_classes.problems == ["probabilities has shape (8, 2), expected (8, 3)"]
    missing = check_in_fresh_process(str(tmp_path / "nothing"), examples, 2, str(tmp_path / "w"))
    assert "does not load" in missing.problems[0]


@pytest.mark.slow
def test_a_process_started_ahead_does_the_next_check_and_one_left_unused_is_ended(tmp_path):
    examples, work = raw_examples(8), str(tmp_path / "w")
    with serving_check.started_ahead():
        ahead = serving_check._started
        assert check_in_fresh_process(saved_model(tmp_path / "good", 1.0), examples, 2, work).ok
        assert ahead.returncode == 0 and serving_check._started is None  # it did the check and ended
        # nothing waits any more: the next check starts its own process
        assert check_in_fresh_process(saved_model(tmp_path / "bad", 2.0), examples, 2, work).problems == \
            ["probabilities of an example sum to 2.0000, not 1"]
    with serving_check.started_ahead():
        unused = serving_check._started
    assert unused.returncode is not None and serving_check._started is None
    serving_check.start_ahead()  # one that died before the check: the check starts another
    serving_check._started.kill()
    serving_check._started.wait()
    assert check_in_fresh_process(str(tmp_path / "good"), examples, 2, work).ok


@pytest.mark.slow
def test_a_check_begun_early_is_taken_only_by_the_same_check(tmp_path):
    examples, work = raw_examples(8), str(tmp_path / "w")
    good, bad = saved_model(tmp_path / "good", 1.0), saved_model(tmp_path / "bad", 2.0)
    assert not serving_check.begin_check(good, examples, 2)  # no process waiting: nothing begins
    with serving_check.started_ahead():
        assert serving_check.begin_check(bad, examples, 2)
        early = serving_check._begun.process
        result = check_in_fresh_process(bad, examples, 2, work)
        assert result.begun_early and result.problems == ["probabilities of an example sum to 2.0000, not 1"]
        assert early.returncode == 0 and serving_check._begun is None

    with serving_check.started_ahead():
        assert serving_check.begin_check(bad, examples, 2)
        early, sample_dir = serving_check._begun.process, serving_check._begun.sample_dir
        asked = check_in_fresh_process(good, examples, 2, work)  # another model: checked afresh
        assert asked.ok and not asked.begun_early
        assert early.returncode is not None and not os.path.exists(sample_dir)
        assert serving_check.begin_check(good, examples, 2) is False  # the process ahead was used up

    with serving_check.started_ahead():
        assert serving_check.begin_check(good, examples[:4], 2)
        early = serving_check._begun.process
    assert early.returncode is not None and serving_check._begun is None  # never asked: ended with the run


def _examples_artifact(folder, records: list):
    split = folder / "Split-eval"
    split.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(split / "data_tfrecord-00000-of-00001.gz"),
                              options=tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
        for record in records:
            writer.write(record)
    artifact = standard_artifacts.Examples()
    artifact.uri = str(folder)
    return artifact


def _push(tmp_path, model_dir: str, serving: str, name: str):
    model = standard_artifacts.Model()
    model.uri = os.path.dirname(model_dir)  # the Pusher serves <model uri>/Format-Serving
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / f"blessing-{name}")
    blessing.set_int_custom_property("blessed", 1)
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / f"pushed-{name}")
    destination = proto_utils.proto_to_json(pusher_pb2.PushDestination(filesystem={"base_directory": serving}))
    Executor(Executor.Context(tmp_dir=str(tmp_path / "tmp"), unique_id=name)).Do(
        {"model": [model], "model_blessing": [blessing],
         "examples": [_examples_artifact(tmp_path / f"examples-{name}", raw_examples(5))]},
        {"pushed_model": [pushed]},
        {standard_component_specs.PUSH_DESTINATION_KEY: destination,
         standard_component_specs.CUSTOM_CONFIG_KEY: json_utils.dumps({"label": "label", "num_classes": 2})})
    return pushed


@pytest.mark.slow
def test_a_blessed_model_that_does_not_serve_is_not_pushed_and_the_served_one_stays(tmp_path):
    serving = str(tmp_path / "serving")
    good = _push(tmp_path, saved_model(tmp_path / "good" / "Format-Serving", 1.0), serving, "good")
    assert good.get_int_custom_property("pushed") == 1
    assert good.get_string_custom_property(SERVING_CHECK_PROPERTY).startswith("passed: 5 raw eval examples")
    [version] = served_versions(serving)
    # Its warm-up requests: PredictionLog records TF Serving replays on load, with the raw examples.
    [record] = [r.numpy() for r in tf.data.TFRecordDataset(os.path.join(serving, str(version), WARMUP_FILE))]
    log = prediction_log_pb2.PredictionLog.FromString(record)
    request = log.predict_log.request
    assert request.model_spec.signature_name == "serving_default"
    sent = tf.make_ndarray(request.inputs["examples"])
    assert len(sent) == 5 and all(b"label" not in tf.train.Example.FromString(e).features.feature for e in sent)

    bad = _push(tmp_path, saved_model(tmp_path / "bad" / "Format-Serving", 2.0), serving, "bad")
    assert bad.get_int_custom_property("pushed") == 0
    assert bad.get_string_custom_property(SERVING_CHECK_PROPERTY) == \
        "failed: probabilities of an example sum to 2.0000, not 1"
    assert served_versions(serving) == [version]


def test_publish_without_examples_writes_no_warmup(tmp_path):
    model = saved_model(tmp_path / "m", 1.0)
    _, path = publish_model(model, str(tmp_path / "serving"))
    assert not os.path.exists(os.path.join(path, WARMUP_FILE))


class _Generator(tf.Module):
    """count, seed -> images: in [0, 1] when ``scale`` is 1, outside it when larger."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="count"), tf.TensorSpec([], tf.int32, name="seed")])
    def generate(self, count, seed):
        images = tf.random.stateless_uniform(tf.stack([count, 4, 4, 1]), seed=tf.stack([seed, 0])) * self.scale
        pixels = tf.cast(tf.clip_by_value(images, 0.0, 1.0) * 255.0, tf.uint8)
        return {"images": images, "png": tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}


@pytest.mark.slow
@pytest.mark.parametrize("scale, problem", [(1.0, None), (3.0, "generate gave pixels outside [0, 1]")])
def test_a_generative_model_is_asked_for_samples(tmp_path, scale, problem):
    module = _Generator(scale)
    tf.saved_model.save(module, str(tmp_path / "m"), signatures={"generate": module.generate,
                                                                 "serving_default": module.generate})
    result = check_in_fresh_process(str(tmp_path / "m"), raw_examples(8), 0, str(tmp_path / "work"),
                                    task="generative")
    assert result.problems == ([problem] if problem else [])
    assert result.batch_ms is not None  # generate answered; its output was checked
