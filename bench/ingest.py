"""Ingest speed: each of our ExampleGens against a single-process loop doing the same work, on
inputs large enough that fixed costs do not dominate, with Beam's DirectRunner in
multi-processing mode at 1 and 2 workers, side by side in one run.

Inputs (generated from the mirror's real files into a temporary folder):
- ``csv``: mammographic's rows repeated to ``--csv-rows`` (default 1,000,000) in ONE file;
- ``idx``: MNIST's training images repeated to ``--idx-images`` (default 300,000) as one IDX
  pair, the test pair as the eval split;
- ``archive``: a tar of ``--archive-files`` (default 240,000) small JPEGs in class folders
  (MNIST's training digits, repeated), one archive.

Four ways, each writing gzipped TFRecords (train/eval by the same kind of split):
- the naive loop, the baseline of every ratio: one process reads with the ExampleGens' own
  readers and parsers, encodes as one would with the libraries' APIs (PIL's PNG, tf.train.Example
  objects serialized one by one) and writes;
- the same loop with our encoders (``components/ingest/workers/record_encoding.py``: the wire format and PNG
  written directly, as the ExampleGens do), to tell the encoding's gain from Beam's;
- the ExampleGen's executor with 1 and 2 Beam workers.
Each
measurement runs in its own process: its time counts from reading to the last record written
(not Python's start-up), its memory is the peak resident memory of the process and its
children (the Beam workers), summed. Columns: records/s, ratio to the naive loop (above 1:
faster than the loop), 2 workers ÷ 1 worker, peak memory, load.

  python -m bench.ingest --data-dir ../shared/datasets           # ~18 min on 2 cores
  python -m bench.ingest --data-dir ../shared/datasets --kinds idx --idx-images 100000
"""
from __future__ import annotations

import argparse
import gzip
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
KINDS = ("csv", "idx", "archive")
SHARDS = 4
ARCHIVE_LABELS = [str(d) for d in range(10)]
LOOPS = ("naive", "ours")  # the loop's encoders (see _records)
WAYS = {"naive": "naive loop (1 process)", "ours": "loop, our encoders (1 process)",
        "1": "ExampleGen, 1 worker", "2": "ExampleGen, 2 workers"}


# --- inputs ------------------------------------------------------------------------------------

def make_csv(data_dir: str, folder: Path, rows: int) -> Path:
    source = Path(data_dir) / "mammographic" / "mammographic_masses.data"
    lines = [line for line in source.read_text().splitlines() if line.strip()]
    folder.mkdir(parents=True)
    with open(folder / "masses.csv", "w") as f:
        for i in range(rows):
            f.write(lines[i % len(lines)] + "\n")
    return folder


def _idx(path: Path, magic: bytes, dims: tuple, payload: bytes) -> None:
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(magic + b"".join(d.to_bytes(4, "big") for d in dims) + payload)


