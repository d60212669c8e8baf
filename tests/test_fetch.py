import functools
import hashlib
import http.server
import shutil
import threading

import pytest

from tests.helpers import builtin_spec_dict
from tfxp_contract.dataset_spec import load_spec, spec_from_dict
from tfxp_contract.fetch import DataSourceError, fetch_dataset

VOTES = load_spec("house_votes")


def test_mirror_files_are_verified_in_place(data_dir):
    assert fetch_dataset(VOTES, data_dir) == data_dir / "house_votes"


def test_missing_file_is_named(tmp_path):
    (tmp_path / "house_votes").mkdir()
    with pytest.raises(DataSourceError, match=r"house_votes/house-votes-84.data: file not found"):
        fetch_dataset(VOTES, tmp_path)


def test_checksum_mismatch_is_named(tmp_path, data_dir):
    folder = tmp_path / "house_votes"
    folder.mkdir()
    text = (data_dir / "house_votes" / "house-votes-84.data").read_text()
    (folder / "house-votes-84.data").write_text(text.replace("republican", "democrat", 1))
    with pytest.raises(DataSourceError, match=r"house-votes-84.data: checksum mismatch: sha256 [0-9a-f]{64}, expected c87c"):
        fetch_dataset(VOTES, tmp_path)


@pytest.fixture
def http_mirror(tmp_path, data_dir):
    """A real HTTP server on 127.0.0.1 standing in for the publisher's site."""
    root = tmp_path / "site"
    root.mkdir()
    shutil.copy(data_dir / "house_votes" / "house-votes-84.data", root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", root
    server.shutdown()


def _spec_at(url):
    raw = builtin_spec_dict("house_votes")
    raw["files"][0]["url"] = f"{url}/house-votes-84.data"
    return spec_from_dict(raw)


def test_download_verifies_and_caches(http_mirror, tmp_path):
    url, root = http_mirror
    spec = _spec_at(url)
    cache = tmp_path / "cache"
    folder = fetch_dataset(spec, cache_dir=cache, log=lambda m: None)
    path = folder / "house-votes-84.data"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.files[0].sha256[0]
    (root / "house-votes-84.data").unlink()  # the cache is used from now on
    assert fetch_dataset(spec, cache_dir=cache, log=lambda m: None) == folder


def test_corrupt_download_is_rejected_and_not_cached(http_mirror, tmp_path):
    url, root = http_mirror
    (root / "house-votes-84.data").write_text("republican,n\n")
    with pytest.raises(DataSourceError, match="checksum mismatch"):
        fetch_dataset(_spec_at(url), cache_dir=tmp_path / "cache", log=lambda m: None)
    assert not list((tmp_path / "cache" / "house_votes").iterdir())


def test_unreachable_url_suggests_a_mirror(tmp_path):
    with pytest.raises(DataSourceError, match="could not download .* point --data-dir"):
        fetch_dataset(_spec_at("http://127.0.0.1:9"), cache_dir=tmp_path / "cache", log=lambda m: None)
