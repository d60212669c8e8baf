"""Drafting a dataset spec from a data file (``tfxp spec init``).

Reads a CSV/TSV (with or without a header row) or a Parquet file with pandas, every cell as
text first, and decides per column: numeric or categorical by content, the categorical
domain, the missing-value token seen, the numeric range; the label's values; thresholds from
a quick baseline (the majority class). Each choice is written into the YAML as a comment,
so the draft explains itself and can be edited; unedited, it runs with ``tfxp run``.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from tfxp_contract.dataset_spec import SpecError

# Tokens publishers use for "no value"; the most frequent one seen becomes missing_token.
MISSING_TOKENS = ("?", "NA", "N/A", "na", "n/a", "null", "NULL", "None", "nan", "NaN", "-", "")
MAX_LISTED_VALUES = 50  # a categorical domain longer than this is learned from the data instead
FEW_CODES = 10  # integer columns with at most this many distinct values read as categorical codes
ACCURACY_MARGIN = 0.02  # the draft's accuracy bound: the majority class's share plus this


@dataclass
class ColumnDraft:
    name: str
    type: str
    values: list[str] = field(default_factory=list)
    range: Optional[tuple[float, float]] = None
    missing_count: int = 0
    why: str = ""


@dataclass
class SpecDraft:
    name: str
    path: str  # the data file, as the spec refers to it
    format: str
    delimiter: str
    header: bool
    missing_token: str
    columns: list[ColumnDraft]
    label: str
    label_values: list[str]
    majority: float  # share of the most frequent label value
    rows: int


def _sniff(path: Path) -> tuple[str, bool]:
    """(delimiter, has a header row) of a delimited text file, from its first lines."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        sample = "".join(f.readline() for _ in range(50))
    if not sample.strip():
        raise SpecError(f"{path}: the file is empty")
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    rows = list(csv.reader(sample.splitlines(), delimiter=delimiter))
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


def _read(path: Path, header: Optional[bool]):
    import pandas as pd

    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
        text = frame.astype(object).where(frame.notna(), None)
        return text.applymap(lambda v: None if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                                           else str(v))), "parquet", ",", True
    delimiter, sniffed = _sniff(path)
    header = sniffed if header is None else header
    frame = pd.read_csv(path, sep=delimiter, header=0 if header else None, dtype=str, keep_default_na=False,
                        skipinitialspace=True, encoding="utf-8-sig")
    if not header:
        frame.columns = [f"col_{i + 1}" for i in range(frame.shape[1])]
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda column: column.str.strip()), "csv", delimiter, header


