"""Drafting a dataset spec from a data file (``tfxp spec init``).

Reads a CSV/TSV (with or without a header row) or a Parquet file in chunks, every cell as text,
and keeps running counts per column, so a file of millions of rows is read in bounded memory:
numeric or categorical by content, the categorical values, the numeric range, which "no
value" tokens the file holds (all of them become the spec's missing tokens); the label's
values. A quick logistic regression on a sample of the rows sets the metric bounds a stated
margin below what it scores, so a first model far below a linear baseline is not blessed. Each
choice is written into the YAML as a comment, so the draft explains itself and can be edited;
unedited, it runs with ``tfxp run``.
"""
from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from tfxp_contract.dataset_spec import SpecError

# Tokens publishers use for "no value"; every one the file holds is declared missing.
MISSING_TOKENS = ("", "?", "NA", "N/A", "na", "n/a", "null", "NULL", "None", "nan", "NaN", "-")
BOOLEANS = {"true", "false"}
MAX_LISTED_VALUES = 50  # a categorical domain longer than this is learned from the data instead
FEW_CODES = 10  # integer columns with at most this many distinct values read as categorical codes
ACCURACY_MARGIN = 0.02  # at least the majority class's share plus this
BASELINE_MARGIN = 0.03  # and at most this below the quick logistic regression (or two of its standard errors)
BASELINE_ROWS = 20_000  # rows the quick baseline is fitted and scored on
BATCH_BYTES = 2 * 1024 * 1024  # read at a time
DATE_CHECKS = 50  # values of each batch a date column must parse as dates
TEXT_CHARACTERS = 30  # a string column of many distinct values this long on average is free text
TEXT_VOCABULARY = 20_000
MIN_SEQUENCE, MAX_SEQUENCE = 16, 400  # words a text keeps: twice the average, within these
MAX_KEPT_VALUES = MAX_LISTED_VALUES * 20  # distinct values counted per column (enough to tell a domain from text)
SNIFF_BYTES = 64 * 1024
MAX_LINE_BYTES = 1024 * 1024  # a longer line in the first lines: not a table of rows


@dataclass
class ColumnDraft:
    name: str
    type: str
    values: list[str] = field(default_factory=list)
    range: Optional[tuple[float, float]] = None
    missing_count: int = 0
    why: str = ""
    sequence_length: int = 0  # text


@dataclass
class Baseline:
    rows: int  # fitted and scored on (a 4:1 split of them)
    held_out: int
    accuracy: float = float("nan")  # a classifier's (a logistic regression)
    auc: Optional[float] = None  # two classes only
    r2: Optional[float] = None  # a regression's (a ridge regression)
    rmse: Optional[float] = None

    @property
    def margin(self) -> float:
        """How far below it a model may score: ``BASELINE_MARGIN``, or two standard errors of
        its held-out accuracy where those are wider (a small sample)."""
        return max(BASELINE_MARGIN, 2 * (self.accuracy * (1 - self.accuracy) / self.held_out) ** 0.5)


@dataclass
class SpecDraft:
    name: str
    path: str  # the data file, as the spec refers to it
    format: str
    delimiter: str
    header: bool
    missing_tokens: list[str]  # the "no value" tokens the file holds, most frequent first
    columns: list[ColumnDraft]
    label: str
    label_values: list[str]  # none for a regression
    majority: float  # share of the most frequent label value (a regression: of its most frequent number)
    rows: int
    baseline: Optional[Baseline] = None

    @property
    def regression(self) -> bool:
        return not self.label_values


