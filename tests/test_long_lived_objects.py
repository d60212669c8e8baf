"""What a run has imported is frozen once per process, and cycles made later are still collected."""
from __future__ import annotations

import subprocess
import sys

CHECK = """
import gc, weakref
from infra import long_lived_objects
import json  # an import: alive for good
assert gc.get_freeze_count() == 0
assert long_lived_objects.freeze_once() is True
frozen = gc.get_freeze_count()
assert frozen > 1000, frozen
assert long_lived_objects.freeze_once() is False  # once per process: later garbage is not frozen
assert gc.get_freeze_count() == frozen

class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after the freeze
gone = weakref.ref(a)
del a, b
gc.collect()
assert gone() is None, "a cycle made after the freeze was not collected"
print("ok")
"""


def test_frozen_once_and_later_cycles_still_collected():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
