import pytest

from components.ingest.csv_example_gen import to_example
from components.ingest.workers.delimited_rows import RawDataError, byte_ranges, header_row, parse_fields, read_range, read_rows
from tfxp_contract.dataset_spec import load_spec

VOTES = load_spec("house_votes")
MASSES = load_spec("mammographic")


def test_reads_every_published_row(data_dir):
    rows = list(read_rows(VOTES, str(data_dir / "house_votes" / "house-votes-84.data")))
    assert len(rows) == 435
    assert sum(r["party"] == "democrat" for r in rows) == 267
    assert rows[0]["water_project_cost_sharing"] == "y" and rows[0]["el_salvador_aid"] == "y"
    assert rows[2]["handicapped_infants"] == "?"  # did not vote: a value, not a missing row


def test_mammographic_missing_values_and_ignored_bi_rads(data_dir):
    rows = list(read_rows(MASSES, str(data_dir / "mammographic" / "mammographic_masses.data")))
    assert len(rows) == 961
    assert all("bi_rads" not in r for r in rows)
    assert rows[1]["density"] is None  # "4,43,1,1,?,1"
    assert rows[1]["age"] == 43.0 and rows[1]["shape"] == "1"
    assert sum(r["age"] is None for r in rows) == 5


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_out_of_range_values_become_missing_and_are_reported(tmp_path):
    seen = []
    rows = list(read_rows(MASSES, _write(tmp_path, "5,67,3,5,3,1\n4,43,1,1,7,0\n"), lambda c, v: seen.append((c, v))))
    assert rows[1]["density"] is None and seen == [("density", 7.0)]


@pytest.mark.parametrize("content, message", [
    ("5,67,3,5,3,1\n4,43,1,1,1\n", r"data.csv:2: expected 6 columns, found 5"),
    ("5,67,3,5,3,1\n5,sixty,3,5,3,1\n", r"data.csv:2: column 'age' is numeric, got 'sixty'"),
    ("5,67,3,5,3,2\n", r"data.csv:1: label severity='2' is not one of \['0', '1'\]"),
    ("", r"data.csv: file has no data rows"),
    ("\n\n", r"data.csv: file has no data rows"),
    ("5,nan,3,5,3,1\n", r"data.csv:1: column 'age' is numeric, got 'nan'"),
])
def test_bad_input_names_file_and_line(tmp_path, content, message):
    with pytest.raises(RawDataError, match=message):
        list(read_rows(MASSES, _write(tmp_path, content)))


def test_examples_hold_strings_as_bytes_numbers_as_floats_and_omit_missing():
    example = to_example({"shape": "3", "age": 61.0, "density": None})
    features = example.features.feature
    assert features["shape"].bytes_list.value == [b"3"]
    assert features["age"].float_list.value == [61.0]
    assert "density" not in features


def test_a_row_without_its_label_column_is_new_data_only_where_that_is_allowed():
    spec = VOTES
    votes = ["y", "n", "?"] * 5 + ["y"]
    row = parse_fields(spec, votes, "new.csv:1", label_optional=True)
    assert spec.label.column not in row and row["handicapped_infants"] == "y"
    assert parse_fields(spec, ["democrat", *votes], "new.csv:2", label_optional=True)["party"] == "democrat"
    with pytest.raises(RawDataError, match="new.csv:1: expected 17 columns, found 16"):
        parse_fields(spec, votes, "new.csv:1")


@pytest.mark.parametrize("range_bytes", [1, 7, 64, 1000, 10**6])
def test_byte_ranges_read_every_row_once_whatever_their_size(tmp_path, data_dir, range_bytes):
    """Ranges split lines anywhere (mid-row, on a line break): each row belongs to the range
    holding its first byte. With a header row (after a byte-order mark), CRLF ends and blanks."""
    published = (data_dir / "mammographic" / "mammographic_masses.data").read_text().splitlines()[:60]
    header = "bi_rads,age,shape,margin,density,severity"
    path = _write(tmp_path, "\ufeff" + header + "\r\n" + "\r\n".join(published[:30]) + "\r\n\r\n"
                  + "\n".join(published[30:]) + "\n")
    import dataclasses
    spec = dataclasses.replace(MASSES, header=True)
    size = (tmp_path / "data.csv").stat().st_size
    ranges = byte_ranges(path, size, range_bytes)
    assert ranges[0][0] == 0 and ranges[-1][1] == size and len(ranges) == -(-size // range_bytes)
    order = header_row(spec, path)
    rows = [row for start, end in ranges for row in read_range(spec, path, start, end, order)]
    assert rows == list(read_rows(spec, path))
    assert len(rows) == 60


def test_a_bad_row_in_a_range_is_named_by_its_byte_offset(tmp_path):
    path = _write(tmp_path, "5,67,3,5,3,1\n4,43,1,1,?,1\n5,58,4,5,3,x\n")
    with pytest.raises(RawDataError, match=r"data.csv: row at byte 26: label severity='x' is not one of"):
        list(read_range(MASSES, path, 20, 40))
    assert byte_ranges(path + ".gz", 10**9, 100) == [(0, 10**9)]  # compressed: one range


def test_a_large_file_with_quoted_line_breaks_is_read_whole_and_one_without_quotes_in_ranges(tmp_path):
    """A quoted field may hold a comma, a quote and a line break: such a file (here 2 MiB) is one
    range, read with the csv module; a file without quotes is still split into ranges."""
    from components.ingest.workers.delimited_rows import RANGE_BYTES, byte_ranges, read_rows
    from tfxp_contract.dataset_spec import spec_from_dict

    review = 'a "fine" film,\nwith a twist ' * 8
    quoted = tmp_path / "reviews.csv"
    quoted.write_text("review,sentiment\n" + "".join(f'"{review.replace(chr(34), chr(34) * 2)}",{s}\n'
                                                     for s in ["pos", "neg"] * 5000))
    plain = tmp_path / "plain.csv"
    plain.write_text("review,sentiment\n" + "a plain review,pos\n" * 200_000)
    assert quoted.stat().st_size > 2 * RANGE_BYTES and plain.stat().st_size > 2 * RANGE_BYTES
    assert byte_ranges(str(quoted), quoted.stat().st_size) == [(0, quoted.stat().st_size)]
    assert len(byte_ranges(str(plain), plain.stat().st_size)) > 2
    spec = spec_from_dict({"name": "r", "format": "csv", "header": True, "files": [{"path": str(quoted)}],
                           "columns": [{"name": "review", "type": "categorical"},
                                       {"name": "sentiment", "type": "categorical"}],
                           "label": {"column": "sentiment", "values": ["neg", "pos"]}, "model": {"family": "dense"},
                           "metrics": [{"name": "accuracy", "lower_bound": 0.5}]})
    rows = list(read_rows(spec, str(quoted)))
    assert len(rows) == 10_000 and rows[0]["review"] == review.strip()


def test_dates_and_times_are_days_since_1970_in_utc():
    from components.ingest.workers.delimited_rows import parse_datetime

    assert parse_datetime("1970-01-02") == 1.0
    assert parse_datetime("1970-01-01T12:00:00") == 0.5
    assert parse_datetime("1970-01-01 18:00:00+06:00") == 0.5  # a time zone converts to UTC
    assert parse_datetime("1970-01-01T12:00:00Z") == 0.5
    assert parse_datetime("2024-02-29") == 19782.0
    assert parse_datetime("yesterday") is None and parse_datetime("2024-13-01") is None
