"""Reports of runs: evaluation summaries, HTML pages, lineage and outcomes, read from ML Metadata (no TFX)."""
