"""Input files whose headers lie: each read ends with one line naming the file, in bounded memory.

Every case runs the real reader in a fresh process, which reports its peak memory (ru_maxrss)
above what it held before the read began.
"""
import gzip
import json
import struct
import subprocess
import sys
import tarfile
import textwrap

import pytest

from tests.helpers import REPO

PEAK_LIMIT_MB = 500
pytestmark = pytest.mark.slow  # each case starts a Python process that imports TensorFlow

READ_IN_CHILD = textwrap.dedent("""
    import json, resource, sys
    from tfxp_contract.errors import ExplainedError
    {imports}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        records = sum(1 for _ in {call})
        outcome = {{"records": records}}
    except ExplainedError as err:
        outcome = {{"error": str(err)}}
    outcome["peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps(outcome))
""")


def read_in_child(imports: str, call: str) -> dict:
    script = READ_IN_CHILD.format(imports=imports, call=call)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def idx_file(path, dims, data=b"", compress=True):
    content = bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + data
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


def read_idx(images, labels) -> dict:
    return read_in_child("from components.ingest.workers.idx_records import read_pairs",
                         f"read_pairs({str(images)!r}, {str(labels)!r})")


@pytest.mark.parametrize("dims", [(1, 2**32 - 1, 2**32 - 1), (1, 2**31, 2**31 + 1), (1, 0, 28), (2**32 - 1, 0)])
def test_idx_header_promising_impossible_sizes_is_named_in_one_line(tmp_path, dims):
    images = idx_file(tmp_path / "train-images-idx3-ubyte.gz", dims, b"\x00" * 784)
    labels = idx_file(tmp_path / "train-labels-idx1-ubyte.gz", (1,), b"\x03")
    outcome = read_idx(images, labels)
    assert "error" in outcome, outcome
    assert outcome["error"].startswith(str(images)) and "\n" not in outcome["error"], outcome
    assert outcome["peak_mb"] < PEAK_LIMIT_MB, outcome


def test_truncated_gzip_stream_is_named(tmp_path):
    pixels = bytes(range(256)) * (784 * 50 // 256 + 1)
    whole = gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 50, 28, 28) + pixels[:784 * 50])
    images = tmp_path / "train-images-idx3-ubyte.gz"
    images.write_bytes(whole[:len(whole) // 2])  # a download cut half way
    labels = idx_file(tmp_path / "train-labels-idx1-ubyte.gz", (50,), bytes(50))
    outcome = read_idx(images, labels)
    assert outcome.get("error", "").startswith(f"{images}: the gzip stream is truncated"), outcome
    assert "\n" not in outcome["error"]


def test_honest_idx_file_still_reads(tmp_path):
    images = idx_file(tmp_path / "train-images-idx3-ubyte.gz", (3, 2, 2), bytes(12))
    labels = idx_file(tmp_path / "train-labels-idx1-ubyte.gz", (3,), b"\x01\x02\x03")
    assert read_idx(images, labels)["records"] == 3


class _Zeros:
    """A file object of ``size`` zero bytes, so a 1 GiB member is written without holding it."""

    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


def test_archive_member_over_the_limit_is_skipped_unread_and_named(tmp_path):
    archive = tmp_path / "flower_photos.tgz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        big = tarfile.TarInfo("flower_photos/daisy/huge.jpg")
        big.size = 1 << 30
        tar.addfile(big, _Zeros(big.size))
    assert archive.stat().st_size < 10 << 20  # a few MB that unpack to 1 GiB
    outcome = read_in_child(textwrap.dedent(f"""
        from components.ingest.workers.archive_records import ReadReport, read_archive
        def read():  # as the ExampleGen does: read, then apply the bad-file rule
            report = ReadReport({str(archive)!r})
            yield from read_archive({str(archive)!r}, 'image', ['daisy', 'roses'], ('.jpg',), report=report)
            report.check()
        """), "read()")
    error = outcome.get("error", "")
    assert error.startswith(str(archive)) and "flower_photos/daisy/huge.jpg" in error, outcome
    assert "over the limit" in error and "\n" not in error
    assert outcome["peak_mb"] < PEAK_LIMIT_MB, outcome
