"""The documentation's Benchmarks page, made from the files the benchmarks write.

An MkDocs hook (``mkdocs.yml``: ``hooks``): where docs/benchmarks.md says
``<!-- bench/results -->``, each benchmark's latest ``bench/results/<name>.md`` is put in
under its title, so the page shows what was measured, never numbers copied by hand.
"""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MARKER = "<!-- bench/results -->"
# name -> (title, what it compares), in the page's order
BENCHMARKS = {
    "overhead": ("Fixed cost against TFX's own template", "the whole pipeline beside TFX's penguin-style template "
                 "pipeline on the same data, alternating runs"),
    "time_to_accuracy": ("Time to accuracy against the reference scripts", "the pipeline from raw files to a "
                         "pushed model beside a public reference training script, one after the other"),
    "ingest": ("Ingest", "each ExampleGen with 1 and 2 Beam workers beside a naive single-process loop"),
    "datasets": ("Datasets through the whole pipeline", "each spec model beside the course's model for its family"),
    "tabular_cv": ("Tabular models in 10-fold cross-validation", "the pipeline's model beside logistic "
                   "regression, gradient boosting and an SVM on the same folds"),
    "generative": ("Generative models", "the VAE and the GAN measured in one run"),
    "large_table": ("A large table through the whole pipeline", "the pipeline on a generated 1,000,000-row CSV "
                    "beside a plain pandas and Keras script doing the same work, one after the other"),
    "beam_workers": ("When 2 Beam workers pay", "the large table's pipeline at several sizes, Beam in-process "
                     "beside 2 DirectRunner workers: the basis of `tfxp run --beam-workers auto`"),
    "spec_init": ("Drafting a spec from a large table", "`tfxp spec init` beside `pandas.read_csv` of the same file"),
    "multi_worker": ("Local multi-worker throughput", "1 and 2 local workers on the same data"),
}


def results_markdown(results: Path = RESULTS) -> str:
    parts = []
    for name, (title, what) in BENCHMARKS.items():
        path = results / f"{name}.md"
        if not path.exists():
            continue
        lines = path.read_text().strip().splitlines()
        if lines and lines[0].startswith("# "):  # the file's own title: the page gives one
            lines = lines[1:]
        body = "\n".join(lines).replace("\n## ", "\n#### ").replace("\n### ", "\n#### ").strip()
        parts.append(f"## {title}\n\n`python -m bench.{name}`: {what}. From `bench/results/{name}.md`.\n\n{body}\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return markdown.replace(MARKER, results_markdown()) if MARKER in markdown else markdown
