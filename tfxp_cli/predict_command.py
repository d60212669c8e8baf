"""`tfxp predict`: the command line of ``tfxp_cli.predict`` (imported when the command runs,
so that `tfxp --help` does not load TensorFlow)."""
from __future__ import annotations

import sys

from tfxp_cli.arguments import add_dataset, add_output_dir, add_output_format, json_text
from tfxp_cli.local_commands import METADATA_HELP, store_of
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.names import PREDICTIONS, PROBABILITIES


def cmd_predict(args) -> int:
    from tfxp_cli.predict import (
        PredictError,
        check_task,
        confusion,
        model_dir,
        output_suffix,
        predict,
        prediction_table,
        read_inputs,
        regression_scores,
        show_table,
    )
    spec = load_spec(args.dataset)
    check_task(spec, "predict")
    if args.out:
        output_suffix(args.out)
    model = model_dir(spec, args.output_dir, args.version, args.model)
    print(f"model: {model}", file=sys.stderr)
    skipped = []

    def skip(problem: str) -> None:
        skipped.append(problem)
        print(f"skipped {problem}", file=sys.stderr)

    predictions = predict(model, read_inputs(spec, args.inputs, args.text, skip),
                          output=PREDICTIONS if spec.is_regression else PROBABILITIES)
    if not predictions.names:
        raise PredictError("no input to predict on" + (f" ({len(skipped)} skipped)" if skipped else
                                                       ": give files (or --text for a text dataset)"))
    frame = prediction_table(spec, predictions)
    labelled = int(frame["label"].notna().sum()) if "label" in frame else 0
    scores = {}
    if args.out:
        show_table(frame, args.out)
    elif args.output == "table":
        show_table(frame, None)
    if labelled and spec.is_regression:
        scores = regression_scores(frame)
        text = (f"\nRMSE {scores['rmse']:.4f}, MAE {scores['mae']:.4f}, R² {scores['r2']:.4f} on {labelled} "
                "labelled inputs")
    elif labelled:
        accuracy, matrix = confusion(spec, frame)
        scores = {"accuracy": accuracy, "confusion": matrix.to_dict(orient="index")}
        text = f"\naccuracy {accuracy:.4f} on {labelled} labelled inputs\n{matrix.to_string()}"
    if args.output == "json":
        print(json_text({"model": model, "predictions": [] if args.out else frame.to_dict(orient="records"),
                         "labelled": labelled, "scores": scores, "skipped": skipped}))
    elif labelled:
        print(text)
    if skipped:
        print(f"{len(skipped)} input(s) skipped", file=sys.stderr)
        return 1 if args.strict else 0
    return 0


def _add_served_model_arguments(p) -> None:
    """Which model: the newest served version under --output-dir, another --version, or --model."""
    add_output_dir(p)
    p.add_argument("--version", default=None, help="a served version (default: the newest)")
    p.add_argument("--model", default=None, metavar="DIR", help="a SavedModel folder instead of a served version")


def add_predict_command(commands) -> None:
    p = commands.add_parser(
        "predict", help="ask the pushed model: image files, text files or strings, table rows",
        description="Runs the newest served model of DATASET (<output-dir>/<dataset>/serving/<version>/) on your "
                    "inputs: image files (JPEG/PNG, any size: the model's own transform resizes), text files or "
                    "--text strings, or CSV/Parquet tables with the spec's raw columns (a header row naming them, "
                    "or the spec's order; the label column is optional). Prints input, predicted class and each "
                    "class's probability; with labels (a table's label column, or files in folders named like the "
                    "classes), accuracy and a confusion matrix. Bad inputs are named and skipped.")
    add_dataset(p)
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="files to predict on")
    p.add_argument("--text", action="append", default=[], metavar="TEXT",
                   help="a text to classify (text datasets; repeat for more)")
    _add_served_model_arguments(p)
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write the predictions to FILE (.csv, .parquet or .json) instead of printing them")
    add_output_format(p)
    p.add_argument("--strict", action="store_true", help="exit 1 if any input was skipped")
    p.set_defaults(func=cmd_predict)


def cmd_predictions(args) -> int:
    from tfxp_cli.predict import PredictError, check_task, inference_table, output_suffix, show_table
    from tfxp_reports.metadata_store import artifacts_of, open_store
    spec = load_spec(args.dataset)
    check_task(spec, "predictions")
    if args.out:
        output_suffix(args.out)
    metadata, name = store_of(args)
    results = artifacts_of(open_store(metadata), "InferenceResult", name)
    if not results:
        raise PredictError(f"{args.dataset}: no batch predictions recorded; they need an `inference:` section in "
                           "the spec and a blessed model")
    newest = max(results, key=lambda a: a.id)
    frame = inference_table(spec, newest.uri)
    print(f"{len(frame)} predictions from {newest.uri}", file=sys.stderr)
    if args.out or args.output == "table":
        show_table(frame, args.out)
    else:
        print(json_text({"source": newest.uri, "predictions": frame.to_dict(orient="records")}))
    return 0


def add_predictions_command(commands) -> None:
    p = commands.add_parser(
        "predictions", help="the newest batch predictions of a dataset's pipeline (its spec's inference section)",
        description="A spec's `inference:` section (folder and pattern of new rows, label optional) makes every "
                    "run score them with its model when that model is blessed (TFX's BulkInferrer). This prints "
                    "the newest: each row's raw columns, the predicted class and each class's probability.")
    add_dataset(p)
    add_output_dir(p)
    p.add_argument("--metadata", default=None, metavar="URI", help=METADATA_HELP)
    p.add_argument("--out", default=None, metavar="FILE", help="write them to FILE (.csv, .parquet or .json)")
    add_output_format(p)
    p.set_defaults(func=cmd_predictions)


def cmd_generate(args) -> int:
    from tfxp_cli.predict import PredictError, check_task, generate_images, model_dir
    spec = load_spec(args.dataset)
    check_task(spec, "generate")
    if args.count < 1:
        raise PredictError(f"--count must be at least 1, got {args.count}")
    model = model_dir(spec, args.output_dir, args.version, args.model)
    paths = generate_images(model, args.count, args.seed, args.out)
    print(f"model: {model}", file=sys.stderr)
    print(f"{len(paths)} images written to {args.out} (seed {args.seed})")
    return 0


def add_generate_command(commands) -> None:
    p = commands.add_parser(
        "generate", help="images from a generative model (task: generative): PNG files",
        description="Runs the newest served version of a generative DATASET (a VAE or a GAN) and writes "
                    "--count samples as PNG files; the same --seed gives the same images. The served model "
                    "also answers `generate` (count, seed), and a VAE `encode` (raw image bytes) and `decode` "
                    "(latent vectors) for any client of tf.saved_model.load or TF Serving.")
    add_dataset(p, what="a generative one, e.g. fashion_mnist_vae")
    p.add_argument("--count", type=int, default=16, help="how many images (default: 16)")
    p.add_argument("--seed", type=int, default=0, help="the random seed (default: 0)")
    p.add_argument("--out", default="samples", metavar="FOLDER", help="where the PNG files go (default: samples)")
    _add_served_model_arguments(p)
    p.set_defaults(func=cmd_generate)
