"""Beam's per-DoFn costs trimmed (infra.beam_fixed_cost): same answers, same pipeline results."""
from __future__ import annotations

import functools
import logging

import apache_beam as beam
import pytest
from apache_beam.internal import pickler
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import core, userstate
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from infra import beam_fixed_cost


@pytest.fixture
def trimmed():
    beam_fixed_cost.apply()  # applied for every test (conftest): each test here leaves it so
    yield
    beam_fixed_cost.apply()


class _Counting(beam.DoFn):
    COUNT = ReadModifyWriteStateSpec("count", beam.coders.VarIntCoder())

    def process(self, element, count=beam.DoFn.StateParam(COUNT), window=beam.DoFn.WindowParam):  # noqa: B008 (Beam's way)
        seen = (count.read() or 0) + 1
        count.write(seen)
        yield element[0], seen


def _plain(a, b=2, *rest, c=3, **kw):
    return a


CALLABLES = [_plain, _Counting().process, _Counting.process, functools.partial(_plain, 1), len, str.strip]


def test_same_arguments_and_defaults_as_beam_and_fresh_lists(trimmed):
    beam_fixed_cost.restore()
    expected = [core.get_function_args_defaults(f) for f in CALLABLES]
    beam_fixed_cost.apply()
    for f, want in zip(CALLABLES, expected):
        for _ in range(2):  # the second answer comes from the cache
            args, defaults = core.get_function_args_defaults(f)
            assert (args, defaults) == want
            args.append("changed by a caller")
            defaults.clear()
    # a bound method and its function differ by `self`, cached apart
    assert core.get_function_args_defaults(_Counting().process)[0] == ["element", "count", "window"]
    assert core.get_function_args_defaults(_Counting.process)[0] == ["self", "element", "count", "window"]


def test_state_specs_found_and_a_stateful_pipeline_gives_the_same_result(trimmed):
    assert userstate.get_dofn_specs(_Counting()) == ({_Counting.COUNT}, set())
    with beam.Pipeline(runner="DirectRunner") as p:
        counted = (p | beam.Create([("a", 1), ("b", 1), ("a", 2), ("a", 3)]) | beam.ParDo(_Counting()))
        assert_that(counted | beam.combiners.Count.PerKey(), equal_to([("a", 3), ("b", 1)]))


def test_pickling_keeps_loggers_caches_and_still_traces_failures(trimmed):
    probe = logging.getLogger("tfxp.test.cache-probe")
    probe.isEnabledFor(logging.INFO)  # fills the logger's level cache
    for _ in range(5):
        assert pickler.loads(pickler.dumps(_Counting())).COUNT.name == "count"
    assert logging.INFO in probe._cache, "a pickle cleared every logger's cache"

    beam_fixed_cost.restore()  # Beam as shipped clears it on every pickle: the cost removed
    pickler.loads(pickler.dumps(_Counting()))
    assert logging.INFO not in probe._cache
    beam_fixed_cost.apply()

    with pytest.raises(TypeError, match="generator"):
        pickler.dumps(x for x in "ab")  # refused by Beam, retried with dill's trace on, then raised
    assert logging.getLogger("dill").level == logging.WARN  # the trace is off again


class _OwnMethod(beam.DoFn):
    """A DoFn that takes its process method from another object: answers per instance."""

    def __init__(self, source):
        super().__init__()
        self.process = source.process


class _MethodProperty(beam.DoFn):
    def __init__(self, source):
        super().__init__()
        self._source = source

    @property
    def process(self):
        return self._source.process


def _dofns():
    return [_Counting(), beam.Map(lambda x: x).fn, beam.Map(_Counting().process).fn, beam.Map(len).fn,
            _OwnMethod(_Counting()), _OwnMethod(beam.Map(str).fn), _MethodProperty(_Counting()),
            _MethodProperty(beam.Map(str).fn)]


def test_state_and_timer_specs_same_as_beam_for_every_kind_of_dofn(trimmed):
    beam_fixed_cost.restore()
    expected = [userstate.get_dofn_specs(d) for d in _dofns()]
    beam_fixed_cost.apply()
    for _ in range(2):  # the second time from the cache where the class decides
        answers = [userstate.get_dofn_specs(d) for d in _dofns()]
        assert answers == expected
        for states, timers in answers:  # each caller its own sets
            timers.add("changed by a caller")
            states.add("changed by a caller")
    assert expected[0] == ({_Counting.COUNT}, set()) and expected[4] == ({_Counting.COUNT}, set())
    assert expected[6] == ({_Counting.COUNT}, set()) and expected[1] == (set(), set())


def test_state_cache_weights_plain_data_as_beam_does(trimmed):
    from apache_beam.runners.worker import statecache
    values = [list(range(1000)), {"a": b"x" * 5000, "b": [1.5] * 100}, ("text", 3, None), _Counting()]
    beam_fixed_cost.restore()
    expected = [statecache.get_deep_size(v) for v in values]
    beam_fixed_cost.apply()
    assert [statecache.get_deep_size(v) for v in values] == expected


def test_zlib_pickles_within_the_context_and_both_formats_read(trimmed):
    import base64
    import zlib

    outside = pickler.dumps(_Counting())
    with beam_fixed_cost.zlib_pickles():
        inside = pickler.dumps(_Counting())
        with beam.Pipeline(runner="DirectRunner") as p:  # in memory: its pickles made and read here
            counted = (p | beam.Create([("a", 1), ("a", 2)]) | beam.ParDo(_Counting()))
            assert_that(counted, equal_to([("a", 1), ("a", 2)]))
    assert base64.b64decode(outside)[:3] == b"BZh"
    assert zlib.decompress(base64.b64decode(inside))  # Beam's own zlib format
    assert base64.b64decode(pickler.dumps(_Counting()))[:3] == b"BZh"  # bz2 again after the context
    for encoded in (outside, inside):
        assert pickler.loads(encoded).COUNT.name == "count"

    beam_fixed_cost.restore()
    with pytest.raises(RuntimeError, match="apply"):
        with beam_fixed_cost.zlib_pickles():
            pass
    with pytest.raises(OSError):  # Beam as shipped reads only bz2: why the context is for one process
        pickler.loads(inside)
    beam_fixed_cost.apply()
