"""tfxp: the project's command line. ``tfxp --help`` and ``tfxp COMMAND --help`` explain each command."""
from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import shlex
import sys
import threading
import traceback
import warnings
from typing import Iterator, NoReturn

from tfxp_cli.arguments import NOT_BLESSED_EXIT, Parser, add_verbosity, leaf_parsers
from tfxp_cli.cloud_commands import add_cloud_commands
from tfxp_cli.errors import explain
from tfxp_cli.local_commands import add_local_commands
from tfxp_cli.metadata_commands import add_metadata_commands
from tfxp_cli.predict_command import add_generate_command, add_predict_command, add_predictions_command
from tfxp_cli.spec_commands import add_spec_commands
from tfxp_cli.ui_command import add_ui_command
from tfxp_contract.fetch import DATA_DIR_ENV
from tfxp_contract.names import VERBOSITY_ENV
from tfxp_contract.run_folders import OUTPUT_DIR_ENV

LEGACY_KERAS_ENV = "TF_USE_LEGACY_KERAS"

EPILOG = f"""environment:
  {DATA_DIR_ENV}   default for --data-dir (a local mirror of the published files)
  {OUTPUT_DIR_ENV} default for --output-dir (where runs, metadata and served models live)
  TFXP_CACHE_DIR  where downloads are cached (default ~/.cache/tfx-training-pipeline)

conventions:
  -o json         commands that print data print one JSON document on stdout (notes go to stderr)
  -q / -v         progress lines off / TFX's, TensorFlow's and Keras' own logs on
  options are spelled out in full (no abbreviations)

exit codes:
  0 done, 1 error, 2 usage error, {NOT_BLESSED_EXIT} model not blessed (`tfxp run --fail-if-not-blessed`), 130 interrupted

examples:
  tfxp datasets
  tfxp run house_votes --data-dir ../shared/datasets
  tfxp run mammographic --data-dir ../shared/datasets --output-dir /tmp/out --shards 4
  tfxp spec init customers.csv --label churn --out customers.yaml && tfxp run customers.yaml
  tfxp predict house_votes new_rows.csv --out predictions.csv
  tfxp report house_votes -o json
  tfxp ui
  tfxp run-compiled compiled/house-votes.json --root /tmp/cloud-root --param data_root=DIR
"""


def version() -> str:
    """This project's version and the pinned stack's, read from the installed packages."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    def of(name: str) -> str:
        try:
            return installed(name)
        except PackageNotFoundError:
            return "not installed"
    return (f"tfxp {of('tfx-training-pipeline')} (TFX {of('tfx')}, TensorFlow {of('tensorflow')}, "
            f"Beam {of('apache-beam')}, kfp {of('kfp')}, google-cloud-aiplatform {of('google-cloud-aiplatform')})")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="tfxp", description="Train, evaluate and push models with one TFX pipeline per dataset spec.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_local_commands(commands)
    add_predict_command(commands)
    add_predictions_command(commands)
    add_generate_command(commands)
    add_spec_commands(commands)
    add_metadata_commands(commands)
    add_cloud_commands(commands)
    add_ui_command(commands)
    for _, leaf in leaf_parsers(parser):
        add_verbosity(leaf)
    return parser


def quiet_libraries() -> None:
    """Hides TensorFlow's C++ start-up chatter (CUDA plugin registration 'errors' on a
    machine without a GPU) and Google clients' Python-version warnings. Must run before
    TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # TFMA divides by zero on a slice without positives (its metric is then NaN, shown as n/a).
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"tensorflow_model_analysis\.")
    # TFX's, TFT's and TensorFlow's Python warnings (absl and the "tensorflow" logger: tables
    # initialized in a tf.function, models loaded without a training configuration, deprecated
    # readers) are advice to their own developers: hidden. Ours, and errors, still show; -v
    # shows everything.
    logging.getLogger("absl").addFilter(ours_or_errors)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


OUR_CODE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the folder holding our packages


def ours_or_errors(record: logging.LogRecord) -> bool:
    """An absl record passes if it is an error, or was logged by our own packages' code."""
    if record.levelno >= logging.ERROR:
        return True
    top = os.path.relpath(os.path.abspath(record.pathname), OUR_CODE).split(os.sep)[0]
    return top in LOGGING_PACKAGES


LOGGING_PACKAGES = {"tfxp_cli", "tfxp_ui", "pipelines", "components", "trainers", "infra", "transforms",
                    "tfxp_reports", "tfxp_contract", "bench"}


def use_keras_2() -> None:
    """``tf.keras`` is Keras 2 (``tf_keras``) in this process and the ones it starts (Beam
    workers, training workers, the serving check): the project's decision (README, Decisions).
    TF Transform switches it when it is imported; set before TensorFlow is imported, it also
    keeps TensorFlow itself from importing Keras 3 (Keras Tuner, which TFX's components
    package imports, still does). A value the user set is kept."""
    os.environ.setdefault(LEGACY_KERAS_ENV, "1")


@contextlib.contextmanager
def argv_without_our_options() -> Iterator[None]:
    """``sys.argv`` holds only the program's name while a command runs (and in the processes
    it spawns, which copy it). TFX's Beam executors hand ``sys.argv`` to absl's flag parser:
    our ``-v`` reads there as absl's ``-v`` (``--verbosity``), which took the next word for its
    number and failed every Beam component of a ``tfxp run -v``."""
    kept = sys.argv
    sys.argv = kept[:1]
    try:
        yield
    finally:
        sys.argv = kept


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["tfxp", *argv])
    use_keras_2()
    # Read by the Trainer, in this process or its workers: Keras' epoch lines or one progress line.
    os.environ[VERBOSITY_ENV] = "verbose" if args.verbose else "quiet" if args.quiet else "normal"
    if not args.verbose:
        quiet_libraries()
    try:
        with argv_without_our_options():
            return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one clear line instead of a TFX/Beam traceback
        message = explain(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1


def run() -> NoReturn:
    """The ``tfxp`` command: ``main``, then the process ends without Python's finalization,
    which tore down TensorFlow's, Beam's and TFMA's modules for 2.1 s after every pipeline run
    (measured: a process that only imports them takes that long to exit). atexit functions
    still run (logging, multiprocessing's children) and output is flushed first; while a
    thread that is not a daemon still runs, the exit is the normal one, which waits for it."""
    try:
        code = main()
    except SystemExit as stop:  # argparse: --help, --version, usage errors
        code = stop.code
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head) or stream
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
