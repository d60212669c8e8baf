"""A user's own table through the whole pipeline, by the command line only: a spec written by
hand (own file, no sha256, `?` cells that the hash split puts in eval only for some columns),
then the same file changed by one byte, then a spec drafted by `tfxp spec init`."""
import hashlib
import json
from pathlib import Path

import pytest

from tests.helpers import tfxp_here
from tests.own_table import EVAL_ONLY, write_spec, write_table
from tfxp_contract.names import REPORT_DIR, SUMMARY_FILE
from tfxp_reports.outcome import newest_artifact_uri

pytestmark = pytest.mark.e2e


def test_own_csv_is_blessed_and_one_changed_byte_is_a_new_data_version(tmp_path):
    data = tmp_path / "data" / "customers.csv"
    data.parent.mkdir()
    missing = write_table(data)
    assert all(missing["train"][c] == 0 and missing["eval"][c] > 0 for c in EVAL_ONLY), missing
    spec = write_spec(tmp_path / "customers.yaml", "data/customers.csv")
    out = tmp_path / "out"

    first = tfxp_here("run", spec, "--output-dir", out)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "(the first run recorded here)" in first.stderr
    assert "model BLESSED and pushed as version" in first.stdout, first.stdout[-2000:]
    metadata = out / "my_churn" / "metadata.sqlite"
    evaluation = Path(newest_artifact_uri(str(metadata), "ModelEvaluation"))
    report = json.loads((evaluation / REPORT_DIR / SUMMARY_FILE).read_text())
    assert report["anomalies"] == []  # missing cells in eval only are declared, not anomalies
    for column in EVAL_ONLY:  # ...and the report counts them per split
        counts = {split: next(f["missing_count"] for f in stats["features"] if f["name"] == column)
                  for split, stats in report["statistics"].items()}
        assert counts == {"train": 0, "eval": missing["eval"][column]}, (column, counts)

    data.write_bytes(_one_byte_changed(data.read_bytes()))
    second = tfxp_here("run", spec, "--output-dir", out)
    assert second.returncode == 0, second.stderr[-3000:]
    first_version = first.stderr.split("data version ")[1].split()[0]
    assert f"(new: the last run read {first_version})" in second.stderr
    assert "model BLESSED and pushed as version" in second.stdout, second.stdout[-2000:]

    lineage = tfxp_here("lineage", spec, "--output-dir", out, "-o", "json")
    assert lineage.returncode == 0, lineage.stderr[-2000:]
    served = json.loads(lineage.stdout)["data"]
    assert served["files"] == {"customers.csv": hashlib.sha256(data.read_bytes()).hexdigest()}
    assert served["version"] != first_version and served["version"] in second.stderr


def _one_byte_changed(raw: bytes) -> bytes:
    """The same file with the last digit of one customer's age changed (30 <-> 31: in range)."""
    lines = raw.split(b"\r\n")
    row = next(i for i, line in enumerate(lines[1:], 1) if line.split(b",")[1][:1] in b"2345678")
    fields = lines[row].split(b",")
    fields[1] = fields[1][:-1] + (b"1" if fields[1][-1:] == b"0" else b"0")
    lines[row] = b",".join(fields)
    changed = b"\r\n".join(lines)
    assert len(changed) == len(raw) and sum(a != b for a, b in zip(changed, raw)) == 1
    return changed


def test_a_spec_drafted_by_spec_init_runs_unchanged_and_is_blessed(tmp_path):
    data = tmp_path / "customers.csv"
    write_table(data, seed=1)
    drafted = tfxp_here("spec", "init", data.name, "--label", "churn", "--out", "customers.yaml", cwd=tmp_path)
    assert drafted.returncode == 0, drafted.stderr[-2000:]
    run = tfxp_here("run", "customers.yaml", "--output-dir", "out", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "model BLESSED and pushed as version" in run.stdout, run.stdout[-2000:]
