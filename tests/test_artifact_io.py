"""Code that runs inside a component opens artifacts the way the cloud can: through TensorFlow's
or TFX's file functions, or Beam's file systems. On Vertex AI and Kubeflow every artifact URI
is gs://, which Python's ``open``, ``os.path``, ``os.makedirs``, ``shutil`` and ``pathlib``
cannot open (``os.path.exists`` just answers False). This check reads the source of every
package whose code runs in a component and names each such call; one that really works on a
local file (a temporary folder, /proc, a path without a scheme) says so in a ``# local:``
comment on its line, which is what lets it pass."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("components", "trainers", "transforms", "tfxp_reports")  # run inside components
MARK = "# local:"
# os.path functions that only transform strings; every other one looks at a file system.
PURE_PATH_FUNCTIONS = {"join", "basename", "dirname", "split", "splitext", "normpath", "isabs", "commonprefix", "sep",
                       "relpath", "abspath"}
OS_FILE_FUNCTIONS = {"makedirs", "mkdir", "listdir", "remove", "unlink", "rename", "replace", "rmdir", "removedirs",
                     "stat", "walk", "scandir", "chmod", "utime", "open"}
OPENERS = {"io", "gzip", "bz2", "lzma", "tarfile", "zipfile"}  # X.open(path) opens a local file by name


def local_file_calls(source: str) -> list[tuple[int, str]]:
    """(line, what) for each call of Python's own file functions in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(n == "pathlib" or n.startswith("pathlib.") for n in names) or \
                    any(n == "shutil" for n in names):
                found.append((node.lineno, f"import of {', '.join(names)}"))
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            found.append((node.lineno, "open()"))
        elif isinstance(func, ast.Attribute):
            owner = func.value
            if isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and \
                    (owner.value.id, owner.attr) == ("os", "path") and func.attr not in PURE_PATH_FUNCTIONS:
                found.append((node.lineno, f"os.path.{func.attr}()"))
            elif isinstance(owner, ast.Name) and owner.id == "os" and func.attr in OS_FILE_FUNCTIONS:
                found.append((node.lineno, f"os.{func.attr}()"))
            elif isinstance(owner, ast.Name) and owner.id == "shutil":
                found.append((node.lineno, f"shutil.{func.attr}()"))
            elif isinstance(owner, ast.Name) and owner.id in OPENERS and func.attr in ("open", "ZipFile"):
                found.append((node.lineno, f"{owner.id}.{func.attr}()"))
    return found


def unmarked(source: str) -> list[tuple[int, str]]:
    lines = source.splitlines()
    return sorted((line, what) for line, what in local_file_calls(source) if MARK not in lines[line - 1])


def test_code_run_in_components_opens_artifacts_as_the_cloud_can():
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, what in unmarked(path.read_text()):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not problems, ("Python's own file functions on what may be an artifact URI (gs:// in the cloud); use "
                          "tf.io.gfile / tfx.dsl.io.fileio / Beam's FileSystems, or say why the path is local with "
                          f"'{MARK} ...' on the line:\n" + "\n".join(problems))


@pytest.mark.parametrize("code, found", [
    ("with open(os.path.join(uri, 'x')) as f: pass", [(1, "open()")]),
    ("if os.path.exists(p): pass", [(1, "os.path.exists()")]),
    ("os.makedirs(d, exist_ok=True)", [(1, "os.makedirs()")]),
    ("import shutil\nshutil.rmtree(d)", [(1, "import of shutil"), (2, "shutil.rmtree()")]),
    ("from pathlib import Path", [(1, "import of pathlib")]),
    ("gzip.open(p)", [(1, "gzip.open()")]),
    ("os.path.join(a, b); os.path.basename(a); fileio.open(p); tf.io.gfile.exists(p)", []),
    ("open(p)  # local: /proc/cpuinfo", []),
])
def test_the_check_finds_each_kind_of_call(code, found):
    assert unmarked(code) == found
