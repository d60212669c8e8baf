"""Publishing to the serving root: complete versions only, increasing, no duplicate copies."""
import os

import pytest

from components.serving.atomic_pusher import publish_model, served_versions
from tfxp_contract.names import SERVED_SOURCE_FILE


def _model(tmp_path, name, content="graph"):
    folder = tmp_path / name
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_text(content)
    (folder / "variables" / "variables.index").write_text("index")
    return str(folder)


def test_versions_increase_and_the_served_model_is_not_copied_twice(tmp_path):
    root = str(tmp_path / "serving")
    first = _model(tmp_path, "m1")
    version1, path1 = publish_model(first, root)
    assert open(os.path.join(path1, "saved_model.pb")).read() == "graph"
    assert open(os.path.join(path1, SERVED_SOURCE_FILE)).read() == first
    assert publish_model(first, root) == (version1, path1)
    version2, _ = publish_model(_model(tmp_path, "m2", "graph2"), root)
    assert int(version2) > int(version1)
    assert served_versions(root) == [int(version1), int(version2)]


def test_a_failed_copy_leaves_no_version_and_no_staging(tmp_path):
    root = tmp_path / "serving"
    broken = _model(tmp_path, "broken")
    os.symlink(tmp_path / "does-not-exist", os.path.join(broken, "variables", "variables.data-00000-of-00001"))
    with pytest.raises(OSError):  # tfx.dsl.io's NotFoundError for the dangling file
        publish_model(broken, str(root))
    assert os.listdir(root) == []


def test_a_version_taken_by_another_push_meanwhile_moves_to_the_next(tmp_path, monkeypatch):
    import components.serving.atomic_pusher as pusher
    root = tmp_path / "serving"
    model = _model(tmp_path, "m1")
    real_copy = pusher.io_utils.copy_dir
    monkeypatch.setattr(pusher, "version_clock", lambda: 1_800_000_000)

    def copy_while_another_push_lands(source, target):
        real_copy(source, target)
        other = root / "1800000000"
        if not other.exists():
            real_copy(_model(tmp_path, "other", "other graph"), str(other))

    monkeypatch.setattr(pusher.io_utils, "copy_dir", copy_while_another_push_lands)
    version, path = publish_model(model, str(root))
    assert version == "1800000001" and open(os.path.join(path, "saved_model.pb")).read() == "graph"
    assert open(root / "1800000000" / "saved_model.pb").read() == "other graph"
    assert sorted(os.listdir(root)) == ["1800000000", "1800000001"]


def test_concurrent_publishes_get_distinct_versions(tmp_path, monkeypatch):
    import threading

    import components.serving.atomic_pusher as pusher
    monkeypatch.setattr(pusher, "version_clock", lambda: 1_800_000_000)  # all pick the same version first
    root = str(tmp_path / "serving")
    models = [_model(tmp_path, f"m{i}", f"graph {i}") for i in range(4)]
    results = []
    threads = [threading.Thread(target=lambda m=m: results.append(publish_model(m, root))) for m in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({version for version, _ in results}) == 4 and len(served_versions(root)) == 4
    assert not [n for n in os.listdir(root) if n.startswith(".")]


def test_staging_left_by_a_killed_push_is_removed(tmp_path):
    import time
    root = tmp_path / "serving"
    stale, fresh = root / ".incoming-1700000000-dead0001", root / ".incoming-1800000000-busy0002"
    for folder in (stale, fresh):
        (folder / "variables").mkdir(parents=True)
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    publish_model(_model(tmp_path, "m1"), str(root))
    assert not stale.exists() and fresh.exists()  # a push still copying is left alone


def test_object_store_versions_count_only_with_their_completion_marker(tmp_path):
    """TF's in-memory filesystem stands in for an object store: it cannot rename a directory
    in one step either, so the pusher copies in place and writes the marker last."""
    import time
    import uuid

    from tfx.dsl.io import fileio

    from components.serving.atomic_pusher import atomic_renames
    from tfxp_contract.names import PUSH_COMPLETE_FILE
    root = f"ram://serving-{uuid.uuid4().hex}"
    assert not atomic_renames(root) and atomic_renames(str(tmp_path)) and not atomic_renames("gs://bucket/serving")
    now = int(time.time())
    dead, busy = f"{root}/{now - 7200}", f"{root}/{now}"  # a push killed two hours ago; one copying now
    for partial in (dead, busy):
        fileio.makedirs(f"{partial}/variables")
        with fileio.open(f"{partial}/saved_model.pb", "w") as f:
            f.write("half a graph")
    assert served_versions(root) == []
    version, path = publish_model(_model(tmp_path, "m1"), root)
    assert int(version) == now + 1  # after every numbered folder, complete or not
    assert fileio.exists(f"{path}/{PUSH_COMPLETE_FILE}") and fileio.exists(f"{path}/saved_model.pb")
    assert fileio.exists(f"{path}/variables/variables.index")
    assert not fileio.exists(dead) and fileio.exists(busy)  # the dead one is removed, the busy one left alone
    assert served_versions(root) == [int(version)]
