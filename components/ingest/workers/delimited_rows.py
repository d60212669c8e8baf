"""Parsing delimited text rows (CSV as UCI publishes it) into feature dicts and tf.Examples.

Plain Python with no Beam, so the ExampleGen, the benchmark and the tests share one parser.
Structural problems (wrong column count, text in a numeric column, a label outside the
spec's vocabulary, an empty file) raise RawDataError naming the file and line. Values that
parse but fall outside a numeric column's documented range are treated as missing and
reported through the ``on_out_of_range`` callback; domain problems of categorical features
are left to ExampleValidator, which stops the run before training.
"""
from __future__ import annotations

import csv
import datetime
import io
import math
from typing import Callable, Iterator, Optional

from components.ingest.workers.input_files import open_input
from components.ingest.workers.record_encoding import example_bytes
from tfxp_contract.dataset_spec import Column, DatasetSpec, RawValue
from tfxp_contract.errors import ExplainedError


class RawDataError(ExplainedError, ValueError):
    """A raw input row or file cannot be read as the spec describes; names file and line."""


def parse_fields(spec: DatasetSpec, fields: list[str], where: str,
                 on_out_of_range: Optional[Callable[[str, float], None]] = None,
                 order: Optional[HeaderOrder] = None, label_optional: bool = False) -> dict[str, RawValue]:
    """Returns {column name: value} for every non-ignored column, label included.
    ``order``: where each spec column is among the fields (from a header row); default: in order.
    ``label_optional``: a row one field short has no label column (new data to score); its
    row has no label either."""
    expected = len(spec.columns) if order is None else order.width
    unlabelled = label_optional and order is None and len(fields) == expected - 1
    if unlabelled:
        at = [c.name for c in spec.columns].index(spec.label.column)
        placeholder = "0" if spec.is_regression else spec.label.values[0]
        fields = [*fields[:at], placeholder, *fields[at:]]  # dropped below
    if len(fields) != expected:
        raise RawDataError(f"{where}: expected {expected} columns, found {len(fields)}")
    if order is not None:
        fields = [fields[i] for i in order]
    row: dict[str, RawValue] = {}
    for column, text in zip(spec.columns, fields):
        text = text.strip()
        if column.type == "ignore":
            continue
        if column.name == spec.label.column and spec.is_regression:
            value = _parse_number(column, text, spec.missing_tokens, where, None)
            if value is None:
                raise RawDataError(f"{where}: label {column.name} has no value")
            row[column.name] = value
        elif column.name == spec.label.column:
            if text not in spec.label.values:
                raise RawDataError(f"{where}: label {column.name}={text!r} is not one of {list(spec.label.values)}")
            row[column.name] = text
        elif column.type == "numeric":
            row[column.name] = _parse_number(column, text, spec.missing_tokens, where, on_out_of_range)
        elif column.type == "datetime":
            row[column.name] = None if text in spec.missing_tokens or not text else _parse_datetime(column, text, where)
        elif text in spec.missing_tokens and column.missing != "category":
            row[column.name] = None
        else:
            row[column.name] = text
    if unlabelled:
        del row[spec.label.column]
    return row


class HeaderOrder(list):
    """For each spec column, its position in a file's header row; ``width``: the header's length."""
    width: int = 0


def header_order(spec: DatasetSpec, header: list[str], where: str) -> HeaderOrder:
    names = [h.strip() for h in header]
    missing = [c.name for c in spec.columns if c.name not in names]
    if missing:
        raise RawDataError(f"{where}: the header lacks column(s) {missing} that the spec lists; "
                           f"it has {names}")
    order = HeaderOrder(names.index(c.name) for c in spec.columns)
    order.width = len(names)
    return order


