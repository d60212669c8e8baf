"""Does the candidate serve? The check TFX's InfraValidator does, without Docker: before a push,
the model is loaded in a fresh process (nothing of the training process helps it) and its
``serving_default`` is called on raw eval examples as a client sends them (label removed). The
outputs must have one row of class probabilities per example, finite, each summing to 1.

The same examples become TF Serving warm-up requests (``assets.extra/tf_serving_warmup_requests``,
PredictionLog records, as InfraValidator's ``make_warmup`` writes), so a server loading the pushed
version answers its first request without a cold start.

A generative model (task: generative) is asked for samples instead: ``generate`` with a count
and a seed must return that many images in [0, 1] and their PNGs; a VAE's ``encode`` must take
the raw eval images' bytes and ``decode`` their latent means back to images. Its warm-up
request is a ``generate`` call.

The process: ``python -m components.serving.serving_check``, then one line of JSON on its stdin
(model_dir, sample_file, num_classes, task); it prints a JSON result. A pipeline run starts it
ahead (``started_ahead``), so its TensorFlow import overlaps the components before the push,
and may hand it the check as soon as the model exists (``begin_check``), so the check itself
overlaps the evaluation; the push then takes that result if it asks the same check.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil  # local: the sample of a check begun early (tempfile)
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Iterator, Optional

from tfxp_contract.names import DECODE_SIGNATURE, ENCODE_SIGNATURE, GENERATE_SIGNATURE, PREDICTIONS, PROBABILITIES, SERVING_SIGNATURE

SAMPLE_SIZE = 32
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


@dataclass
class ServingResult:
    problems: list[str]
    batch_ms: Optional[float] = None  # one call on the whole sample, after a first one
    begun_early: bool = False  # begun before it was asked (``begin_check``)

    @property
    def ok(self) -> bool:
        return not self.problems


def raw_sample(examples_uri: str, split: str, label_key: str, size: int = SAMPLE_SIZE) -> list[bytes]:
    """Up to ``size`` serialized examples of ``split`` without their label, as a client sends them."""
    import tensorflow as tf
    from tfx.dsl.io import fileio
    files = sorted(fileio.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    sample = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").take(size):
        example = tf.train.Example.FromString(record.numpy())
        if label_key in example.features.feature:
            del example.features.feature[label_key]
        sample.append(example.SerializeToString(deterministic=True))  # map order: the same bytes every time
    return sample


def probe(model_dir: str, examples: list[bytes], num_classes: int, task: str = "classification") -> ServingResult:
    """In this process: load the model, call it twice, check what comes out."""
    import numpy as np
    import tensorflow as tf
    if task == "generative":
        return probe_generative(model_dir, examples)
    try:
        serve = tf.saved_model.load(model_dir).signatures[SERVING_SIGNATURE]
    except Exception as err:  # a model that does not load is exactly what this looks for
        return ServingResult([f"the model does not load with its {SERVING_SIGNATURE} signature ({err})"])
    batch = tf.constant(examples)
    try:
        serve(examples=batch)
        start = time.perf_counter()
        outputs = serve(examples=batch)
        batch_ms = (time.perf_counter() - start) * 1000
    except Exception as err:
        return ServingResult([f"{SERVING_SIGNATURE} fails on raw examples ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:300]})"])
    if task == "regression":
        return ServingResult(_prediction_problems(outputs, len(examples)), batch_ms)
    if PROBABILITIES not in outputs:
        return ServingResult([f"{SERVING_SIGNATURE} has no {PROBABILITIES!r} output"], batch_ms)
    probabilities = outputs[PROBABILITIES].numpy()
    problems = []
    if probabilities.shape != (len(examples), num_classes):
        problems.append(f"{PROBABILITIES} has shape {probabilities.shape}, expected ({len(examples)}, {num_classes})")
    elif not np.isfinite(probabilities).all():
        problems.append(f"{PROBABILITIES} holds NaN or infinite values")
    else:
        sums = probabilities.sum(axis=1)
        worst = float(sums[np.argmax(np.abs(sums - 1))])
        if abs(worst - 1) > 1e-3:
            problems.append(f"{PROBABILITIES} of an example sum to {worst:.4f}, not 1")
    return ServingResult(problems, batch_ms)


def _prediction_problems(outputs: dict, count: int) -> list[str]:
    """A regression's answer: one finite number per example."""
    import numpy as np
    if PREDICTIONS not in outputs:
        return [f"{SERVING_SIGNATURE} has no {PREDICTIONS!r} output"]
    predictions = outputs[PREDICTIONS].numpy()
    if predictions.shape != (count,):
        return [f"{PREDICTIONS} has shape {predictions.shape}, expected ({count},)"]
    if not np.isfinite(predictions).all():
        return [f"{PREDICTIONS} holds NaN or infinite values"]
    return []