def make_idx(data_dir: str, folder: Path, images: int) -> Path:
    from components.ingest.workers.idx_records import read_pairs
    source = (Path(data_dir) / "mnist").resolve()
    pairs = list(read_pairs(str(source / "train-images-idx3-ubyte.gz"), str(source / "train-labels-idx1-ubyte.gz")))
    pixels = np.stack([p for _, p, _ in pairs])
    labels = np.array([label for _, _, label in pairs], np.uint8)
    reps = -(-images // len(pixels))
    pixels, labels = np.tile(pixels, (reps, 1, 1))[:images], np.tile(labels, reps)[:images]
    folder.mkdir(parents=True)
    _idx(folder / "train-images-idx3-ubyte.gz", b"\x00\x00\x08\x03", pixels.shape, pixels.tobytes())
    _idx(folder / "train-labels-idx1-ubyte.gz", b"\x00\x00\x08\x01", labels.shape, labels.tobytes())
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        os.symlink(source / name, folder / name)
    return folder


def make_archive(data_dir: str, folder: Path, files: int) -> Path:
    """MNIST's training digits as JPEGs in class folders, repeated (each copy its own file
    name) up to ``files``."""
    from PIL import Image

    from components.ingest.workers.idx_records import read_pairs
    source = Path(data_dir) / "mnist"
    folder.mkdir(parents=True)
    images, labels = str(source / "train-images-idx3-ubyte.gz"), str(source / "train-labels-idx1-ubyte.gz")
    copies = itertools.chain.from_iterable(read_pairs(images, labels) for _ in itertools.count())
    with tarfile.open(folder / "digits.tar", "w") as tar:
        for number, (_, pixels, label) in enumerate(itertools.islice(copies, files)):
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
            info = tarfile.TarInfo(f"digits/{label}/{number:07d}.jpg")
            info.size = buffer.tell()
            buffer.seek(0)
            tar.addfile(info, buffer)
    return folder


def bench_spec(kind: str):
    from tfxp_contract.dataset_spec import load_spec, spec_from_dict
    if kind == "csv":
        return load_spec("mammographic")
    if kind == "idx":
        return load_spec("mnist")
    return spec_from_dict({
        "name": "digits_archive", "format": "archive",
        "files": [{"name": "digits.tar", "url": "https://example.org/digits.tar", "sha256": "0" * 64}],
        "columns": [{"name": "image", "type": "image", "shape": [28, 28, 1]}, {"name": "label", "type": "categorical"}],
        "label": {"column": "label", "values": ARCHIVE_LABELS}, "model": {"family": "cnn"},
        "metrics": [{"name": "accuracy", "lower_bound": 0.5}]})


# --- the two ways of doing the work -----------------------------------------------------------

def _split_of(record: bytes) -> str:
    return "eval" if zlib.crc32(record) % 5 == 0 else "train"


def _naive_example(features: dict) -> bytes:
    """A record as one would write it with TensorFlow's API: protobuf objects, then bytes."""
    import tensorflow as tf
    feature = {}
    for name, value in features.items():
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, bytes):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        elif value is not None:
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def _pil_png(pixels: np.ndarray) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _records(kind: str, input_dir: Path, encoders: str) -> dict:
    """{split or "all": serialized records}, read by the readers the ExampleGens use, encoded
    by ``encoders``: "naive" (PIL, tf.train.Example objects) or "ours" (``record_encoding``,
    as the ExampleGens encode)."""
    spec = bench_spec(kind)
    naive = encoders == "naive"
    if kind == "csv":
        from components.ingest.workers.delimited_rows import read_rows, row_bytes
        rows = read_rows(spec, str(input_dir / "masses.csv"))
        return {"all": (_naive_example(row) if naive else row_bytes(row) for row in rows)}
    if kind == "idx":
        from components.ingest.workers.idx_reading import CHUNK, record_bytes
        from components.ingest.workers.idx_records import find_pair, read_pairs

        def split(pattern: str):
            pairs = read_pairs(*find_pair(sorted(str(p) for p in input_dir.glob(pattern))))
            if naive:
                yield from (_naive_example({"image": _pil_png(pixels), "label": str(label)}) for _, pixels, label in pairs)
                return
            while chunk := list(itertools.islice(pairs, CHUNK)):
                yield from record_bytes(np.stack([p for _, p, _ in chunk]), [label for _, _, label in chunk])
        return {"train": split("train-*"), "eval": split("t10k-*")}
    from components.ingest.archive_example_gen import archive_config
    from components.ingest.workers.archive_reading import record_bytes
    from components.ingest.workers.archive_records import read_archive
    c = archive_config(spec, None)
    files = read_archive(str(input_dir / "digits.tar"), "image", ARCHIVE_LABELS, (".jpg",))
    return {"all": (_naive_example({c["feature"]: r.content, c["label"]: r.label}) if naive
                    else record_bytes(c["feature"], r.content, c["label"], r.label) for r in files)}