def _name_for(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("._-") or "my_data"
    return name if name[0].isalnum() else f"d{name}"


def draft_spec(data_file: str, label: str, header: Optional[bool] = None, name: Optional[str] = None) -> SpecDraft:
    path = Path(data_file)
    if not path.is_file():
        raise SpecError(f"{path}: file not found")
    frame, fmt, delimiter, header = _read(path, header)
    if label not in frame.columns:
        raise SpecError(f"{path}: no column {label!r}; columns: {', '.join(frame.columns)}"
                        + ("" if header else " (no header row was found: columns are numbered)"))
    if len(set(frame.columns)) != len(frame.columns):
        raise SpecError(f"{path}: the header names a column twice: {list(frame.columns)}")
    counts: dict[str, int] = {}
    for token in MISSING_TOKENS:
        if token:
            counts[token] = int((frame == token).sum().sum())
    missing_token = max(counts, key=counts.get) if any(counts.values()) else "?"
    columns = []
    for column in frame.columns:
        cells = frame[column]
        missing = cells.isna() | cells.isin([missing_token, ""])
        present = cells[~missing]
        if column == label:
            if missing.any():
                raise SpecError(f"{path}: the label column {label!r} has {int(missing.sum())} missing value(s); "
                                "remove those rows or choose another label")
            columns.append(ColumnDraft(column, "categorical", why="the label"))
            continue
        numbers = _as_numbers(present)
        distinct = sorted(present.unique(), key=_natural)
        if numbers is None and len(distinct) == len(frame) and len(frame) > FEW_CODES:
            columns.append(ColumnDraft(column, "ignore", why="a different text in every row: an identifier, not "
                                                                "a feature (parsed, never learned from)"))
            continue
        if numbers is not None and not (numbers.apply(float.is_integer).all() and len(distinct) <= FEW_CODES):
            columns.append(ColumnDraft(column, "numeric", range=(float(numbers.min()), float(numbers.max())),
                                       missing_count=int(missing.sum()),
                                       why=f"numbers, {len(distinct)} distinct"))
        else:
            listed = [str(v) for v in distinct] if len(distinct) <= MAX_LISTED_VALUES else []
            why = ("integer codes with few distinct values: categorical (make it numeric if they are amounts)"
                   if numbers is not None else f"text, {len(distinct)} distinct values")
            if not listed:
                why += f"; more than {MAX_LISTED_VALUES}, so the vocabulary is learned from the data"
            columns.append(ColumnDraft(column, "categorical", values=listed, missing_count=int(missing.sum()),
                                       why=why))
    label_counts = frame[label].value_counts()
    if len(label_counts) < 2:
        raise SpecError(f"{path}: the label column {label!r} has one value only ({label_counts.index[0]!r})")
    spec_name = name or _name_for(path)
    return SpecDraft(name=spec_name, path=str(path), format=fmt, delimiter=delimiter, header=header,
                     missing_token=missing_token, columns=columns, label=label,
                     label_values=sorted(map(str, label_counts.index), key=_natural),
                     majority=float(label_counts.max() / label_counts.sum()), rows=len(frame))


def _as_numbers(cells):
    import pandas as pd

    numbers = pd.to_numeric(cells, errors="coerce")
    if len(cells) == 0 or numbers.isna().any():
        return None
    return numbers.astype(float)


def _natural(value) -> tuple:
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def _quote(value: str) -> str:
    """A YAML scalar that stays a string ('1', '?', 'yes' and '' included)."""
    return "'" + str(value).replace("'", "''") + "'"


def render_yaml(draft: SpecDraft, spec_path: str) -> str:
    """The draft as a commented YAML spec; the data file's path is relative to the spec."""
    data_path = os.path.relpath(os.path.abspath(draft.path), os.path.dirname(os.path.abspath(spec_path)))
    binary = len(draft.label_values) == 2
    bound = min(0.99, round(draft.majority + ACCURACY_MARGIN, 2))
    lines = [
        f"# Drafted by `tfxp spec init` from {draft.path} ({draft.rows} rows). Every choice below is",
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
    lines += [
        f"missing_token: {_quote(draft.missing_token)}  # the most frequent 'no value' token seen",
        "columns:",
    ]
    for c in draft.columns:
        lines.append(f"  # {c.why}" + (f"; {c.missing_count} missing" if c.missing_count else ""))
        entry = f"  - {{name: {_quote(c.name)}, type: {c.type}"
        if c.type == "numeric" and c.range:
            entry += f", range: [{c.range[0]:.15g}, {c.range[1]:.15g}]"
        if c.type == "categorical" and c.values and c.name != draft.label:
            entry += ", values: [" + ", ".join(_quote(v) for v in c.values) + "]"
        lines.append(entry + "}")
    lines += [
        "# Numeric values outside a range are treated as missing (and counted); a missing value is imputed",
        "# (numeric: the training mean and a missing indicator; categorical: an out-of-vocabulary id).",
        "label:",
        f"  column: {_quote(draft.label)}",
        "  values: [" + ", ".join(_quote(v) for v in draft.label_values) + "]",
        "# 4:1 hash split of the rows into train and eval.",
        "train_eval_buckets: [4, 1]",
        "num_shards: 2",
        "model:",
        "  family: dense  # a small MLP over one-hot categoricals and z-scored numerics",
        "  hyperparameters: {hidden_units: [16], dropout: 0.2, learning_rate: 0.01, epochs: 20, batch_size: 32}",
        f"# Quick baseline: always answering the most frequent label scores {draft.majority:.4f}; a model is",
        f"# blessed only if it beats that by {ACCURACY_MARGIN:g}"
        + (" and ranks better than chance (AUC)." if binary else "."),
        "metrics:",
        f"  - {{name: accuracy, lower_bound: {bound:g}}}",
    ]
    if binary:
        lines.append("  - {name: auc, lower_bound: 0.55}")
    return "\n".join(lines) + "\n"
