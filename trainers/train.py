"""Fitting a model: shared by the TFX run_fn, the benchmark and the tests."""
from __future__ import annotations

import sys
import time
from typing import NamedTuple, Optional, Sequence, TextIO

import tensorflow as tf
import tf_keras as keras

from transforms.autograph import skip_autograph_for_libraries

TRAINING_ARGS = ("epochs", "batch_size", "validation_freq")


class Settings(NamedTuple):
    model_args: dict  # the model builder's arguments
    batch_size: int  # per replica
    epochs: int
    validation_freq: int  # validate after every this many epochs, and after the last


def training_settings(spec_hyperparameters: dict, overrides: Optional[dict] = None) -> Settings:
    """The spec's values, overridden per run."""
    merged = {**spec_hyperparameters, **(overrides or {})}
    model_args = {k: v for k, v in merged.items() if k not in TRAINING_ARGS}
    return Settings(model_args, int(merged.get("batch_size", 32)), int(merged.get("epochs", 10)),
                    int(merged.get("validation_freq", 1)))


def validation_epochs(every: int, epochs: int, initial_epoch: int = 0) -> list[int]:
    """The epochs (numbered from 1, as Keras' ``validation_freq`` takes them) after which a run
    from ``initial_epoch`` to ``epochs`` validates: every ``every``-th, and the last."""
    return sorted({e for e in range(initial_epoch + 1, epochs + 1) if e % max(1, every) == 0} | {epochs})


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch (the first includes tracing the graph)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class EpochLine(keras.callbacks.Callback):
    """Training's progress as one line instead of Keras' line per epoch: on a terminal the
    line is rewritten after every epoch; elsewhere (a log file, CI) it is printed at most every
    ``every_seconds`` and at the end."""

    def __init__(self, stream: Optional[TextIO] = None, every_seconds: float = 30.0, prefix: str = "training"):
        super().__init__()
        self.stream = stream or sys.stderr
        self.every_seconds, self.prefix = every_seconds, prefix
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = self._printed = 0.0
        self._text = ""

    def on_train_begin(self, logs=None):
        self._start = self._printed = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        shown = ", ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items() if isinstance(v, (int, float)))
        total = self.params.get("epochs", "?")
        self._text = f"{self.prefix}: epoch {epoch + 1}/{total} ({time.monotonic() - self._start:.0f} s) {shown}"
        if self.terminal:
            self.stream.write("\r\033[K" + self._text)
            self.stream.flush()
        elif time.monotonic() - self._printed >= self.every_seconds:
            self._printed = time.monotonic()
            print(self._text, file=self.stream, flush=True)

    def on_train_end(self, logs=None):
        if self._text:
            print("\r\033[K" + self._text if self.terminal else self._text, file=self.stream, flush=True)


MAX_BACKUPS = 10  # per run: a failed run loses at most a tenth of its epochs


class PeriodicBackup(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, backing up after every ``every``-th epoch instead of each: on
    mammographic's shapes a backup took 22 ms against 36 ms for an epoch's 24 steps (and 84 ms
    for the whole epoch with validation and summaries), so a run of 40 short epochs spent about
    a quarter of its time saving. Which
    epochs back up depends on the epoch number alone, so all workers of a cluster save
    together (saving is collective)."""

    def __init__(self, backup_dir: str, every: int = 1):
        super().__init__(backup_dir=backup_dir)
        self.every = max(1, every)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._backup(epoch=epoch)


def fit(model: keras.Model, train: tf.data.Dataset, validation: Optional[tf.data.Dataset], epochs: int,
        log_dir: Optional[str] = None, verbose: int = 2, steps_per_epoch: Optional[int] = None,
        backup_dir: Optional[str] = None, timer: Optional[EpochTimer] = None,
        initial_epoch: int = 0, extra_log_dirs: Sequence[str] = (),
        progress: Optional[EpochLine] = None, validation_freq: int = 1) -> keras.callbacks.History:
    """``backup_dir``: a restarted run resumes from the last backed-up epoch (``PeriodicBackup``,
    at most ``MAX_BACKUPS`` a run). ``extra_log_dirs``: more TensorBoard logs of the same run.
    ``progress``: one progress line (use with ``verbose=0``). ``validation_freq``: validates
    after every this many epochs and after the last (``validation_epochs``)."""
    skip_autograph_for_libraries()  # else the first epoch re-compiles tf_keras' own train step (seconds)
    callbacks = [keras.callbacks.TensorBoard(log_dir=d, update_freq="epoch")
                 for d in ([log_dir] if log_dir else []) + list(extra_log_dirs)]
    if backup_dir:
        callbacks.append(PeriodicBackup(backup_dir, every=-(-epochs // MAX_BACKUPS)))
    if timer is not None:
        callbacks.append(timer)
    if progress is not None:
        callbacks.append(progress)
    return model.fit(train, validation_data=validation, epochs=epochs, steps_per_epoch=steps_per_epoch,
                     callbacks=callbacks, verbose=verbose, initial_epoch=initial_epoch,
                     validation_freq=validation_epochs(validation_freq, epochs, initial_epoch))