def parse_datetime(text: str) -> Optional[float]:
    """An ISO 8601 date or date and time (a time zone converts to UTC; none is UTC) as days
    since 1970-01-01 (fractional: the time of day); None if ``text`` is not one."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except ValueError:
        try:
            moment = datetime.datetime.combine(datetime.date.fromisoformat(text.strip()), datetime.time())
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return (moment - EPOCH).total_seconds() / 86400.0


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _parse_datetime(column: Column, text: str, where: str) -> float:
    days = parse_datetime(text)
    if days is None:
        raise RawDataError(f"{where}: column {column.name!r} is a date or date and time (ISO 8601, e.g. 2024-05-17 "
                           f"or 2024-05-17T09:30:00), got {text!r}")
    return days


def _parse_number(column: Column, text: str, missing_tokens: tuple[str, ...], where: str,
                  on_out_of_range: Optional[Callable[[str, float], None]]) -> Optional[float]:
    if text in missing_tokens or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise RawDataError(f"{where}: column {column.name!r} is numeric, got {text!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise RawDataError(f"{where}: column {column.name!r} is numeric, got {text!r}")
    if column.range is not None and not column.range[0] <= value <= column.range[1]:
        if on_out_of_range:
            on_out_of_range(column.name, value)
        return None
    return value


def read_rows(spec: DatasetSpec, path: str, on_out_of_range: Optional[Callable[[str, float], None]] = None,
              label_optional: bool = False) -> Iterator[dict[str, RawValue]]:
    """Streams the rows of one file (local or gs://), line by line. A UTF-8 byte-order mark
    and CRLF line ends are accepted; with ``header: true`` the first row names the columns
    and gives their order (columns it has that the spec does not list are not read). A
    Parquet file (``format: parquet``) is read by column name, one row group at a time."""
    if spec.format == "parquet":
        yield from _parquet_rows(spec, path, on_out_of_range, label_optional)
        return
    with open_input(path) as stream:  # local paths and gs:// alike
        reader = csv.reader(_without_bom(_text_lines(stream)), delimiter=spec.delimiter)
        rows = 0
        order = None
        try:
            for fields in reader:
                lineno = reader.line_num
                if spec.header and order is None:
                    order = header_order(spec, fields, f"{path}:{lineno}")
                    continue
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue  # blank line (UCI files often end with one)
                rows += 1
                yield parse_fields(spec, fields, f"{path}:{lineno}", on_out_of_range, order, label_optional)
        except UnicodeDecodeError as err:
            raise RawDataError(f"{path}:{reader.line_num + 1}: not UTF-8 text ({err.reason})") from None
        except csv.Error as err:
            raise RawDataError(f"{path}:{reader.line_num}: {err}") from None
    if rows == 0:
        raise RawDataError(f"{path}: file has no data rows")


RANGE_BYTES = 1 << 20  # a plain-text file larger than this is read in ranges of this size, in parallel


def byte_ranges(path: str, size: int, range_bytes: int = RANGE_BYTES) -> list[tuple[int, int]]:
    """[start, end) byte ranges covering a file: one for a compressed or small file, or one
    holding a quote character (a quoted field may hold a line break, so its rows are not lines:
    read by ``read_rows``, with line numbers), else ``range_bytes`` each (read by ``read_range``)."""
    if path.endswith((".gz", ".bz2", ".zip", ".parquet")) or size <= range_bytes or holds_quotes(path):
        return [(0, size)]
    return [(start, min(size, start + range_bytes)) for start in range(0, size, range_bytes)]


def holds_quotes(path: str, chunk: int = 1 << 22) -> bool:
    """Whether the file holds a double quote anywhere (one pass; ~1 GB/s)."""
    with open_input(path) as f:
        while block := f.read(chunk):
            if b'"' in block:
                return True
    return False


def read_range(spec: DatasetSpec, path: str, start: int, end: int, order: Optional[HeaderOrder] = None,
               on_out_of_range: Optional[Callable[[str, float], None]] = None,
               label_optional: bool = False) -> Iterator[dict[str, RawValue]]:
    """The rows of a plain-text file whose first byte lies in [start, end): ranges that cover a
    file read every row exactly once, in any order and any process. Errors name the file and
    the byte offset of the row (a line number would need every byte before it). ``order``:
    the header's, read once for the file (``header_row``); the header row itself is skipped.
    A row is one line: a quoted field holding a line break cannot be split this way."""
    with open_input(path) as f:
        if start > 0:
            f.seek(start - 1)
            if f.read(1) != b"\n":
                f.readline()  # the rest of a row that began in the previous range
        position = f.tell()
        skip_header = spec.header and start == 0
        while position < end:
            line = f.readline()
            if not line:
                break
            where = f"{path}: row at byte {position:,}"
            position = f.tell()
            if skip_header:
                skip_header = False
                continue
            try:
                text = line.decode("utf-8").removeprefix("\ufeff")
            except UnicodeDecodeError as err:
                raise RawDataError(f"{where}: not UTF-8 text ({err.reason})") from None
            if not text.strip():
                continue
            try:
                [fields] = list(csv.reader([text], delimiter=spec.delimiter))
            except (csv.Error, ValueError) as err:
                raise RawDataError(f"{where}: {err}") from None
            yield parse_fields(spec, fields, where, on_out_of_range, order, label_optional)


def header_row(spec: DatasetSpec, path: str) -> Optional[HeaderOrder]:
    """The column order a file's header row gives (None without ``header: true``)."""
    if not spec.header:
        return None
    with open_input(path) as stream:
        fields = next(csv.reader(_without_bom(_text_lines(stream)), delimiter=spec.delimiter), [])
    return header_order(spec, fields, f"{path}:1")


def _parquet_text(value, missing_token: str) -> str:
    """A Parquet cell as the text a CSV would hold (whole floats as integers: 3.0 -> '3')."""
    if value is None:
        return missing_token
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parquet_rows(spec: DatasetSpec, path: str, on_out_of_range: Optional[Callable[[str, float], None]],
                  label_optional: bool = False) -> Iterator[dict[str, RawValue]]:
    import pyarrow
    import pyarrow.parquet as pq

    wanted = [c.name for c in spec.columns]
    rows = 0
    # Parquet needs random access: a local file is opened in place, a gs:// one read whole.
    if "://" in path:
        with open_input(path) as remote:
            source = io.BytesIO(remote.read())
    else:
        source = path
    try:
        parquet = pq.ParquetFile(source)
    except (pyarrow.ArrowException, OSError) as err:
        raise RawDataError(f"{path}: not a readable Parquet file ({err})") from None
    absent = [name for name in wanted if name not in parquet.schema_arrow.names]
    if label_optional and absent == [spec.label.column]:
        wanted, absent = [n for n in wanted if n != spec.label.column], []  # new data, no label
    if absent:
        raise RawDataError(f"{path}: no column(s) {absent} that the spec lists; it has {parquet.schema_arrow.names}")
    for batch in parquet.iter_batches(columns=wanted, batch_size=4096):
        cells = batch.to_pydict()
        for i in range(batch.num_rows):
            rows += 1
            fields = [_parquet_text(cells[name][i], spec.missing_tokens[0]) for name in wanted]
            yield parse_fields(spec, fields, f"{path}: row {rows}", on_out_of_range, label_optional=label_optional)
    if rows == 0:
        raise RawDataError(f"{path}: file has no data rows")


def _text_lines(stream) -> Iterator[str]:
    """A binary file's lines ("\n" ends them, a CRLF's "\r" stays for csv) decoded one at a
    time, so a byte that is not UTF-8 is reported at its own line."""
    for line in stream:
        yield line.decode("utf-8")


def _without_bom(lines: Iterator[str]) -> Iterator[str]:
    for i, line in enumerate(lines):
        yield line.removeprefix("\ufeff") if i == 0 else line


def row_bytes(row: dict[str, RawValue]) -> bytes:
    """A row as a serialized tf.Example: strings become bytes features, numbers float
    features; missing values are absent."""
    return example_bytes({name: value.encode() if isinstance(value, str) else value for name, value in row.items()})

