"""Two per-call costs of Apache Beam 2.60 that dominate small local runs, removed without changing
what Beam computes.

A run on a table of a thousand rows spends most of its Beam time building and pickling DoFns, not
processing rows (profiled on mammographic: 4 Beam pipelines, about a third of the run):

- ``apache_beam.transforms.core.get_function_args_defaults`` calls ``inspect.signature`` every
  time Beam inspects a DoFn method; ``userstate.get_dofn_specs`` asks for every method of every
  DoFn, bundle after bundle (135,000 calls in one run). A function's parameters do not change once
  it is defined, so the answer is kept per function (per underlying function for bound methods,
  whose first parameter is dropped), and each caller gets its own lists.
- Beam's dill pickler resets dill's trace logging after every pickle and unpickle
  (``dill.dill._trace(False)``, i.e. ``logger.setLevel(WARN)``), and ``Logger.setLevel`` clears
  the cache of every logger in the process even when the level is unchanged (7,600 times in one
  run). The level is set only when it changes.

``apply()`` is idempotent and reversible (``restore()``); the local runner and the local execution
of compiled tasks call it before any pipeline runs, never at import. Measured in
bench/results/overhead.md.
"""
from __future__ import annotations

import functools
import logging
import types
import weakref

_originals: dict = {}


def _memoized_args_defaults(original):
    plain: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
    bound: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @functools.wraps(original)
    def get_function_args_defaults(f):
        if isinstance(f, types.FunctionType):
            cache, key = plain, f
        elif isinstance(f, types.MethodType) and isinstance(f.__func__, types.FunctionType):
            cache, key = bound, f.__func__
        else:  # builtins, partials, callable objects: asked rarely, answered as Beam does
            return original(f)
        found = cache.get(key)
        if found is None:
            found = cache[key] = original(f)
        args, defaults = found
        return list(args), list(defaults)

    return get_function_args_defaults


def _trace_setting_level_on_change(logger: logging.Logger):
    def _trace(boolean):
        level = logging.INFO if boolean else logging.WARN
        if logger.level != level:
            logger.setLevel(level)

    return _trace


def apply() -> None:
    """Install both changes in this process (a second call does nothing)."""
    if _originals:
        return
    from apache_beam.internal import dill_pickler  # noqa: F401  (Beam's alias dill.dill = dill._dill, set on import)
    from apache_beam.transforms import core
    from dill import _dill

    _originals["args_defaults"] = core.get_function_args_defaults
    _originals["trace"] = _dill._trace
    core.get_function_args_defaults = _memoized_args_defaults(core.get_function_args_defaults)
    _dill._trace = _trace_setting_level_on_change(_dill.log)


def restore() -> None:
    """Beam and dill as they were."""
    if not _originals:
        return
    from apache_beam.transforms import core
    from dill import _dill

    core.get_function_args_defaults = _originals.pop("args_defaults")
    _dill._trace = _originals.pop("trace")
