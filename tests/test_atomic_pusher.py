"""Publishing to the serving root: complete versions only, increasing, no duplicate copies."""
import os

import pytest

from components.atomic_pusher import publish_model, served_versions
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
