"""Batch inference in the pipeline: a spec's `inference` rows (no label) are scored by the
blessed model with TFX's BulkInferrer, and `tfxp predictions` reads them back."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from components.ingest.csv_example_gen import to_example
from components.ingest.workers.delimited_rows import parse_fields
from tests.helpers import builtin_spec_dict, tfxp_here, write_spec
from tests.pipeline_checks import serving_versions
from tfxp_contract.dataset_spec import load_spec

pytestmark = pytest.mark.e2e


def test_every_unlabelled_row_gets_a_prediction_from_the_blessed_model(tmp_path, data_dir):
    lines = (data_dir / "house_votes" / "house-votes-84.data").read_text().splitlines()[:37]
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "rows.csv").write_text("".join(",".join(line.split(",")[1:]) + "\n" for line in lines))
    raw = builtin_spec_dict("house_votes")
    raw["inference"] = {"folder": "new", "pattern": "*.csv"}  # relative to the spec file
    spec_path = str(write_spec(tmp_path, raw, "votes.yaml"))
    out = tmp_path / "out"

    def tfxp(*args):
        done = tfxp_here(*args)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    run = tfxp("run", spec_path, "--data-dir", str(data_dir), "--output-dir", str(out))
    assert "model BLESSED and pushed" in run.stdout, run.stdout[-2000:]
    tfxp("predictions", spec_path, "--output-dir", str(out), "--out", str(tmp_path / "p.csv"))
    table = pd.read_csv(tmp_path / "p.csv")
    assert len(table) == len(lines)  # count in = count out

    spec = load_spec(spec_path)
    serving = out / "house_votes" / "serving"
    serve = tf.saved_model.load(str(serving / serving_versions(str(serving))[-1])).signatures["serving_default"]
    examples = []
    for line in lines:
        row = parse_fields(spec, line.split(",")[1:], "test", label_optional=True)
        examples.append(to_example(row).SerializeToString())
    direct = serve(examples=tf.constant(examples))["probabilities"].numpy()
    # BulkInferrer's order is its own: compare row by row through the raw columns.
    key = [c.name for c in spec.feature_columns]
    expected = pd.DataFrame([{**{k: (None if v is None else v) for k, v in
                                 parse_fields(spec, line.split(",")[1:], "t", label_optional=True).items()},
                              "p_dem": p[0]} for line, p in zip(lines, direct)])
    merged = table.fillna("?").merge(expected.fillna("?").drop_duplicates(key), on=key, how="left")
    assert merged["p_dem"].notna().all()
    assert np.allclose(merged["p(democrat)"], merged["p_dem"], atol=1e-5)
