"""One training worker: ``python -m trainers.worker JOB.json`` with TF_CONFIG set.

Started by ``trainers.local_cluster`` for local multi-worker runs.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path  # local: the job file the launcher wrote beside it

from absl import logging

from trainers.training_job import TrainingJob, train_and_export


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m trainers.worker JOB.json  (with TF_CONFIG set)", file=sys.stderr)
        return 2
    logging.set_verbosity(logging.INFO)
    train_and_export(TrainingJob.from_json(Path(argv[1]).read_text()), os.environ)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