def _first_error(err: Exception) -> str:
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:300]}"


def probe_generative(model_dir: str, examples: list[bytes]) -> ServingResult:
    """``generate`` (and a VAE's ``encode`` / ``decode`` on the raw images of ``examples``)."""
    import numpy as np
    import tensorflow as tf
    try:
        signatures = tf.saved_model.load(model_dir).signatures
        generate = signatures[GENERATE_SIGNATURE]
    except Exception as err:
        return ServingResult([f"the model does not load with its {GENERATE_SIGNATURE} signature ({err})"])
    count = len(examples)
    try:
        generate(count=tf.constant(count), seed=tf.constant(0))
        start = time.perf_counter()
        outputs = generate(count=tf.constant(count), seed=tf.constant(0))
        batch_ms = (time.perf_counter() - start) * 1000
    except Exception as err:
        return ServingResult([f"{GENERATE_SIGNATURE} fails ({_first_error(err)})"])
    images, problems = outputs["images"].numpy(), []
    if images.ndim != 4 or len(images) != count or len(outputs["png"].numpy()) != count:
        problems.append(f"{GENERATE_SIGNATURE} gave images of shape {images.shape} for a count of {count}")
    elif not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        problems.append(f"{GENERATE_SIGNATURE} gave pixels outside [0, 1]")
    if ENCODE_SIGNATURE in signatures and not problems:
        raw = [next(f.bytes_list.value[0] for f in tf.train.Example.FromString(e).features.feature.values()
                    if f.bytes_list.value) for e in examples]
        try:
            means = signatures[ENCODE_SIGNATURE](images=tf.constant(raw))["latent_mean"]
            decoded = signatures[DECODE_SIGNATURE](latent=means)["images"].numpy()
            if decoded.shape != images.shape:
                problems.append(f"{DECODE_SIGNATURE} of the encoded raw images has shape {decoded.shape}, "
                                f"not {images.shape}")
        except Exception as err:
            problems.append(f"{ENCODE_SIGNATURE}/{DECODE_SIGNATURE} fail on raw images ({_first_error(err)})")
    return ServingResult(problems, batch_ms)


