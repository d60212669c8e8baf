"""`tfxp spec init` on a large generated table, beside reading the same file with pandas.

Writes a CSV of ``--rows`` rows and 21 columns (14 numeric with scattered empty cells, 6
categorical, a yes/no label), then, one after the other in one run, times and measures the peak
memory of (a) a plain `pandas.read_csv` of the file, what a user would do to look at it, and
(b) `tfxp spec init` drafting a spec from it (reads every row, fits the quick baseline).
Goal: 1,000,000 rows in 10 s and 300 MB or less.

  python -m bench.spec_init [--rows 1000000]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.overhead import RESULTS, timed_process

PANDAS_READ = "import pandas, sys; frame = pandas.read_csv(sys.argv[1]); print(frame.shape)"


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns = {f"x{i}": np.round(rng.normal(size=rows), 4).astype(object) for i in range(14)}
    for values in list(columns.values())[:4]:
        values[rng.random(rows) < 0.02] = ""  # empty cells
    for i in range(6):
        columns[f"c{i}"] = rng.choice(["north", "south", "east", "west", "centre"], size=rows)
    signal = sum(np.where(columns[f"x{i}"] == "", 0.0, columns[f"x{i}"]).astype(float) for i in range(4, 8))
    columns["churn"] = np.where(signal + rng.normal(size=rows) > 0, "yes", "no")
    pd.DataFrame(columns).to_csv(path, index=False)


def measure(rows: int, work: Path) -> dict:
    table = work / "table.csv"
    start = time.monotonic()
    write_table(table, rows)
    written = round(time.monotonic() - start, 1)
    pandas = timed_process([sys.executable, "-c", PANDAS_READ, str(table)], work / "pandas.log")
    ours = timed_process([sys.executable, "-m", "tfxp_cli", "spec", "init", str(table), "--label", "churn", "--out",
                          str(work / "table.yaml"), "--force"], work / "spec_init.log")
    summary = (work / "spec_init.log").read_text().strip().splitlines()
    return {"rows": rows, "columns": 21, "file_mib": round(table.stat().st_size / 2**20, 1), "write_s": written,
            "pandas_read_csv": pandas, "spec_init": ours, "ratio": round(ours["wall_s"] / pandas["wall_s"], 2),
            "summary": [line for line in summary if line.startswith(str(work))][-1:],
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def markdown(result: dict) -> str:
    pandas, ours = result["pandas_read_csv"], result["spec_init"]
    return "\n".join([
        "# `tfxp spec init` on a large table",
        "",
        f"Measured {result['measured']}: a generated CSV of {result['rows']:,} rows × {result['columns']} columns "
        f"({result['file_mib']} MiB), read one after the other in one run. Goal: 1,000,000 rows in ≤ 10 s and "
        "≤ 300 MB.",
        "",
        "| what | wall (s) | peak memory (MiB) | load | ratio |",
        "|---|---:|---:|---|---:|",
        f"| pandas.read_csv of the file | {pandas['wall_s']} | {pandas['peak_mib']} | {pandas['load'][0]}-"
        f"{pandas['load'][1]} | 1 |",
        f"| tfxp spec init (every row read, quick baseline fitted) | {ours['wall_s']} | {ours['peak_mib']} | "
        f"{ours['load'][0]}-{ours['load'][1]} | **{result['ratio']}×** |",
        "",
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--results", default=str(RESULTS), help="folder for spec_init.json and spec_init.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tfxp-spec-init-") as work:
        result = measure(args.rows, Path(work))
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    (results / "spec_init.json").write_text(json.dumps(result, indent=1))
    (results / "spec_init.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