class _Tally:
    """A column's running counts over every batch of rows (pyarrow arrays of text)."""

    def __init__(self, name: str):
        self.name = name
        self.missing = 0
        self.present = 0
        self.characters = 0  # of the present values
        self.spaces = 0
        self.dates = True  # every value looked at so far is an ISO 8601 date or date and time
        self.numeric = True
        self.integer = True
        self.low = float("inf")
        self.high = float("-inf")
        self.values: Counter = Counter()  # value -> rows (capped: see overflow)
        self.overflow = False  # more distinct values than are kept
        self.first_batch_distinct = 0
        self.first_batch_rows = 0

    def add(self, cells, tokens) -> Counter:
        """Counts a batch; returns the missing tokens it held and how often."""
        import pyarrow as pa
        import pyarrow.compute as pc

        missing = pc.or_(pc.is_null(cells), pc.fill_null(pc.is_in(cells, value_set=tokens), False))
        held = pc.value_counts(pc.fill_null(pc.filter(cells, missing), ""))
        present = pc.filter(cells, pc.invert(missing))
        self.missing += len(cells) - len(present)
        self.present += len(present)
        if self.dates and len(present):
            from components.ingest.workers.delimited_rows import parse_datetime
            self.dates = all(parse_datetime(v) is not None for v in present.slice(0, DATE_CHECKS).to_pylist())
        if not self.numeric or self.first_batch_rows == 0:
            self.characters += pc.sum(pc.utf8_length(present)).as_py() or 0
            self.spaces += pc.sum(pc.count_substring(present, " ")).as_py() or 0
        if self.first_batch_rows == 0:
            self.first_batch_rows, self.first_batch_distinct = len(cells), len(pc.unique(present))
        if self.numeric and len(present):
            try:
                numbers = pc.cast(present, pa.float64())
                finite = pc.all(pc.is_finite(numbers)).as_py()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                finite = False
            if not finite:
                self.numeric = False
            else:
                bounds = pc.min_max(numbers).as_py()
                self.low, self.high = min(self.low, bounds["min"]), max(self.high, bounds["max"])
                self.integer = self.integer and pc.all(pc.equal(pc.floor(numbers), numbers)).as_py()
        if not self.overflow:
            counted = pc.value_counts(present)
            if len(counted) + len(self.values) > MAX_KEPT_VALUES:
                self.overflow = True
            else:
                self.values.update(dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist())))
        return Counter(dict(zip(held.field("values").to_pylist(), held.field("counts").to_pylist())))


def _check_text_table(path: Path) -> None:
    """One line for what is not a text table: compressed, binary, or without line breaks."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head:
        raise SpecError(f"{path}: the file is empty")
    if head.startswith(b"\x1f\x8b"):
        raise SpecError(f"{path}: gzip-compressed; decompress it first (gunzip -k {path.name}) and draft from that")
    if head.startswith(b"PK\x03\x04"):
        raise SpecError(f"{path}: a zip archive, not a table; extract the table from it first")
    if b"\x00" in head:
        raise SpecError(f"{path}: holds NUL bytes: a binary file, not a text table (for Parquet, name it .parquet)")
    if len(head) == SNIFF_BYTES and b"\n" not in head:
        with open(path, "rb") as f:
            first = f.readline(MAX_LINE_BYTES + 1)
        if len(first) > MAX_LINE_BYTES:
            raise SpecError(f"{path}: its first line is over {MAX_LINE_BYTES // (1024 * 1024)} MiB long: not a "
                            "table of rows")


def _sniff(path: Path) -> tuple[str, bool]:
    """(delimiter, has a header row) of a delimited text file, from its first lines."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        sample = "".join(f.readline(MAX_LINE_BYTES) for _ in range(50))
    if not sample.strip():
        raise SpecError(f"{path}: the file is empty")
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    csv.field_size_limit(MAX_LINE_BYTES)
    try:
        rows = list(csv.reader(sample.splitlines(), delimiter=delimiter))
    except csv.Error as err:
        raise SpecError(f"{path}: not a table this can read ({err})") from None
    first, rest = rows[0], rows[1:]

    def numeric(text: str) -> bool:
        try:
            float(text)
            return True
        except ValueError:
            return False

    # A header row: its cells are not numbers where the rows below it are, or it has no
    # repeated cells and no missing tokens where the rest of the file is mostly text.
    header = any(not numeric(cell) and rest and all(numeric(r[i]) for r in rest if i < len(r)
                                                    and r[i].strip() not in MISSING_TOKENS)
                 for i, cell in enumerate(first)) if rest else False
    if not header and rest:
        header = csv.Sniffer().has_header(sample) if len(set(first)) == len(first) else False
    return delimiter, header


