"""The tar stream reader against Python's tarfile on archives tarfile writes in every format,
and on damaged archives tarfile reads past."""
import io
import tarfile

import pytest

from components.ingest.workers.tar_stream import TarFormatError, TarStream, open_archive

LONG = "flower_photos/" + "very_long_folder_name_" * 6 + "/daisy/" + "x" * 120 + ".jpg"  # > 255 characters


def _members(tar: tarfile.TarFile) -> None:
    def add(name, data=b"", kind=tarfile.REGTYPE, **extra):
        info = tarfile.TarInfo(name)
        info.type, info.size = kind, len(data)
        for key, value in extra.items():
            setattr(info, key, value)
        tar.addfile(info, io.BytesIO(data) if data else None)
    add("flower_photos", kind=tarfile.DIRTYPE)
    add("flower_photos/daisy/a.jpg", b"\xff\xd8 jpeg bytes")
    add("flower_photos/daisy/empty.jpg")
    add("flower_photos/daisy/exact.jpg", bytes(range(256)) * 2)  # one block exactly, no padding
    add("flower_photos/roses/" + "r" * 110 + ".jpg", b"roses " * 300)  # > 100 characters: a prefix or L or pax
    add(LONG, b"long name")
    add("flower_photos/tulips/tulipán ñ.jpg", b"unicode name")
    add("flower_photos/link.jpg", kind=tarfile.SYMTYPE, linkname="daisy/a.jpg")
    add("flower_photos/hard.jpg", kind=tarfile.LNKTYPE, linkname="flower_photos/daisy/a.jpg")


def _by_tarfile(path) -> list:
    with tarfile.open(path, "r|*") as tar:
        return [(m.name, m.isfile(), tar.extractfile(m).read() if m.isfile() else None) for m in tar]


def _by_ours(path) -> list:
    with open_archive(str(path)) as stream:
        tar = TarStream(stream)
        return [(e.name, e.isfile(), tar.read() if e.isfile() else None) for e in tar]


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_every_member_as_tarfile_reads_it(tmp_path, fmt, compression):
    path = tmp_path / "made.tar"
    with tarfile.open(path, f"w:{compression}", format=fmt) as tar:
        if fmt == tarfile.USTAR_FORMAT:  # ustar cannot hold a 255+ character name: tarfile refuses it
            tar.addfile(tarfile.TarInfo("flower_photos/daisy/first.jpg"))
        else:
            _members(tar)
    if fmt != tarfile.USTAR_FORMAT:
        expected = _by_tarfile(path)
        assert len(expected) == 9 and (LONG, True, b"long name") in expected
        assert _by_ours(path) == expected
    else:
        assert _by_ours(path) == _by_tarfile(path) == [("flower_photos/daisy/first.jpg", True, b"")]


