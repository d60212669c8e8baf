"""Per-call costs of Apache Beam 2.60 that dominate small local runs, removed without changing
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
- ``userstate.get_dofn_specs`` lists every attribute of a DoFn and inspects each method for state
  and timer parameters, each time a ParDo is built or a bundle processor made (4,300 calls, 0.6 s
  in one mammographic run). Where no attribute of the instance's own and none of its properties
  is a method (and no ``__getattr__`` makes them up), the methods found are the class's, less
  those the instance hides: the answer is kept per class and hidden names.
- The in-process worker's state cache weighs each cached side input with ``objsize``, which first
  collects the ids of every loaded module's globals (8,000 modules here: 4 ms a call, 0.4 s a
  run). The weight is only the cache's eviction budget; Beam's own filter already stops at
  modules, classes and functions, so it is taken without that collection.
- Beam compresses every pickle with bz2 at level 9 (3,200 pickles, 0.45 s of compressing and
  0.2 s of decompressing in one run); its other format, zlib, is ten times faster at the same
  size. ``apply()`` teaches ``pickler.loads`` to read both (a bz2 stream begins with "BZh"), and
  within ``zlib_pickles()`` new pickles are zlib's. Only where every reader is this process: a
  DirectRunner in memory (worker processes and cloud workers run Beam as shipped, which reads
  only bz2).

``apply()`` is idempotent and reversible (``restore()``); the local runner and the local execution
of compiled tasks call it before any pipeline runs, never at import. Measured in
bench/results/overhead.md.
"""
from __future__ import annotations

import base64
import contextlib
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


_PLAIN_ATTRIBUTES = (types.FunctionType, staticmethod, classmethod, types.WrapperDescriptorType,
                     types.MethodDescriptorType, types.BuiltinFunctionType, types.GetSetDescriptorType,
                     types.ClassMethodDescriptorType)


def _class_attributes(cls):
    """The class's attribute names and, of those, the ones computed per instance (properties and
    other descriptors); None if ``__getattr__`` makes up attributes."""
    import inspect
    names = frozenset(dir(cls))
    if "__getattr__" in names or cls.__getattribute__ is not object.__getattribute__:
        return None
    computed = tuple(n for n in names if not isinstance(found := inspect.getattr_static(cls, n), _PLAIN_ATTRIBUTES)
                     and hasattr(type(found), "__get__"))
    return names, computed


def _specs_per_class(original):
    answers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # class -> {hidden names: specs}
    classes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # class -> _class_attributes

    @functools.wraps(original)
    def get_dofn_specs(dofn):
        cls = type(dofn)
        if cls not in classes:
            classes[cls] = _class_attributes(cls)
        attributes, own = classes[cls], getattr(dofn, "__dict__", None)
        if (attributes is None or own is None or any(isinstance(v, types.MethodType) for v in own.values())
                or any(isinstance(getattr(dofn, n, None), types.MethodType) for n in attributes[1])):
            return original(dofn)  # a method of the instance's own: asked anew
        # The instance's other attributes are not methods, so they count only by hiding the class's.
        hidden = frozenset(k for k in own if k in attributes[0])
        per_class = answers.setdefault(cls, {})
        found = per_class.get(hidden)
        if found is None:
            found = per_class[hidden] = original(dofn)
        states, timers = found
        return set(states), set(timers)

    return get_dofn_specs


def _weight_without_module_scan(objsize, statecache):
    def get_deep_size(*objs):
        return objsize.get_deep_size(*objs, get_size_func=statecache._size_func,
                                     get_referents_func=statecache._get_referents_func,
                                     filter_func=statecache._filter_func, exclude_modules_globals=False)

    return get_deep_size


def _reading_both_formats(original):
    @functools.wraps(original)
    def loads(encoded, enable_trace=True, use_zlib=False):
        if not use_zlib and base64.b64decode(encoded[:4])[:3] != b"BZh":
            use_zlib = True  # not bz2: a pickle made within zlib_pickles()
        return original(encoded, enable_trace=enable_trace, use_zlib=use_zlib)

    return loads


@contextlib.contextmanager
def zlib_pickles():
    """Within: Beam's new pickles are zlib-compressed. Only for pipelines whose workers all run in
    this process, after ``apply()``."""
    from apache_beam.internal import pickler
    if "loads" not in _originals:
        raise RuntimeError("beam_fixed_cost.apply() first: pickler.loads must read zlib pickles")
    original = pickler.dumps

    @functools.wraps(original)
    def dumps(o, enable_trace=True, use_zlib=False):
        return original(o, enable_trace=enable_trace, use_zlib=True)

    pickler.dumps = dumps
    try:
        yield
    finally:
        pickler.dumps = original


def apply() -> None:
    """Install the changes in this process (a second call does nothing)."""
    if _originals:
        return
    import objsize
    from apache_beam.internal import dill_pickler, pickler  # noqa: F401  (dill_pickler: Beam's alias dill.dill = dill._dill, set on import)
    from apache_beam.runners.worker import statecache
    from apache_beam.transforms import core, userstate
    from dill import _dill

    _originals["args_defaults"] = core.get_function_args_defaults
    _originals["trace"] = _dill._trace
    _originals["dofn_specs"] = userstate.get_dofn_specs
    _originals["deep_size"] = statecache.get_deep_size
    _originals["loads"] = pickler.loads
    core.get_function_args_defaults = _memoized_args_defaults(core.get_function_args_defaults)
    _dill._trace = _trace_setting_level_on_change(_dill.log)
    userstate.get_dofn_specs = _specs_per_class(userstate.get_dofn_specs)
    statecache.get_deep_size = _weight_without_module_scan(objsize, statecache)
    pickler.loads = _reading_both_formats(pickler.loads)


def restore() -> None:
    """Beam and dill as they were."""
    if not _originals:
        return
    from apache_beam.internal import pickler
    from apache_beam.runners.worker import statecache
    from apache_beam.transforms import core, userstate
    from dill import _dill

    pickler.loads = _originals.pop("loads")
    core.get_function_args_defaults = _originals.pop("args_defaults")
    _dill._trace = _originals.pop("trace")
    userstate.get_dofn_specs = _originals.pop("dofn_specs")
    statecache.get_deep_size = _originals.pop("deep_size")