def _start_process() -> subprocess.Popen:
    """A new Python process that imports TensorFlow, then waits on stdin for one check."""
    # TensorFlow 2.16 imports Keras 3 (and with it matplotlib, scikit-learn, pandas) when it is
    # imported, unless told to leave tf.keras to tf_keras: the check loads a SavedModel as a
    # server does, with no Keras at all, and starts 1-1.5 s sooner.
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    return subprocess.Popen([sys.executable, "-m", "components.serving.serving_check"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


_started: Optional[subprocess.Popen] = None  # started ahead (start_ahead), used by the next check


@dataclass
class _Begun:
    """A check handed to the process started ahead before the push asked for it."""
    job: tuple  # (model_dir, examples, num_classes, task): what was asked
    process: subprocess.Popen
    sample_dir: str


_begun: Optional[_Begun] = None


def start_ahead() -> None:
    """Starts the next check's process now, so its TensorFlow import (3-4 s) overlaps the work
    before the push instead of adding to it. It imports only TensorFlow and is handed the model
    only when the check runs, so it is as fresh as one started then. ``stop_started`` ends it
    if no check used it (a run that is not pushed, or fails before the push)."""
    global _started
    stop_started()
    _started = _start_process()


def _take_started() -> Optional[subprocess.Popen]:
    """The process started ahead, if any; from now on it is the caller's."""
    global _started
    process, _started = _started, None
    return process


def _end(process: Optional[subprocess.Popen]) -> None:
    if process is not None and process.poll() is None:
        process.kill()  # it holds nothing but its imports (and a model it checked for nobody)
        process.communicate()


def _remove(sample_dir: str) -> None:
    shutil.rmtree(sample_dir, ignore_errors=True)  # local: made by tempfile.mkdtemp in begin_check


def _take_begun() -> Optional[_Begun]:
    global _begun
    begun, _begun = _begun, None
    return begun


def _forget_begun() -> None:
    begun = _take_begun()
    if begun is not None:
        _end(begun.process)
        _remove(begun.sample_dir)


def stop_started() -> None:
    _end(_take_started())
    _forget_begun()


def begin_check(model_dir: str, examples: list[bytes], num_classes: int, task: str = "classification") -> bool:
    """Hands the check to the process started ahead now, before the push asks for it (a local
    run does this when the Trainer has finished, so the check runs beside the Evaluator). The
    push's ``check_in_fresh_process`` takes its result only if it asks exactly this check; else
    it is ended unread. False when no process was waiting."""
    process = _take_started()
    if process is None or process.poll() is not None:
        return False
    _forget_begun()
    sample_dir = tempfile.mkdtemp(prefix="serving-check-")  # local: a run on this machine
    job = {"model_dir": model_dir, "sample_file": _write_sample(sample_dir, examples), "num_classes": num_classes,
           "task": task}
    try:
        process.stdin.write(json.dumps(job) + "\n")
        process.stdin.flush()
    except OSError:  # it died meanwhile: the push starts its own
        _end(process)
        _remove(sample_dir)
        return False
    global _begun
    _begun = _Begun((model_dir, tuple(examples), num_classes, task), process, sample_dir)
    return True


@contextlib.contextmanager
def started_ahead() -> Iterator[None]:
    """A check's process started for the duration (one pipeline run in this process)."""
    start_ahead()
    try:
        yield
    finally:
        stop_started()


def check_in_fresh_process(model_dir: str, examples: list[bytes], num_classes: int, work_dir: str,
                           timeout_seconds: float = 600, task: str = "classification") -> ServingResult:
    """``probe`` in a new Python process (the one started ahead if there is one still waiting);
    a crash or a hang there is a failed check too. ``work_dir``: where the sample is written
    (the executor's temporary folder: on the cloud an object-store URI, which TensorFlow opens)."""
    begun = _take_begun()
    if begun is not None:
        try:
            if begun.job == (model_dir, tuple(examples), num_classes, task):
                result = _result(begun.process, None, timeout_seconds)
                result.begun_early = True
                return result
            _end(begun.process)  # it checked something else
        finally:
            _remove(begun.sample_dir)
    sample_file = _write_sample(work_dir, examples)
    process = _take_started()
    if process is None or process.poll() is not None:
        process = _start_process()
    job = json.dumps({"model_dir": model_dir, "sample_file": sample_file, "num_classes": num_classes, "task": task})
    return _result(process, job + "\n", timeout_seconds)


def _write_sample(folder: str, examples: list[bytes]) -> str:
    import tensorflow as tf
    tf.io.gfile.makedirs(folder)
    sample_file = os.path.join(folder, "serving_check_sample.tfrecord")
    with tf.io.TFRecordWriter(sample_file) as writer:
        for example in examples:
            writer.write(example)
    return sample_file


def _result(process: subprocess.Popen, job: Optional[str], timeout_seconds: float) -> ServingResult:
    """The check's outcome from its process (``job``: the check to send it first, if not sent)."""
    try:
        stdout, stderr = process.communicate(input=job, timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return ServingResult([f"loading and calling the model took over {timeout_seconds:.0f} s"])
    lines = stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        tail = " ".join(stderr.strip().splitlines()[-2:])[:400]
        return ServingResult([f"the serving check's process ended with status {process.returncode}: {tail}"])
    result = json.loads(lines[-1])
    return ServingResult(result["problems"], result["batch_ms"])


def write_warmup_requests(model_dir: str, examples: list[bytes], task: str = "classification") -> str:
    """TF Serving's warm-up file inside a SavedModel folder: one PredictionLog per request (a
    generative model's: ``generate`` as many images as there are examples)."""
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    from tfx.dsl.io import fileio
    if task == "generative":
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=GENERATE_SIGNATURE))
        request.inputs["count"].CopyFrom(tf.make_tensor_proto(len(examples), dtype=tf.int32))
        request.inputs["seed"].CopyFrom(tf.make_tensor_proto(0, dtype=tf.int32))
    else:
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=SERVING_SIGNATURE))
        request.inputs["examples"].CopyFrom(tf.make_tensor_proto(examples, dtype=tf.string))
    path = os.path.join(model_dir, WARMUP_FILE)
    fileio.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString())
    return path


def _main() -> None:
    """Imports TensorFlow, then reads one check (JSON) from stdin; none (stdin closed) ends it."""
    import tensorflow as tf
    line = sys.stdin.readline()
    if not line.strip():
        return
    job = json.loads(line)
    examples = [r.numpy() for r in tf.data.TFRecordDataset(job["sample_file"])]
    result = probe(job["model_dir"], examples, int(job["num_classes"]), job["task"])
    print(json.dumps({"problems": result.problems, "batch_ms": result.batch_ms}))


if __name__ == "__main__":
    _main()