def loop(kind: str, input_dir: Path, out: Path, encoders: str) -> int:
    """The work in one process: read, parse/encode, serialize, write gzipped TFRecords."""
    import tensorflow as tf
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    count = 0
    out.mkdir(parents=True)
    for name, records in _records(kind, input_dir, encoders).items():
        writers = {}
        for record in records:
            split = name if name != "all" else _split_of(record)
            if split not in writers:
                writers[split] = tf.io.TFRecordWriter(str(out / f"{split}.gz"), options)
            writers[split].write(record)
            count += 1
        for writer in writers.values():
            writer.close()
    return count


def example_gen(kind: str, input_dir: Path, out: Path, workers: int) -> int:
    """The ExampleGen's executor, as the pipeline runs it, on Beam's multi-processing DirectRunner."""
    from google.protobuf import json_format
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts, standard_component_specs
    from tfx.utils import proto_utils

    from components.ingest import archive_example_gen, csv_example_gen, idx_example_gen
    from components.ingest.archive_example_gen import archive_config
    from components.ingest.sharded_example_gen import pack_config
    from infra.dataflow import direct_runner_args
    spec = bench_spec(kind)
    if kind == "idx":
        executor, config, output = idx_example_gen.Executor, {"max_examples": 0}, example_gen_pb2.Output()
        inputs = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="train", pattern="train-*"),
                                               example_gen_pb2.Input.Split(name="eval", pattern="t10k-*")])
    else:
        inputs = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="all", pattern="*")])
        output = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
            example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=4),
            example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1)]))
        if kind == "csv":
            executor, config = csv_example_gen.Executor, {"spec": spec.to_json()}
        else:
            executor, config = archive_example_gen.Executor, archive_config(spec, None)
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    exec_properties = {
        standard_component_specs.INPUT_BASE_KEY: str(input_dir),
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(inputs),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(output),
        standard_component_specs.CUSTOM_CONFIG_KEY: json_format.MessageToJson(
            pack_config({**config, "num_shards": SHARDS})),
        standard_component_specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
    }
    context = BaseBeamExecutor.Context(beam_pipeline_args=direct_runner_args(workers), tmp_dir=str(out) + "-tmp")
    executor(context).Do({}, {standard_component_specs.EXAMPLES_KEY: [examples]}, exec_properties)
    return -1  # counted after the clock stops


def count_records(folder: Path) -> int:
    import tensorflow as tf
    files = [str(p) for p in folder.rglob("*.gz")]
    return int(tf.data.TFRecordDataset(files, compression_type="GZIP").reduce(np.int64(0), lambda n, _: n + 1))


def _one(args) -> None:
    """Child process: do one measurement, print its JSON."""
    out, input_dir = Path(args.out), Path(args.input)
    # imported before the clock starts: the measurement is the work, not Python's start-up
    import apache_beam  # noqa: F401
    import tensorflow  # noqa: F401
    from tfx.dsl.components.base import base_beam_executor  # noqa: F401

    from components.ingest import archive_example_gen, csv_example_gen, idx_example_gen  # noqa: F401
    start = time.monotonic()
    if args.way in LOOPS:
        loop(args.one, input_dir, out, args.way)
    else:
        example_gen(args.one, input_dir, out, int(args.way))
    seconds = time.monotonic() - start
    print(json.dumps({"seconds": seconds, "records": count_records(out)}))


# --- the benchmark -----------------------------------------------------------------------------