def _parquet_text(value) -> Optional[str]:
    """A Parquet cell as the text the reader makes of it (whole floats as integers: 3.0 -> '3')."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _batches(path: Path, header: Optional[bool]) -> tuple[Iterator, str, str, bool]:
    """(batches of rows: {column name: pyarrow array of text}, format, delimiter, header)."""
    import pyarrow as pa

    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as err:
            raise SpecError(f"{path}: not a readable Parquet file ({err})") from None

        def parquet_batches():
            for batch in parquet.iter_batches(batch_size=65_536):
                yield {name: pa.array([_parquet_text(v) for v in column.to_pylist()], pa.string())
                       for name, column in zip(batch.schema.names, batch.columns)}
        return parquet_batches(), "parquet", ",", True
    import pyarrow.compute as pc
    from pyarrow import csv as pa_csv

    _check_text_table(path)
    delimiter, sniffed = _sniff(path)
    header = sniffed if header is None else header
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        first = next(csv.reader([f.readline(MAX_LINE_BYTES)], delimiter=delimiter), [])
    names = [c.strip() for c in first] if header else [f"col_{i + 1}" for i in range(len(first))]
    if len(set(names)) != len(names):
        raise SpecError(f"{path}: the header names a column twice: {names}")

    def text_batches():
        try:
            reader = pa_csv.open_csv(
                path, read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1 if header else 0,
                                                      block_size=BATCH_BYTES),
                parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                      strings_can_be_null=False))
            for batch in reader:
                yield {n: pc.utf8_trim_whitespace(c) for n, c in zip(batch.schema.names, batch.columns)}
        except pa.ArrowInvalid as err:
            message = " ".join(str(err).split())[:200]
            if "UTF8" in message or "utf8" in message or "UTF-8" in message:
                raise SpecError(f"{path}: not UTF-8 text; save it as UTF-8 ({message})") from None
            raise SpecError(f"{path}: not a table this can read: {message}") from None
    return text_batches(), "csv", delimiter, header


def _name_for(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("._-") or "my_data"
    return name if name[0].isalnum() else f"d{name}"


def draft_spec(data_file: str, label: str, header: Optional[bool] = None, name: Optional[str] = None) -> SpecDraft:
    import pyarrow as pa

    path = Path(data_file)
    if not path.is_file():
        raise SpecError(f"{path}: file not found")
    batches, fmt, delimiter, header = _batches(path, header)
    tokens = pa.array(MISSING_TOKENS, pa.string())
    tallies: dict[str, _Tally] = {}
    token_counts: Counter = Counter()
    sample: dict[str, list] = {}
    rows = 0
    for batch in batches:
        if not tallies:
            if label not in batch:
                raise SpecError(f"{path}: no column {label!r}; columns: {', '.join(map(str, batch))}"
                                + ("" if header else " (no header row was found: columns are numbered)"))
            tallies = {c: _Tally(c) for c in batch}
        for column, tally in tallies.items():
            token_counts.update(tally.add(batch[column], tokens))
        room = BASELINE_ROWS - rows
        if room > 0:
            for column, cells in batch.items():
                sample.setdefault(column, []).extend(cells.slice(0, room).to_pylist())
        rows += len(next(iter(batch.values()))) if batch else 0
    if not tallies or rows == 0:
        raise SpecError(f"{path}: no data rows")
    missing_tokens = [t for t, n in token_counts.most_common() if n > 0]
    columns = [_column(tallies[c], c == label, path) for c in tallies]
    label_counts = tallies[label].values
    regression = _is_regression_label(tallies[label])
    if len(label_counts) < 2 and not regression:
        raise SpecError(f"{path}: the label column {label!r} has one value only ({next(iter(label_counts))!r})")
    draft = SpecDraft(name=name or _name_for(path), path=str(path), format=fmt, delimiter=delimiter, header=header,
                      missing_tokens=missing_tokens, columns=columns, label=label,
                      label_values=[] if regression else sorted(map(str, label_counts), key=_natural),
                      majority=max(label_counts.values()) / sum(label_counts.values()) if label_counts else 0.0,
                      rows=rows)
    if regression:
        columns[list(tallies).index(label)] = ColumnDraft(
            label, "numeric", why=f"the label: numbers, {'many' if tallies[label].overflow else len(label_counts)} "
                                  "distinct, so a regression (predicts the number)")
    draft.baseline = quick_baseline(sample, draft, set(MISSING_TOKENS))
    return draft


def _is_regression_label(tally: _Tally) -> bool:
    """A numeric label with many distinct values (or fractions) is predicted as a number."""
    return tally.numeric and (tally.overflow or len(tally.values) > FEW_CODES or not tally.integer)


def _column(tally: _Tally, is_label: bool, path: Path) -> ColumnDraft:
    if is_label:
        if tally.missing:
            raise SpecError(f"{path}: the label column {tally.name!r} has {tally.missing} missing value(s); "
                            "remove those rows or choose another label")
        if _is_regression_label(tally):
            return ColumnDraft(tally.name, "numeric", why="the label")
        if tally.overflow or len(tally.values) > MAX_LISTED_VALUES:
            raise SpecError(f"{path}: the label column {tally.name!r} has over {MAX_LISTED_VALUES} distinct values: "
                            "a classifier needs a few classes")
        return ColumnDraft(tally.name, "categorical", why="the label")
    distinct = len(tally.values)
    if not tally.present:
        return ColumnDraft(tally.name, "ignore", missing_count=tally.missing, why="always empty")
    if not tally.numeric and tally.dates:
        return ColumnDraft(tally.name, "datetime", missing_count=tally.missing,
                           why="dates (ISO 8601): year, month, day of the week, hour and days since 1970 are learned "
                               "from them")
    mean_words = (tally.spaces / tally.present + 1) if tally.present else 0.0
    if not tally.numeric and (tally.overflow or distinct > MAX_LISTED_VALUES) and \
            tally.characters >= TEXT_CHARACTERS * tally.present:
        length = int(min(MAX_SEQUENCE, max(MIN_SEQUENCE, 2 * mean_words)))
        return ColumnDraft(tally.name, "text", missing_count=tally.missing, sequence_length=length,
                           why=f"free text: {'many' if tally.overflow else distinct} distinct values, "
                               f"{mean_words:.0f} words on average; its {TEXT_VOCABULARY} most frequent words and word "
                               f"pairs, the first and last {length // 2} of each")
    if not tally.numeric and tally.first_batch_distinct == tally.first_batch_rows > FEW_CODES:
        return ColumnDraft(tally.name, "ignore", why="a different text in every row: an identifier, not a feature "
                                                     "(parsed, never learned from)")
    if tally.numeric and not (tally.integer and distinct <= FEW_CODES):
        return ColumnDraft(tally.name, "numeric", range=(tally.low, tally.high), missing_count=tally.missing,
                           why=f"numbers, {'many' if tally.overflow else distinct} distinct")
    listed = sorted(map(str, tally.values), key=_natural) if not tally.overflow and distinct <= MAX_LISTED_VALUES \
        else []
    if tally.numeric:
        why = "integer codes with few distinct values: categorical (make it numeric if they are amounts)"
    elif {v.lower() for v in tally.values} <= BOOLEANS:
        why = "a boolean (true/false)"
    else:
        why = f"text, {'many' if tally.overflow else distinct} distinct values"
    if not listed:
        why += f"; more than {MAX_LISTED_VALUES}, so the vocabulary is learned from the data"
    return ColumnDraft(tally.name, "categorical", values=listed, missing_count=tally.missing, why=why)


def quick_baseline(sample, draft: SpecDraft, tokens: set) -> Optional[Baseline]:
    """A logistic regression on the first rows (one-hot categoricals, standardized numerics with
    a missing indicator), scored on a fifth of them held out; None where it cannot be fitted."""
    import numpy as np
    import pandas as pd
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    sample = pd.DataFrame(sample, dtype=object)
    features = []
    for c in draft.columns:
        if c.name == draft.label or c.type == "ignore" or (c.type == "categorical" and not c.values):
            continue  # (a column with a learned vocabulary is left out: its one-hot could be huge)
        cells = sample[c.name]
        missing = cells.isna() | cells.isin(tokens)
        if c.type == "text":
            from sklearn.feature_extraction.text import TfidfVectorizer
            features.append(TfidfVectorizer(max_features=TEXT_VOCABULARY, ngram_range=(1, 2), sublinear_tf=True)
                            .fit_transform(cells.where(~missing, "").astype(str)))
        elif c.type in ("numeric", "datetime"):
            if c.type == "datetime":
                from components.ingest.workers.delimited_rows import parse_datetime
                cells = cells.where(missing, cells.map(lambda v: parse_datetime(str(v))))
            numbers = pd.to_numeric(cells.where(~missing), errors="coerce").astype(float)
            filled = numbers.fillna(numbers.mean() if numbers.notna().any() else 0.0)
            features += [((filled - filled.mean()) / (filled.std() or 1.0)).to_numpy(), missing.to_numpy(float)]
        else:
            features.append(pd.get_dummies(cells.where(~missing, "__missing__")).to_numpy(float))
    y = sample[draft.label].astype(str).to_numpy()
    if not features or len(set(y)) < 2 or len(y) < 20:
        return None
    x = sparse.hstack([f if sparse.issparse(f) else sparse.csr_matrix(f.reshape(len(f), -1)) for f in features]).tocsr()
    order = np.random.default_rng(0).permutation(len(y))
    cut = int(len(y) * 0.8)
    train, held = order[:cut], order[cut:]
    if draft.regression:
        from sklearn.linear_model import Ridge

        target = y.astype(float)
        predicted = Ridge().fit(x[train], target[train]).predict(x[held])
        total = float(((target[held] - target[held].mean()) ** 2).sum())
        squared = float(((target[held] - predicted) ** 2).sum())
        return Baseline(rows=len(y), held_out=len(held), r2=1 - squared / total if total else None,
                        rmse=(squared / len(held)) ** 0.5)
    if len(set(y[train])) < 2:
        return None
    model = LogisticRegression(max_iter=500).fit(x[train], y[train])
    accuracy = float((model.predict(x[held]) == y[held]).mean())
    auc = None
    if len(draft.label_values) == 2 and len(set(y[held])) == 2:
        positive = list(model.classes_).index(draft.label_values[1]) if draft.label_values[1] in model.classes_ else 1
        auc = float(roc_auc_score(y[held] == model.classes_[positive], model.predict_proba(x[held])[:, positive]))
    return Baseline(rows=len(y), held_out=len(held), accuracy=accuracy, auc=auc)


def _natural(value) -> tuple:
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def _quote(value: str) -> str:
    """A YAML scalar that stays a string ('1', '?', 'yes' and '' included)."""
    return "'" + str(value).replace("'", "''") + "'"


REGRESSION_MARGIN = 0.05  # R² at most this below the ridge regression's (or 1/sqrt(held-out rows), if wider)


def regression_bounds(draft: SpecDraft) -> tuple[float, Optional[float]]:
    """(R² lower bound, RMSE upper bound or None), from the quick ridge regression."""
    baseline = draft.baseline
    if baseline is None or baseline.r2 is None:
        return 0.0, None  # better than predicting the mean
    margin = max(REGRESSION_MARGIN, 1 / baseline.held_out ** 0.5)
    return round(max(0.0, baseline.r2 - margin), 3), float(f"{baseline.rmse * (1 + margin):.4g}")


def metric_bounds(draft: SpecDraft) -> tuple[float, Optional[float]]:
    """(accuracy bound, AUC bound or None): above the majority class, and at most the
    baseline's margin below the quick baseline."""
    accuracy = draft.majority + ACCURACY_MARGIN
    auc = 0.55 if len(draft.label_values) == 2 else None
    if draft.baseline is not None:
        accuracy = max(accuracy, draft.baseline.accuracy - draft.baseline.margin)
        if auc is not None and draft.baseline.auc is not None:
            auc = max(auc, draft.baseline.auc - draft.baseline.margin)
    return min(0.99, round(accuracy, 2)), (min(0.99, round(auc, 2)) if auc is not None else None)


