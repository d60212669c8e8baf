"""Staging raw files to GCS and reading them back, against a real local GCS emulator
(gcp-storage-emulator, started here on 127.0.0.1), not a mock."""
import os
import subprocess
import sys

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from infra.gcs_staging import StagingError, stage_files, verify_staged
from tests.helpers import free_port, wait_until_listening
from tfxp_contract.dataset_spec import load_spec

BUCKET = "tfxp-test"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    port = free_port()
    binary = os.path.join(os.path.dirname(sys.executable), "gcp-storage-emulator")
    process = subprocess.Popen([binary, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory",
                                "--default-bucket", BUCKET, "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_listening(port, process, 30, "the GCS emulator")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def client(emulator, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator)
    return storage.Client(project="test", credentials=AnonymousCredentials())


def test_stage_uploads_then_skips_then_repairs(client, data_dir):
    spec = load_spec("mnist")
    files = [data_dir / "mnist" / f.name for f in spec.files]
    first = stage_files(files, f"gs://{BUCKET}/data/mnist", client)
    assert [s.action for s in first] == ["uploaded"] * 4
    verify_staged(spec, f"gs://{BUCKET}/data/mnist", client)  # read back: every sha256 is the published one
    sizes = {b.name.rsplit("/", 1)[1]: b.size for b in client.list_blobs(BUCKET, prefix="data/mnist/")}
    assert sizes == {f.name: f.stat().st_size for f in files}  # incl. 9.9 MB sent in 8 MiB resumable chunks

    again = stage_files(files, f"gs://{BUCKET}/data/mnist", client)
    assert [s.action for s in again] == ["skipped"] * 4

    client.bucket(BUCKET).blob("data/mnist/t10k-labels-idx1-ubyte.gz").upload_from_string(b"damaged")
    with pytest.raises(StagingError, match="t10k-labels-idx1-ubyte.gz: sha256 .* is not the published file's"):
        verify_staged(spec, f"gs://{BUCKET}/data/mnist", client)
    repaired = stage_files(files, f"gs://{BUCKET}/data/mnist", client)
    assert [s.action for s in repaired].count("uploaded") == 1
    verify_staged(spec, f"gs://{BUCKET}/data/mnist", client)


def test_stage_command_end_to_end(emulator, data_dir, tmp_path):
    env = {**os.environ, "STORAGE_EMULATOR_HOST": emulator}
    command = [sys.executable, "-m", "tfxp_cli.main", "stage", "house_votes", "--data-dir", str(data_dir),
               "--to", f"gs://{BUCKET}/cli/house_votes", "--project", "test"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert f"gs://{BUCKET}/cli/house_votes: 1 uploaded, 0 already there; contents verified" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert "0 uploaded, 1 already there" in second.stdout


def test_bad_destination_is_a_clear_error(client, data_dir):
    with pytest.raises(StagingError, match="is not a gs://bucket/prefix location"):
        stage_files([data_dir / "house_votes" / "house-votes-84.data"], "/tmp/somewhere", client)


def test_an_own_file_on_gcs_is_copied_to_the_cache_with_its_digest(client, tmp_path):
    """A spec file entry `path: gs://...` (the user's own data, no sha256): fetched through
    the storage client, its digest computed; fetched again unchanged, it is not downloaded."""
    import hashlib

    from tests.own_table import spec_dict, write_table
    from tfxp_contract.dataset_spec import spec_from_dict
    from tfxp_contract.fetch import fetch_data

    local = tmp_path / "customers.csv"
    write_table(local, rows=50)
    client.bucket(BUCKET).blob("own/customers.csv").upload_from_filename(str(local))
    spec = spec_from_dict(spec_dict(f"gs://{BUCKET}/own/customers.csv"))
    logged = []
    fetched = fetch_data(spec, cache_dir=tmp_path / "cache", log=logged.append)
    assert (fetched.folder / "customers.csv").read_bytes() == local.read_bytes()
    assert fetched.digests == {"customers.csv": hashlib.sha256(local.read_bytes()).hexdigest()}
    assert logged == [f"downloading gs://{BUCKET}/own/customers.csv"]
    assert fetch_data(spec, cache_dir=tmp_path / "cache", log=logged.append).version == fetched.version
    assert len(logged) == 1  # the cached copy has the object's MD5: not downloaded again
