"""The compiled-pipeline executor's own logic, without running a pipeline: task order and the
resolver queries' semantics."""
import pytest

from pipelines.compiled_run import ArtifactRecord, ArtifactStore, CompiledRunError, task_order


def test_tasks_run_after_what_they_depend_on():
    tasks = {"c": {"dependentTasks": ["b"]}, "b": {"inputs": {"artifacts": {"x": {"taskOutputArtifact": {
        "producerTask": "a", "outputArtifactKey": "out"}}}}}, "a": {}}
    assert task_order(tasks) == ["a", "b", "c"]
    with pytest.raises(CompiledRunError, match="in a cycle"):
        task_order({"a": {"dependentTasks": ["b"]}, "b": {"dependentTasks": ["a"]}})


def test_queries_pick_the_newest_match_with_vertex_filter_terms(tmp_path):
    store = ArtifactStore(tmp_path / "store.json")
    for pipeline, blessed in [("votes", 1.0), ("votes", 0.0), ("masses", 1.0)]:
        store.add(ArtifactRecord(name="", schema_title="tfx.ModelBlessing", uri=f"/root/pipelines/{pipeline}/x",
                                 metadata={"blessed": blessed, "current_model_id": "artifacts/9"}))
    query = 'schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1'
    assert [r.name for r in store.query(query)] == ["artifacts/3"]  # newest: another pipeline's
    assert [r.name for r in store.query(query + ' AND uri="/root/pipelines/votes/*"')] == ["artifacts/1"]
    assert store.query('name="artifacts/7"') == []
    assert [r.name for r in ArtifactStore(tmp_path / "store.json").query(
        'metadata.current_model_id.string_value="artifacts/9"')] == ["artifacts/3"]  # kept on disk
    with pytest.raises(ValueError, match="not one this local run can evaluate"):
        store.query('create_time>"2024-01-01"')
