import functools
import hashlib
import http.server
import shutil
import threading

import pytest

from tests.helpers import builtin_spec_dict
from tfxp_contract.dataset_spec import load_spec, spec_from_dict
from tfxp_contract.fetch import DataSourceError, download, fetch_dataset, partial_path

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


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    """Serves one file with HTTP ranges; the first ``cuts`` responses end half way."""

    body = b""
    cuts = 0
    ranges: list = []

    def do_GET(self):
        start = int(self.headers["Range"][len("bytes="):-1]) if self.headers.get("Range") else 0
        type(self).ranges.append(start)
        rest = self.body[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if type(self).cuts > 0:
            type(self).cuts -= 1
            self.wfile.write(rest[:len(rest) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the connection drops mid-file
            return
        self.wfile.write(rest)

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky_site(data_dir):
    body = (data_dir / "house_votes" / "house-votes-84.data").read_bytes()
    handler = type("Handler", (_FlakyHandler,), {"body": body, "cuts": 0, "ranges": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()


def test_cut_download_is_retried_and_resumed_where_it_stopped(flaky_site, tmp_path):
    url, handler = flaky_site
    handler.cuts = 2
    lines, waits = [], []
    target = tmp_path / "cache" / "house-votes-84.data"
    download(_spec_at(url).files[0], target, lines.append, sleep=waits.append)
    assert target.read_bytes() == handler.body and not partial_path(target).exists()
    size = len(handler.body)
    # Each attempt asks for the rest only: half, then half of the rest.
    assert handler.ranges == [0, size // 2, size // 2 + (size - size // 2) // 2]
    assert waits == [2.0, 8.0]
    assert f"download interrupted after {size // 2} of {size} bytes" in lines[1]


def test_download_cut_on_every_attempt_says_so_and_keeps_what_came(flaky_site, tmp_path):
    url, handler = flaky_site
    handler.cuts = 100
    target = tmp_path / "cache" / "house-votes-84.data"
    with pytest.raises(DataSourceError, match=r"download interrupted after \d+ of 18171 bytes .*\(4 attempts\)\. "
                                              "Run again to resume it"):
        download(_spec_at(url).files[0], target, lambda m: None, sleep=lambda s: None)
    assert not target.exists() and 0 < partial_path(target).stat().st_size < len(handler.body)
    handler.cuts = 0  # the next run resumes and completes
    download(_spec_at(url).files[0], target, lambda m: None, sleep=lambda s: None)
    assert target.read_bytes() == handler.body


def test_a_folder_at_the_cache_path_is_named(tmp_path):
    (tmp_path / "cache" / "house_votes" / "house-votes-84.data").mkdir(parents=True)
    with pytest.raises(DataSourceError, match="a folder where the cache keeps the file house-votes-84.data"):
        fetch_dataset(_spec_at("http://127.0.0.1:9"), cache_dir=tmp_path / "cache", log=lambda m: None)