def render_yaml(draft: SpecDraft, spec_path: str) -> str:
    """The draft as a commented YAML spec; the data file's path is relative to the spec."""
    data_path = os.path.relpath(os.path.abspath(draft.path), os.path.dirname(os.path.abspath(spec_path)))
    accuracy, auc = metric_bounds(draft)
    tokens = draft.missing_tokens or [""]
    lines = [
        f"# Drafted by `tfxp spec init` from {draft.path} ({draft.rows} rows, all read). Every choice below is",
        "# explained in a comment; edit freely, then `tfxp run` this file. The JSON Schema of specs",
        "# (`tfxp spec schema`) lets an editor check it as you type.",
        f"name: {draft.name}",
        f"description: {_quote(f'{draft.label} from ' + Path(draft.path).name)}",
        f"format: {draft.format}",
        "files:",
        "  # Your own file: read where it is; its sha256 is computed and recorded by each run, and a",
        "  # changed file shows as a new data version (`tfxp lineage`). Pin a sha256 to refuse changes.",
        f"  - path: {_quote(data_path)}",
    ]
    if draft.format == "csv":
        lines += [
            f"delimiter: {_quote(draft.delimiter)}",
            f"header: {'true' if draft.header else 'false'}"
            + ("  # the first row names the columns" if draft.header else "  # no header row: columns are numbered"),
        ]
    shown = ", ".join(_quote(t) for t in tokens)
    lines += [
        (f"missing_token: {_quote(tokens[0])}" if len(tokens) == 1 else f"missing_token: [{shown}]")
        + ("  # the 'no value' tokens the file holds" if draft.missing_tokens else "  # none seen: empty cells"),
        "columns:",
    ]
    text_classes = _text_classification(draft)
    for c in draft.columns:
        lines.append(f"  # {c.why}" + (f"; {c.missing_count} missing" if c.missing_count else ""))
        entry = f"  - {{name: {_quote(c.name)}, type: {c.type}"
        if c.type == "numeric" and c.range:
            entry += f", range: [{c.range[0]!r}, {c.range[1]!r}]"  # exact: a rounded bound would cut values off
        if c.type == "categorical" and c.values and c.name != draft.label:
            entry += ", values: [" + ", ".join(_quote(v) for v in c.values) + "]"
        if c.type == "text":
            entry += f", vocabulary_size: {TEXT_VOCABULARY}, sequence_length: {c.sequence_length}, ngrams: 2"
            entry += ", weighting: nb" if text_classes else ""
        lines.append(entry + "}")
    lines += [
        "# Numeric values outside a range are treated as missing (and counted); a missing value is imputed",
        "# (numeric: the training mean and a missing indicator; categorical: an out-of-vocabulary id).",
    ]
    if draft.regression:
        lines += ["# The label is a number with many values: a regression predicts it.", "task: regression",
                  "label:", f"  column: {_quote(draft.label)}"]
    else:
        lines += ["label:", f"  column: {_quote(draft.label)}",
                  "  values: [" + ", ".join(_quote(v) for v in draft.label_values) + "]"]
    lines += [
        "# 4:1 hash split of the rows into train and eval.",
        "train_eval_buckets: [4, 1]",
        "num_shards: 2",
        *_model_lines(draft),
    ]
    if draft.regression:
        return "\n".join(lines + _regression_metrics(draft)) + "\n"
    lines += [
        f"# Bounds: always answering the most frequent label scores {draft.majority:.4f}; a model must beat it by "
        f"{ACCURACY_MARGIN:g}.",
    ]
    if draft.baseline is not None:
        scored = f"accuracy {draft.baseline.accuracy:.4f}" + (
            f", AUC {draft.baseline.auc:.4f}" if draft.baseline.auc is not None else "")
        lines.append(f"# A logistic regression on {draft.baseline.rows} rows scored {scored} on a fifth held out; a "
                     f"model more than {draft.baseline.margin:.3f} below it is not blessed")
        lines.append(f"# ({BASELINE_MARGIN:g}, or two standard errors of that score where they are wider).")
    lines += ["metrics:", f"  - {{name: accuracy, lower_bound: {accuracy:g}}}"]
    if auc is not None:
        lines.append(f"  - {{name: auc, lower_bound: {auc:g}}}")
    return "\n".join(lines) + "\n"