def measure(kind: str, input_dir: Path, work: Path, way: str) -> dict:
    from bench.overhead import MEASURED_ENV, PeakMemory
    out = work / f"{kind}-{way}"
    load = os.getloadavg()[0]
    process = subprocess.Popen([sys.executable, "-m", "bench.ingest", "--one", kind, "--way", way,
                                "--input", str(input_dir), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=open(str(out) + ".log", "w"), text=True,
                               env={**os.environ, **MEASURED_ENV})  # its Beam workers too
    memory = PeakMemory(process.pid)
    stdout, _ = process.communicate()
    peak = memory.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{kind}, {WAYS[way]}: failed; see {out}.log")
    result = json.loads(stdout.strip().splitlines()[-1])
    return {"way": way, "seconds": round(result["seconds"], 1), "records": result["records"],
            "records_per_s": round(result["records"] / result["seconds"]), "peak_mib": round(peak / 2**20),
            "load": [round(load, 2), round(os.getloadavg()[0], 2)]}


def markdown(result: dict) -> str:
    lines = [f"{result['cpus']} cores. × loop: records/s ÷ the naive loop's (one process reading with the same "
             "readers, encoding with PIL and tf.train.Example objects; above 1: faster); the loop with our encoders "
             "(`components/ingest/workers/record_encoding.py`, as the ExampleGens encode) shows how much of that is the encoding. "
             "2 ÷ 1: the 2-worker rate ÷ the 1-worker rate. Each input's rows are measured one after another in "
             "one run.",
             "", "| input | records | way | s | records/s | × loop | 2 ÷ 1 worker | peak memory (MiB) | load | measured |",
             "|---|---:|---|---:|---:|---:|---:|---:|---|---|"]
    for kind, rows in result["kinds"].items():
        base = rows[0]["records_per_s"]
        one = next((r["records_per_s"] for r in rows if r["way"] == "1"), None)
        for r in rows:
            scaling = f"{r['records_per_s'] / one:.2f}" if r["way"] == "2" and one else ""
            lines.append(f"| {kind} ({result['inputs'][kind]}) | {r['records']:,} | {WAYS[r['way']]} | {r['seconds']} | "
                         f"{r['records_per_s']:,} | {r['records_per_s'] / base:.2f} | {scaling} | {r['peak_mib']} | "
                         f"{min(r['load']):.1f}-{max(r['load']):.1f} | {result['measured'][kind]} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"),
                        help="local mirror holding mammographic/ and mnist/ (default: $TFXP_DATA_DIR)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS),
                        help="which ways to measure (default all; the first is every ratio's baseline)")
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--idx-images", type=int, default=300_000)
    parser.add_argument("--archive-files", type=int, default=240_000)
    parser.add_argument("--results", default=str(RESULTS), help="folder for ingest.json and ingest.md")
    parser.add_argument("--one", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--way", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return _one(args)
    if not args.data_dir:
        parser.error("--data-dir (or TFXP_DATA_DIR) is needed: the inputs are made from a local mirror")
    sizes = {"csv": f"{args.csv_rows:,} rows, one file", "idx": f"{args.idx_images:,} + 10,000 images",
             "archive": f"{args.archive_files:,} JPEGs, one tar"}
    makers = {"csv": (make_csv, args.csv_rows), "idx": (make_idx, args.idx_images),
              "archive": (make_archive, args.archive_files)}
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    previous = json.loads((out / "ingest.json").read_text()) if (out / "ingest.json").exists() else {}
    kept = {kind: rows for kind, rows in previous.get("kinds", {}).items() if all("way" in r for r in rows)}
    result = {"cpus": os.cpu_count(), "inputs": previous.get("inputs", {}), "kinds": kept,
              "measured": previous.get("measured", {})}
    work = Path(tempfile.mkdtemp(prefix="tfxp-ingest-"))
    for kind in args.kinds:  # each kind's rows replace its old ones as soon as they are measured
        print(f"{kind}: making the input ({sizes[kind]})", file=sys.stderr, flush=True)
        make, size = makers[kind]
        input_dir = make(args.data_dir, work / f"{kind}-input", size)
        rows = []
        for way in args.ways:
            print(f"{kind}: {WAYS[way]}", file=sys.stderr, flush=True)
            rows.append(measure(kind, input_dir, work, way))
        if len({r["records"] for r in rows}) != 1:
            raise RuntimeError(f"{kind}: the ways wrote different numbers of records: {rows}")
        result["kinds"][kind], result["inputs"][kind] = rows, sizes[kind]
        result["measured"][kind] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        (out / "ingest.json").write_text(json.dumps(result, indent=1))
        (out / "ingest.md").write_text(markdown(result))
        shutil.rmtree(work / f"{kind}-input")
    shutil.rmtree(work)  # kept (with each process's log) when a measurement fails
    print(markdown(result))


if __name__ == "__main__":
    main()
