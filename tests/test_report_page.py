"""Mammographic end to end, and its HTML report opened in headless Chromium (Debian's
`chromium` package, installed by ./dev test): the page loads without
console errors, has every section, and its screenshot is kept in test-artifacts/."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.local_run import LocalRun
from tests.pipeline_checks import classify_raw_rows, run_pipeline, serving_versions
from tfxp_contract.dataset_spec import load_spec
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri
from tfxp_reports.report_html import SECTIONS

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mammographic_run(tmp_path_factory, data_dir):
    """Two runs: the second evaluates the same model against the first's blessed one, so
    its report has a baseline to compare with."""
    run = LocalRun(dataset="mammographic", data_dir=str(data_dir), output_dir=str(tmp_path_factory.mktemp("mammo")))
    run_pipeline(run)
    first_outcome = latest_outcome(run.metadata_path)
    run_pipeline(run)
    return run, first_outcome


def test_mammographic_end_to_end(mammographic_run, data_dir):
    run, outcome = mammographic_run
    assert outcome.blessed and outcome.pushed
    [version] = serving_versions(run.serving_root)
    accuracy, outputs = classify_raw_rows(os.path.join(run.serving_root, version), load_spec("mammographic"),
                                          str(data_dir / "mammographic" / "mammographic_masses.data"))
    assert accuracy > 0.75  # the majority class is 54%
    assert set(outputs["classes"].numpy()) == {b"benign", b"malignant"}


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, which ./dev test installs before pytest starts."""
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (./dev test installs it: Debian's chromium package)")
    return found


def _headless(chromium: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", *args], capture_output=True, text=True, timeout=180)


def test_report_opens_in_chromium_with_every_section(chromium, mammographic_run):
    run, _ = mammographic_run
    page = Path(newest_artifact_uri(run.metadata_path, "ModelEvaluation")) / "report" / "report.html"
    url = page.as_uri()

    dom = _headless(chromium, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console_errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line
                      or "Failed to load resource" in line]
    assert not console_errors, console_errors
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in dom.stdout, section
    # Baseline comparison, confusion matrix, ROC/PR, calibration, training curves and the
    # features' histograms, all embedded.
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', dom.stdout)) == 6
    assert re.search(r'<td class="num">0\.\d{4}-[01]\.\d{4}</td>', dom.stdout)  # a 95% interval, right-aligned
    assert re.search(r"<h1>mammographic, \d{4}-\d\d-\d\d \d\d:\d\d UTC: BLESSED, (served as version \d+|not served)</h1>",
                     dom.stdout)  # the title: dataset, date, verdict, served version
    assert "http://" not in dom.stdout and "https://" not in dom.stdout  # nothing from the network
    assert "BLESSED" in dom.stdout and "shape=" in dom.stdout  # verdict and the spec's slices

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "mammographic-report.png"
    shot = _headless(chromium, "--hide-scrollbars", "--window-size=1100,4200", f"--screenshot={screenshot}", url)
    assert shot.returncode == 0 and screenshot.stat().st_size > 50_000, shot.stderr[-2000:]