def _tuning_lines(search: str) -> list[str]:
    """A commented-out search: uncommented, TFX's Tuner trains one model per combination first."""
    return ["# To search the hyperparameters before training, uncomment: each trial trains the model with",
            "# one combination of these values, ranked on the eval split; the Trainer then uses the best.",
            "# tuning:",
            f"#   search: {search}",
            "#   objective: val_loss      # or val_accuracy (a classifier's default)",
            "#   max_trials: 4            # 0: every combination",
            "#   epochs: 10               # per trial",
            "#   time_budget_minutes: 30  # no new trial starts after this"]


def _text_classification(draft: SpecDraft) -> bool:
    """Text alone, and a class label: the text_nb family (IMDB: 91.6% against 90.2-90.4% for
    averaged embeddings, bench/results/datasets.md)."""
    kinds = {c.type for c in draft.columns if c.name != draft.label and c.type != "ignore"}
    return kinds == {"text"} and not draft.regression


def _model_lines(draft: SpecDraft) -> list[str]:
    kinds = {c.type for c in draft.columns if c.name != draft.label and c.type != "ignore"}
    if _text_classification(draft):
        return ["model:", "  family: text_nb  # linear over the distinct words and pairs, scaled by naive-Bayes ratios",
                "  hyperparameters: {learning_rate: 0.003, epochs: 10, batch_size: 32}",
                *_tuning_lines("{learning_rate: [0.001, 0.003, 0.01]}")]
    if kinds == {"text"}:
        return ["model:", "  family: text_bag  # averaged word embeddings (fastText-style)",
                "  hyperparameters: {embedding_dim: 32, dropout: 0.3, learning_rate: 0.003, epochs: 10, batch_size: 32}",
                *_tuning_lines("{learning_rate: [0.001, 0.003, 0.01], embedding_dim: [16, 64]}")]
    what = "one-hot categoricals and z-scored numerics" + (", averaged word embeddings of the text" if "text" in kinds
                                                            else "")
    return ["model:", f"  family: dense  # a small MLP over {what}",
            "  hyperparameters: {hidden_units: [16], dropout: 0.2, learning_rate: 0.01, epochs: 20, batch_size: 32}",
            *_tuning_lines("{learning_rate: [0.003, 0.01, 0.03], hidden_units: [[16], [64, 32]]}")]


def _regression_metrics(draft: SpecDraft) -> list[str]:
    r2, rmse = regression_bounds(draft)
    lines = []
    if draft.baseline is not None and draft.baseline.r2 is not None:
        lines.append(f"# A ridge regression on {draft.baseline.rows} rows scored R² {draft.baseline.r2:.4f}, RMSE "
                     f"{draft.baseline.rmse:.4g} on a fifth held out; a model well below it is not blessed.")
    else:
        lines.append("# Bounds: better than always predicting the mean (R² above 0).")
    lines += ["metrics:", f"  - {{name: r2, lower_bound: {r2:g}}}"]
    if rmse is not None:
        lines.append(f"  - {{name: rmse, upper_bound: {rmse:g}}}")
    return lines
