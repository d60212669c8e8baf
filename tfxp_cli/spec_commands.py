"""tfxp spec: draft a spec from a data file, check a spec, print the specs' JSON Schema."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tfxp_cli.arguments import add_output_format, json_text
from tfxp_contract.dataset_spec import SpecError, load_spec, spec_json_schema


def cmd_spec_init(args) -> int:
    from tfxp_cli.spec_draft import draft_spec, render_yaml

    out = args.out or f"{Path(args.file).stem}.yaml"
    if Path(out).exists() and not args.force:
        raise SpecError(f"{out}: exists; give another --out or --force to replace it")
    if Path(args.file).is_dir():
        return _init_from_folder(args, out)
    if not args.label:
        raise SpecError(f"{args.file}: give --label COLUMN, the column to predict")
    draft = draft_spec(args.file, args.label, header=args.header, name=args.name)
    text = render_yaml(draft, out)
    Path(out).write_text(text)
    load_spec(out)  # the draft must load as it is
    kinds = ", ".join(f"{sum(c.type == t for c in draft.columns if c.name != draft.label)} {t}"
                      for t in ("numeric", "categorical", "ignore"))
    label = (f"label {draft.label!r}: numbers, a regression" if draft.regression
             else f"label {draft.label!r} with {len(draft.label_values)} values")
    baseline = ""
    if draft.baseline is not None and draft.regression:
        baseline = f"; a ridge regression on {draft.baseline.rows} rows scored R² {draft.baseline.r2:.4f}"
    elif draft.baseline is not None:
        baseline = f"; a logistic regression on {draft.baseline.rows} rows scored {draft.baseline.accuracy:.4f}"
    print(f"{out}: {draft.rows} rows, {len(draft.columns) - 1} columns besides the label ({kinds}), {label}; "
          f"missing tokens {draft.missing_tokens}{baseline}", file=sys.stderr)
    print(f"next: tfxp run {out}", file=sys.stderr)
    return 0


def _init_from_folder(args, out: str) -> int:
    from tfxp_cli.folder_draft import draft_folder, render_folder_yaml

    draft = draft_folder(args.file, args.label or "label", args.name)
    Path(out).write_text(render_folder_yaml(draft, out))
    load_spec(out)  # the draft must load as it is
    split = (f"split folders {draft.splits['train']}/ and {draft.splits['eval']}/" if draft.splits
             else "a 4:1 hash split")
    shape = f", shape {list(draft.shape)}" if draft.content == "image" else ""
    print(f"{out}: {sum(draft.counts.values())} {draft.content} files in {len(draft.classes)} classes "
          f"({', '.join(draft.classes)}){shape}; {split}", file=sys.stderr)
    print(f"next: tfxp run {out}", file=sys.stderr)
    return 0


def cmd_spec_check(args) -> int:
    spec = load_spec(args.spec)
    kinds = {}
    for column in spec.feature_columns:
        kinds[column.type] = kinds.get(column.type, 0) + 1
    if args.output == "json":
        print(json_text({"spec": args.spec, "valid": True, "name": spec.name, "task": spec.task,
                         "format": spec.format, "data_family": spec.data_family, "features": kinds,
                         "classes": spec.num_classes, "model_family": spec.model.family, "files": len(spec.files)}))
        return 0
    print(f"{args.spec}: valid spec {spec.name!r}: {spec.format}, {spec.data_family} data, "
          f"{', '.join(f'{n} {t}' for t, n in kinds.items())} feature(s), {spec.num_classes} classes, "
          f"model {spec.model.family}, {len(spec.files)} file(s)")
    return 0


def cmd_spec_schema(args) -> int:
    print(json.dumps(spec_json_schema(), indent=2))
    return 0


def add_spec_commands(commands) -> None:
    p = commands.add_parser("spec", help="draft a spec from your data file, check a spec, or print the spec schema",
                            description="Specs describe a dataset: files, columns, label, split, model, thresholds.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    q = actions.add_parser(
        "init", help="draft a spec from a table (CSV/TSV, Parquet) or a folder of class folders",
        description="A table: reads every row, decides each column's type (numeric or categorical by content), "
                    "domain, missing tokens and range, the label's values (a numeric label with many values: a "
                    "regression) and bounds from a quick linear baseline. A folder: <folder>/<class>/<file> with "
                    "images or .txt files (train/ and test/ subfolders are the splits). Writes a commented spec "
                    "that runs unchanged with `tfxp run`.")
    q.add_argument("file", help="the data file (.csv, .tsv, .txt, .data, .parquet) or a folder of class folders")
    q.add_argument("--label", default=None, metavar="COLUMN",
                   help="a table: the column to predict (a header name, or col_N for a file without header); "
                        "a folder: the label feature's name (default: label)")
    q.add_argument("--out", default=None, metavar="SPEC", help="where the spec goes (default: <file stem>.yaml here)")
    q.add_argument("--name", default=None, help="the dataset's name (default: from the file name)")
    header = q.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None,
                        help="the first row names the columns (default: detected)")
    header.add_argument("--no-header", dest="header", action="store_false", help="the first row is data")
    q.add_argument("--force", action="store_true", help="replace --out if it exists")
    q.set_defaults(func=cmd_spec_init)

    q = actions.add_parser("check", help="load a spec and say what it describes (errors name the field)")
    q.add_argument("spec", help="built-in dataset name or path to a spec .yaml")
    add_output_format(q)
    q.set_defaults(func=cmd_spec_check)

    q = actions.add_parser("schema", help="print the JSON Schema of spec files (for editors that validate YAML)",
                           description="The same schema is in tfxp_contract/spec.schema.json; point your editor's "
                                       "YAML support at it (e.g. a `# yaml-language-server: $schema=...` line).")
    add_output_format(q, json_only=True)
    q.set_defaults(func=cmd_spec_schema)
