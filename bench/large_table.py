"""A large table through the whole pipeline, beside a plain script doing the same work.

Writes the generated CSV of ``bench.spec_init`` (``--rows``, default 1,000,000; 21 columns: 14
numeric with scattered empty cells, 6 categorical, a yes/no label), drafts its spec with
`tfxp spec init` (as a user would), then, one after the other in one run, times and measures
the peak memory of:

(a) a plain script (``bench.large_table_script``): ``pandas.read_csv``, a 4:1 split of the rows by content, z-scores
    of the numeric columns learned on the training rows (an empty cell: the mean, and a missing
    indicator), one-hot categoricals, the drafted model's layers (the dense family: hidden
    units, dropout, L2, Adam at the drafted rate and batch size) trained one epoch, accuracy on
    the held-out rows;
(b) ``tfxp run`` of the drafted spec with ``--set epochs=1``: ExampleGen to the push, with
    statistics, schema, validation, tf.Transform, TFMA and the serving check; once per
    ``--beam-workers`` value (Beam in-process, then 2 DirectRunner workers, by default).

Goal: (b) in ≤ 2.0× (a)'s time with a peak of ≤ 2 GB (the process and its children).

  python -m bench.large_table [--rows 1000000] [--beam-workers 0 2]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.datasets import component_list, component_seconds
from bench.large_table_script import LABEL
from bench.overhead import RESULTS, timed_process
from bench.spec_init import write_table
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.run_folders import RunFolders
from tfxp_reports.evaluation_summary import summarize
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri

GOALS = {"ratio": 2.0, "peak_mib": 2048}


def drafted_table(rows: int, work: Path) -> tuple[Path, Path]:
    """The generated CSV of ``rows`` rows and its spec as `tfxp spec init` drafts it."""
    table = work / "table.csv"
    write_table(table, rows)
    spec_path = work / "table.yaml"
    timed_process([sys.executable, "-m", "tfxp_cli", "spec", "init", str(table), "--label", LABEL, "--out",
                   str(spec_path), "--force"], work / "spec_init.log")
    return table, spec_path


def measure(rows: int, work: Path, beam_workers: list[str]) -> dict:
    table, spec_path = drafted_table(rows, work)
    plain = timed_process([sys.executable, "-m", "bench.large_table_script", str(table), str(spec_path)],
                          work / "plain.log")
    plain["accuracy"] = round(json.loads((work / "plain.log").read_text().strip().splitlines()[-1])["accuracy"], 4)
    pipelines = [run_pipeline(spec_path, work / f"pipeline-{workers}", workers, plain["wall_s"])
                 for workers in beam_workers]
    return {"rows": rows, "columns": 21, "file_mib": round(table.stat().st_size / 2**20, 1),
            "plain_script": plain, "pipelines": pipelines, "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def run_pipeline(spec_path: Path, output: Path, beam_workers: str, plain_seconds: float) -> dict:
    """(b) with ``--beam-workers`` as given: a number (0: Beam in-process) or auto."""
    since = int(time.time() * 1000)
    command = [sys.executable, "-m", "tfxp_cli", "run", str(spec_path), "--output-dir", str(output), "--set", "epochs=1"]
    command += ["--beam-workers", str(beam_workers)]
    ours = timed_process(command, output.with_suffix(".log"))
    spec = load_spec(str(spec_path))
    metadata = RunFolders(str(output), spec.name).metadata_path
    summary = summarize(newest_artifact_uri(metadata, "ModelEvaluation"), spec, bool(latest_outcome(metadata).blessed))
    [overall] = [c for c in summary.checks if c.metric == "accuracy" and c.slice == "overall"]
    return {**ours, "beam_workers": beam_workers, "accuracy": round(overall.value, 4),
            "components": component_seconds(metadata, since), "ratio": round(ours["wall_s"] / plain_seconds, 2)}


def markdown(result: dict) -> str:
    plain = result["plain_script"]
    lines = [
        "# A large table through the whole pipeline",
        "",
        "`python -m bench.large_table`",
        "",
        f"Measured {result['measured']}: a generated CSV of {result['rows']:,} rows × {result['columns']} columns "
        f"({result['file_mib']} MiB), its spec drafted by `tfxp spec init`, one epoch; the plain script, then the "
        f"pipeline, one after the other in one run. Goal: the pipeline in ≤ {GOALS['ratio']}× the script's time "
        f"with a peak of ≤ {GOALS['peak_mib']} MiB.",
        "",
        "| what | accuracy | wall (s) | peak memory (MiB) | load | ratio | goal |",
        "|---|---:|---:|---:|---|---:|---|",
        f"| plain script (pandas, z-scores, one-hot, the drafted Keras model, 1 epoch) | {plain['accuracy']:.4f} | "
        f"{plain['wall_s']} | {plain['peak_mib']} | {plain['load'][0]}-{plain['load'][1]} | 1 | |"]
    for ours in result["pipelines"]:
        met = ours["ratio"] <= GOALS["ratio"] and ours["peak_mib"] <= GOALS["peak_mib"]
        workers = {"0": "Beam in-process", "auto": "--beam-workers auto"}.get(
            str(ours["beam_workers"]), f"{ours['beam_workers']} Beam workers")
        lines.append(f"| `tfxp run`, {workers} (ExampleGen to the push, `--set epochs=1`) | {ours['accuracy']:.4f} | "
                     f"{ours['wall_s']} | {ours['peak_mib']} | {ours['load'][0]}-{ours['load'][1]} | "
                     f"**{ours['ratio']}×** | {'met' if met else 'not met'} |")
    lines.append("")
    for ours in result["pipelines"]:
        workers = "in-process" if str(ours["beam_workers"]) == "0" else ours["beam_workers"]
        lines.append(f"- components (s), {workers}: {component_list(ours['components'])}")
    return "\n".join(lines + [""])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--beam-workers", nargs="+", default=["0", "2"], metavar="N|auto",
                        help="a pipeline run per value, with tfxp run --beam-workers N (0: Beam in-process); "
                             "default 0 2")
    parser.add_argument("--results", default=str(RESULTS), help="folder for large_table.json and large_table.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tfxp-large-table-") as work:
        result = measure(args.rows, Path(work), args.beam_workers)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    (results / "large_table.json").write_text(json.dumps(result, indent=1))
    (results / "large_table.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