def test_ustar_prefix_names_and_pax_global_headers(tmp_path):
    path = tmp_path / "made.tar"
    name = "flower_photos/" + "d" * 120 + "/daisy/a.jpg"  # fits ustar only split into prefix + name
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    pax = tmp_path / "pax.tar"
    with tarfile.open(pax, "w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "a git commit"}) as tar:
        tar.addfile(tarfile.TarInfo("flower_photos/daisy/b.jpg"))
    assert _by_ours(path) == _by_tarfile(path) == [(name, True, b"abc")]
    assert _by_ours(pax) == [("flower_photos/daisy/b.jpg", True, b"")]


def _patched(data: bytes, offset: int, field: slice, value: bytes, signed: bool = False) -> bytes:
    """The archive with one header field replaced and the header's checksum made right again."""
    block = bytearray(data[offset:offset + 512])
    block[field] = value
    block[148:156] = b" " * 8
    total = sum(block) - (256 * sum(b > 127 for b in block) if signed else 0)
    block[148:156] = b"%06o\0 " % total
    return data[:offset] + bytes(block) + data[offset + 512:]


def _one_file_tar(name="flower_photos/daisy/a.jpg", data=b"0123456789", fmt=tarfile.GNU_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _ours_from_bytes(tmp_path, data: bytes) -> list:
    path = tmp_path / "patched.tar"
    path.write_bytes(data)
    return _by_ours(path)


def test_base256_sizes_signed_checksums_and_sparse_members(tmp_path):
    base256 = _patched(_one_file_tar(), 0, slice(124, 136), b"\x80" + (10).to_bytes(11, "big"))
    assert _ours_from_bytes(tmp_path, base256) == [("flower_photos/daisy/a.jpg", True, b"0123456789")]
    signed = _patched(_one_file_tar("flower_photos/daisy/ñ.jpg"), 0, slice(0, 0), b"", signed=True)
    assert _ours_from_bytes(tmp_path, signed) == [("flower_photos/daisy/ñ.jpg", True, b"0123456789")]
    (tmp_path / "patched.tar").write_bytes(_patched(_one_file_tar(), 0, slice(156, 157), b"S"))
    with open_archive(str(tmp_path / "patched.tar")) as stream:
        assert [(e.name, e.kind) for e in TarStream(stream)] == [("flower_photos/daisy/a.jpg", "sparse")]


def test_a_damaged_header_after_the_first_is_an_error_not_the_end(tmp_path):
    two = _one_file_tar()[:1024] + _one_file_tar("flower_photos/daisy/b.jpg")  # the first member, then a second
    damaged = two[:1024] + b"X" + two[1025:]
    path = tmp_path / "damaged.tar"
    path.write_bytes(damaged)
    assert len(_by_tarfile(path)) == 1  # tarfile's stream mode ends quietly at the damaged header
    with pytest.raises(TarFormatError, match="header at offset 1024 is not a tar header"):
        _by_ours(path)


@pytest.mark.parametrize("data, message", [
    (b"", "an empty archive"),
    (b"<html><body>Not found</body></html>" * 20, "offset 0 is not a tar header"),
    (b"short", "end of the archive in the header at offset 0"),
])
def test_not_a_tar_says_so(tmp_path, data, message):
    with pytest.raises(TarFormatError, match=message):
        _ours_from_bytes(tmp_path, data)


def test_an_archive_cut_inside_a_member_names_it(tmp_path):
    cut = _one_file_tar(data=b"x" * 5000)[:512 + 3000]
    with pytest.raises(TarFormatError, match=r"inside flower_photos/daisy/a.jpg \(3,000 of 5,000 bytes\)"):
        _ours_from_bytes(tmp_path, cut)


def test_unread_members_are_skipped_and_reading_twice_is_refused(tmp_path):
    path = tmp_path / "two.tar"
    path.write_bytes(_one_file_tar()[:1024] + _one_file_tar("flower_photos/daisy/b.jpg", b"second"))
    with open_archive(str(path)) as stream:
        tar = TarStream(stream)
        entries = iter(tar)
        assert next(entries).name == "flower_photos/daisy/a.jpg"  # not read: skipped on the next step
        assert next(entries).name == "flower_photos/daisy/b.jpg"
        assert tar.read() == b"second"
        with pytest.raises(RuntimeError, match="once per member"):
            tar.read()


@pytest.mark.parametrize("record", [b"0 path=x\n", b"path=x\n", b"12 size=ten\n"])
def test_a_damaged_pax_header_says_so(tmp_path, record):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("flower_photos/daisy/" + "é" * 3 + ".jpg")  # a non-ASCII name: a pax header
        tar.addfile(info)
    data = buffer.getvalue()
    assert data[156:157] == b"x"
    size = int(data[124:136].strip(b"\0 "), 8)
    damaged = data[:512] + record.ljust(size, b"\n")[:size] + data[512 + size:]
    with pytest.raises(TarFormatError, match="damaged pax header"):
        _ours_from_bytes(tmp_path, damaged)
