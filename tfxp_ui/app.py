"""The UI's pages, a Flask application over ``RunSource``: datasets; a dataset's runs with
metric trends; a run's report, lineage and data; two runs side by side. Read-only: ML
Metadata is opened read-only and nothing is written; pages load nothing from the network."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from flask import Flask, abort, request, url_for

from tfxp_reports.metadata_store import MetadataStoreError
from tfxp_reports.report_html import environment, report_view
from tfxp_reports.run_history import RunRecord, compare, evaluated_runs
from tfxp_ui.stores import RunSource
from tfxp_ui.trends import trend_svg

TEMPLATES = str(Path(__file__).parent / "templates")
KEY_METRICS = 4  # metrics drawn as trends and listed per run


def _render(name: str, **context) -> str:
    return environment(TEMPLATES).get_template(name).render(url_for=url_for, **context)


def key_metrics(records: list[RunRecord]) -> list[str]:
    """The overall metrics the runs report, thresholded ones first, in the newest run's order."""
    names: dict[str, None] = {}
    for record in reversed(records):
        checks = (record.report or {}).get("evaluation", {}).get("checks", [])
        gated = [c["metric"] for c in checks if c["slice"] == "overall" and c["passed"] is not None]
        reported = [c["metric"] for c in checks if c["slice"] == "overall"]
        for name in gated + reported:
            names.setdefault(name)
    return list(names)[:KEY_METRICS]


def create_app(source: RunSource) -> Flask:
    app = Flask(__name__)
    # A run whose report is written does not change: its record and drawn plots are kept.
    records: dict[tuple[str, str], dict[int, RunRecord]] = {}
    views: dict[tuple[str, int], dict] = {}

    def runs_in(store: str, dataset: str) -> list[RunRecord]:
        return evaluated_runs(store, dataset, records.setdefault((store, dataset), {}))

    def runs_of(dataset: str) -> list[RunRecord]:
        stores = source.stores()
        if dataset not in stores:
            abort(404, f"no dataset {dataset!r} in {source.describe()}")
        return runs_in(stores[dataset], dataset)

    def one_run(records: list[RunRecord], run: Optional[str]) -> RunRecord:
        for record in records:
            if record.run == run:
                return record
        abort(404, f"no evaluated run {run!r}")

    @app.errorhandler(MetadataStoreError)
    def store_error(err):
        return _render("error.html", title="ML Metadata cannot be read", message=str(err)), 500

    @app.errorhandler(404)
    def not_found(err):
        return _render("error.html", title="Not found", message=err.description), 404

    @app.get("/")
    def index():
        rows = []
        for name, store in source.stores().items():
            runs = runs_in(store, name)
            served = next((r.served_version for r in reversed(runs) if r.served_version), "")
            rows.append({"dataset": name, "runs": len(runs), "last": runs[-1] if runs else None, "served": served})
        return _render("index.html", title="Datasets", rows=rows, source=source.describe())

    @app.get("/datasets/<dataset>/")
    def dataset_runs(dataset: str):
        runs = runs_of(dataset)
        metrics = key_metrics(runs)
        trends = [trend_svg(m, [r.overall_metrics().get(m) for r in runs], [r.blessed for r in runs],
                            [r.run for r in runs]) for m in metrics]
        return _render("runs.html", title=f"{dataset}: runs", dataset=dataset, records=list(reversed(runs)),
                       metrics=metrics, trends=trends)

    @app.get("/datasets/<dataset>/runs/<run>")
    def run_page(dataset: str, run: str):
        record = one_run(runs_of(dataset), run)
        if record.report is None:
            return _render("run.html", title=f"{dataset}: run {run}", dataset=dataset, record=record, view=None)
        key = (dataset, record.evaluation_id)
        if key not in views:
            views[key] = report_view(record.report)
        return _render("run.html", dataset=dataset, record=record, view=views[key], **views[key])

    @app.get("/datasets/<dataset>/compare")
    def compare_page(dataset: str):
        runs = runs_of(dataset)
        a, b = one_run(runs, request.args.get("a")), one_run(runs, request.args.get("b"))
        return _render("compare.html", title=f"{dataset}: run {a.run} and run {b.run}", dataset=dataset,
                       a=a, b=b, comparison=compare(a, b))

    return app
