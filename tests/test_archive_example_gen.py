"""The archive reader and ArchiveExampleGen on real slices of TF flowers and IMDB."""
import io
import tarfile

import pytest
import tensorflow as tf
from PIL import Image

from components.archive_records import ArchiveFormatError, ReadReport, read_archive

FLOWERS = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


def test_flowers_slice_has_every_class_and_decodable_jpegs(data_dir):
    archive = str(data_dir / "flowers" / "flower_photos.tgz")
    records = list(read_archive(archive, "image", FLOWERS, (".jpg",), limit=50))
    assert len(records) == 50
    assert {r.label for r in records} == set(FLOWERS)  # 10 per class, not the first 50 daisies
    for r in records[:5]:
        assert r.member.startswith(f"flower_photos/{r.label}/") and r.member.endswith(".jpg")
        assert tf.io.decode_jpeg(r.content).shape[-1] == 3


def test_imdb_split_folders_keep_the_published_split(data_dir):
    archive = str(data_dir / "imdb" / "aclImdb_v1.tar.gz")
    test = list(read_archive(archive, "text", ["neg", "pos"], (".txt",), split_folder="test", limit=40))
    assert len(test) == 40 and {r.label for r in test} == {"neg", "pos"}
    assert all(r.member.startswith("aclImdb/test/") for r in test)
    assert all(r.content.decode().strip() for r in test)


def _tar(tmp_path, files: dict) -> str:
    path = tmp_path / "made.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return str(path)


def _jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_corrupt_jpeg_is_skipped_and_named(tmp_path):
    good = {f"photos/daisy/{i}.jpg": _jpeg("white") for i in range(120)}
    archive = _tar(tmp_path, {**good, "photos/roses/broken.jpg": _jpeg("red")[:40]})
    report = ReadReport(archive)
    records = list(read_archive(archive, "image", ["daisy", "roses"], (".jpg",), report=report))
    assert len(records) == 120 and report.read == 120
    assert len(report.skipped) == 1 and report.skipped[0].startswith("photos/roses/broken.jpg: not a decodable image")
    report.check()  # one bad file in 121 is under the 1% rule: skipped, reported, the run goes on


def test_too_many_bad_files_stop_with_their_names(tmp_path):
    archive = _tar(tmp_path, {"reviews/train/pos/1.txt": b"great film", "reviews/train/neg/2.txt": b"   ",
                              "reviews/train/neg/3.txt": b"\xff\xfe\x00bad"})
    report = ReadReport(archive)
    records = list(read_archive(archive, "text", ["neg", "pos"], (".txt",), split_folder="train", report=report))
    assert [r.content for r in records] == [b"great film"]
    with pytest.raises(ArchiveFormatError, match=r"2 of 3 files are bad .*reviews/train/neg/2.txt: empty text; "
                                                 r"reviews/train/neg/3.txt: not UTF-8 text"):
        report.check()


def test_a_truncated_archive_names_the_file(tmp_path, data_dir):
    cut = tmp_path / "flower_photos.tgz"
    cut.write_bytes((data_dir / "flowers" / "flower_photos.tgz").read_bytes()[:200_000])
    with pytest.raises(ArchiveFormatError, match=f"{cut}: not a readable tar archive"):
        list(read_archive(str(cut), "image", FLOWERS, (".jpg",)))
