"""Fixed cost: our whole pipeline against TFX's own template pipeline, same rows, same model,
same machine, in one run.

For each tabular dataset, ``tfxp run <dataset>`` (our 9 components: ExampleGen from the
published file, statistics, schema from the spec, validator and its gate, Transform, Trainer,
Evaluator with slices and AUC, serving check and atomic push, report) and
``bench.template_pipeline`` (stock CsvExampleGen ... Pusher, the penguin template's shape) run
as fresh processes in fresh folders, alternating, ``--repeats`` times each. A row: process
wall time (start to exit), the Trainer's own time from ML Metadata, the time outside it, the
peak resident memory of the process and its children (summed, sampled every 0.2 s), the
machine's load average. The ratio is ours ÷ the template's median wall time: below 1 is faster.

  python -m bench.overhead --data-dir ../shared/datasets            # ~13 min on 2 cores
  python -m bench.overhead --data-dir ../shared/datasets --datasets mammographic --repeats 1
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.datasets import component_list, component_seconds
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.run_folders import RunFolders

RESULTS = Path(__file__).parent / "results"
DATASETS = ("house_votes", "mammographic")


class PeakMemory:
    """Peak of the summed resident memory of a process and all its descendants."""

    def __init__(self, pid: int, interval: float = 0.2):
        import psutil
        self._root, self._interval, self.peak_bytes = psutil.Process(pid), interval, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        import psutil
        while not self._done.is_set():
            total = 0
            try:
                for p in [self._root, *self._root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            self.peak_bytes = max(self.peak_bytes, total)
            self._done.wait(self._interval)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak_bytes


# Every measured process (ours and each baseline) starts with Keras 2, as tfxp runs: no ratio is
# won or lost by that setting.
MEASURED_ENV = {"TF_USE_LEGACY_KERAS": "1"}
LOG_TAIL_LINES = 30


def timed_process(command: list[str], log_path: Path) -> dict:
    """Runs ``command`` to completion (with ``MEASURED_ENV``): wall seconds, peak memory (MiB),
    load before and after."""
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **MEASURED_ENV})
        memory = PeakMemory(process.pid)
        code = process.wait()
    wall = time.monotonic() - start
    peak = memory.stop()
    if code != 0:  # the log's end in the message: a benchmark's temporary folder goes with it
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
        raise RuntimeError(f"{' '.join(command)} exited with {code}; the end of {log_path}:\n{tail}")
    return {"wall_s": round(wall, 1), "peak_mib": round(peak / 2**20), "load": [round(load_before, 2),
                                                                                 round(os.getloadavg()[0], 2)]}


def run_ours(dataset: str, data_dir: str, folder: Path) -> dict:
    since = int(time.time() * 1000)
    row = timed_process([sys.executable, "-m", "tfxp_cli.main", "run", dataset, "--data-dir", data_dir,
                         "--output-dir", str(folder)], folder.with_suffix(".log"))
    seconds = component_seconds(RunFolders(str(folder), load_spec(dataset).name).metadata_path, since)
    return {**row, "components": seconds}


def run_template(dataset: str, csv_dir: Path, folder: Path) -> dict:
    since = int(time.time() * 1000)
    # Keras 2 for tf.keras from the start, as tfxp sets it: the configuration TFX 1.16 documents
    # with TensorFlow 2.16, so the template does not import Keras 3 either.
    row = timed_process([sys.executable, "-m", "bench.template_pipeline", dataset, "--csv-dir", str(csv_dir),
                         "--output-dir", str(folder)], folder.with_suffix(".log"))
    return {**row, "components": component_seconds(str(folder / "metadata.sqlite"), since)}


def summarize(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    trainer = [r["components"].get("Trainer", 0.0) for r in runs]
    return {"wall_s": statistics.median(walls), "walls": walls, "trainer_s": statistics.median(trainer),
            "outside_trainer_s": statistics.median(w - t for w, t in zip(walls, trainer)),
            "peak_mib": max(r["peak_mib"] for r in runs), "load": [x for r in runs for x in r["load"]],
            "components": runs[-1]["components"]}


def measure(dataset: str, data_dir: str, repeats: int, work: Path) -> dict:
    from bench.template_pipeline import write_template_csv  # TensorFlow and TFX: not for --help
    csv_dir = work / f"{dataset}-csv"
    write_template_csv(load_spec(dataset), data_dir, csv_dir)
    ours, template = [], []
    for i in range(repeats):  # alternating, so a slow spell of the machine hits both
        print(f"{dataset}: template run {i + 1}/{repeats}", file=sys.stderr, flush=True)
        template.append(run_template(dataset, csv_dir, work / f"{dataset}-template-{i}"))
        print(f"{dataset}: our run {i + 1}/{repeats}", file=sys.stderr, flush=True)
        ours.append(run_ours(dataset, data_dir, work / f"{dataset}-ours-{i}"))
    row = {"dataset": dataset, "ours": summarize(ours), "template": summarize(template)}
    row["ratio"] = round(row["ours"]["wall_s"] / row["template"]["wall_s"], 2)
    row["outside_trainer_ratio"] = round(row["ours"]["outside_trainer_s"] / row["template"]["outside_trainer_s"], 2)
    return row


def markdown(result: dict) -> str:
    lines = [f"Measured {result['measured']} on {result['cpus']} cores, {result['repeats']} run(s) each, alternating; "
             "medians. Ratio: ours ÷ template (below 1: ours is faster).", "",
             "| dataset | pipeline | wall (s) | Trainer (s) | outside Trainer (s) | peak memory (MiB) | load | ratio |",
             "|---|---|---:|---:|---:|---:|---|---:|"]
    for row in result["rows"]:
        for name in ("template", "ours"):
            r = row[name]
            ratio = f"**{row['ratio']:.2f}×** (outside Trainer {row['outside_trainer_ratio']:.2f}×)" \
                if name == "ours" else "1"
            lines.append(f"| {row['dataset']} | {'TFX template' if name == 'template' else 'tfxp run'} | "
                         f"{r['wall_s']:.1f} | {r['trainer_s']:.1f} | {r['outside_trainer_s']:.1f} | {r['peak_mib']} | "
                         f"{min(r['load']):.1f}-{max(r['load']):.1f} | {ratio} |")
    lines += ["", "Per component (s, last run of each):", ""]
    for row in result["rows"]:
        for name in ("template", "ours"):
            lines.append(f"- {row['dataset']}, {name}: {component_list(row[name]['components'])}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"),
                        help="local mirror of the published files (default: $TFXP_DATA_DIR)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), help="tabular datasets to time")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each pipeline per dataset (default: 2)")
    parser.add_argument("--results", default=str(RESULTS), help="folder for overhead.json and overhead.md")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("--data-dir (or TFXP_DATA_DIR) is needed: the benchmark reads a local mirror")
    with tempfile.TemporaryDirectory(prefix="tfxp-overhead-") as work:
        rows = [measure(d, args.data_dir, args.repeats, Path(work)) for d in args.datasets]
    result = {"measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
              "repeats": args.repeats, "rows": rows}
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "overhead.json").write_text(json.dumps(result, indent=1))
    (out / "overhead.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
