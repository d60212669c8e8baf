"""Where 2 Beam workers start to pay: the large table's pipeline (``bench.large_table``: a
generated CSV, its drafted spec, one epoch) at several sizes, Beam in-process then 2
DirectRunner workers, side by side at each size in one run. The size where the 2-worker run
becomes the faster one (interpolated between the measured sizes) is the measured basis of
``tfxp run --beam-workers auto`` (``infra.dataflow.AUTO_WORKERS_FROM_MIB``).

  python -m bench.beam_workers [--rows 50000 250000]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.large_table import drafted_table, run_pipeline
from bench.overhead import RESULTS
from infra.dataflow import AUTO_WORKERS_FROM_MIB


def measure(rows: int, work: Path) -> dict:
    table, spec_path = drafted_table(rows, work)
    runs = {w: run_pipeline(spec_path, work / f"pipeline-{w}", w, 1.0) for w in ("0", "2")}
    return {"rows": rows, "file_mib": round(table.stat().st_size / 2**20, 1),
            "in_process_s": runs["0"]["wall_s"], "two_workers_s": runs["2"]["wall_s"],
            "load": [min(r["load"][0] for r in runs.values()), max(r["load"][1] for r in runs.values())]}


def crossing_mib(points: list[dict]) -> float | None:
    """The file size where (2 workers − in-process) seconds crosses zero, linearly between
    measured sizes; None when no pair of neighbouring sizes brackets it."""
    points = sorted(points, key=lambda p: p["file_mib"])
    for a, b in zip(points, points[1:]):
        da, db = a["two_workers_s"] - a["in_process_s"], b["two_workers_s"] - b["in_process_s"]
        if da >= 0 > db:
            return round(a["file_mib"] + da / (da - db) * (b["file_mib"] - a["file_mib"]), 1)
    return None


def markdown(result: dict) -> str:
    lines = ["# When 2 Beam workers pay", "", "`python -m bench.beam_workers`", "",
             f"Measured {result['measured']} on {result['cpus']} cores: the large table's pipeline (`bench.large_table`, "
             "its drafted spec, one epoch, ExampleGen to the push) at each size, Beam in-process then 2 DirectRunner "
             "workers, one after the other.", "",
             "| rows | file (MiB) | in-process (s) | 2 workers (s) | 2 workers ÷ in-process | load |",
             "|---:|---:|---:|---:|---:|---|"]
    for p in result["points"]:
        lines.append(f"| {p['rows']:,} | {p['file_mib']} | {p['in_process_s']} | {p['two_workers_s']} | "
                     f"{p['two_workers_s'] / p['in_process_s']:.2f} | {p['load'][0]}-{p['load'][1]} |")
    crossing = result["crossing_mib"]
    lines += ["", (f"2 workers become faster at about **{crossing} MiB** of input (interpolated)."
                   if crossing is not None else "No measured pair of sizes brackets the crossing."),
              f"`tfxp run --beam-workers auto` (the default) starts 2 workers from {result['auto_from_mib']} MiB."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 250_000])
    parser.add_argument("--results", default=str(RESULTS), help="folder for beam_workers.json and beam_workers.md")
    args = parser.parse_args(argv)
    points = []
    for rows in args.rows:
        print(f"{rows:,} rows ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="tfxp-beam-workers-") as work:
            points.append(measure(rows, Path(work)))
        print(json.dumps(points[-1]), file=sys.stderr, flush=True)
    result = {"cpus": os.cpu_count(), "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "points": points, "crossing_mib": crossing_mib(points), "auto_from_mib": AUTO_WORKERS_FROM_MIB}
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    (results / "beam_workers.json").write_text(json.dumps(result, indent=1))
    (results / "beam_workers.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
