"""``file://`` URIs as this machine's object store, for executing compiled pipelines strictly.

On Vertex AI and Kubeflow Pipelines every artifact URI is a ``gs://`` URI. TensorFlow's file
functions, TFX's ``fileio`` and Beam's ``FileSystems`` open it; Python's ``open``, ``os.path``,
``os.makedirs``, ``shutil`` and ``pathlib`` do not, so code that uses them on an artifact works
in a local run and fails, or silently finds nothing, in the cloud.

``tfxp run-compiled`` therefore hands every task ``file:///...`` URIs: TensorFlow's file
system takes that scheme natively (its POSIX file system is registered for ``file``), and
``register`` below teaches TFX's ``fileio`` and Beam the same in a task's process. Python's
own file functions treat ``file:///a/b`` as the relative path ``file:/a/b``; every task runs
in a folder holding a plain file named ``file:`` (``TRAP_NAME``), so such a call fails
(``NotADirectoryError``) instead of creating a stray folder. Why not a GCS emulator: TensorFlow's
built-in GCS file system cannot be pointed at one, and its modular replacement
(``TF_USE_MODULAR_FILESYSTEM`` with tensorflow-io-gcs-filesystem) crashed on the first write
against ``gcp-storage-emulator`` when tried.
"""
from __future__ import annotations

import os
import shutil

SCHEME = "file://"
TRAP_NAME = "file:"


def is_file_uri(path: str) -> bool:
    return isinstance(path, str) and path.startswith(SCHEME)


def to_path(uri: str) -> str:
    """The local path behind a file:// URI (other paths unchanged)."""
    return uri[len(SCHEME):] if is_file_uri(uri) else uri


def to_uri(path: str) -> str:
    """A local absolute path as a file:// URI."""
    return path if is_file_uri(path) else SCHEME + os.path.abspath(path)


def make_trap(folder: str) -> str:
    """``folder`` with a plain file named ``file:`` in it, to run a task in."""
    os.makedirs(folder, exist_ok=True)
    trap = os.path.join(folder, TRAP_NAME)
    if not os.path.isfile(trap):
        with open(trap, "w") as f:
            f.write("file:// URIs are not local paths: open them with TensorFlow's, TFX's or Beam's file functions\n")
    return folder


_registered = False


def register() -> None:
    """Makes TFX's ``fileio`` and Beam's ``FileSystems`` accept file:// URIs in this process."""
    global _registered
    if _registered:
        return
    from tfx.dsl.io import filesystem_registry
    from tfx.dsl.io.plugins.tensorflow_gfile import TensorflowFilesystem

    class FileUriTensorflowFilesystem(TensorflowFilesystem):
        SUPPORTED_SCHEMES = [SCHEME]

    filesystem_registry.DEFAULT_FILESYSTEM_REGISTRY.register(FileUriTensorflowFilesystem, priority=0)
    _beam_file_system()  # defining the subclass is what registers it with Beam
    _registered = True


def _beam_file_system():
    from apache_beam.io.filesystem import BeamIOError, FileMetadata
    from apache_beam.io.localfilesystem import LocalFileSystem

    def with_scheme(metadata: FileMetadata) -> FileMetadata:
        return FileMetadata(to_uri(metadata.path), metadata.size_in_bytes, metadata.last_updated_in_seconds)

    class FileUriFileSystem(LocalFileSystem):
        """Beam's local file system under the ``file`` scheme: paths in, URIs out."""

        @classmethod
        def scheme(cls):
            return "file"

        def join(self, basepath, *paths):
            joined = os.path.join(to_path(basepath), *paths)
            return to_uri(joined) if is_file_uri(basepath) else joined  # Beam's own listing joins plain paths

        def split(self, path):
            head, tail = super().split(to_path(path))
            return to_uri(head), tail

        def mkdirs(self, path):
            super().mkdirs(to_path(path))

        def _url_dirname(self, url_or_path):
            return to_uri(os.path.dirname(to_path(url_or_path)))

        def _list(self, dir_or_prefix):
            for metadata in super()._list(to_path(dir_or_prefix)):
                yield with_scheme(metadata)

        def create(self, path, *args, **kwargs):
            return super().create(to_path(path), *args, **kwargs)

        def open(self, path, *args, **kwargs):
            return super().open(to_path(path), *args, **kwargs)

        def copy(self, source_file_names, destination_file_names):
            super().copy([to_path(p) for p in source_file_names], [to_path(p) for p in destination_file_names])

        def rename(self, source_file_names, destination_file_names):
            super().rename([to_path(p) for p in source_file_names], [to_path(p) for p in destination_file_names])

        def exists(self, path):
            return super().exists(to_path(path))

        def size(self, path):
            return super().size(to_path(path))

        def last_updated(self, path):
            return super().last_updated(to_path(path))

        def checksum(self, path):
            return super().checksum(to_path(path))

        def metadata(self, path):
            return with_scheme(super().metadata(to_path(path)))

        def delete(self, paths):
            # As Beam's own: every match of each path, folders recursively; each match is a URI here.
            errors = {}
            for result in self.match(paths):
                if not result.metadata_list:
                    errors[result.pattern] = IOError(f"No files found to delete under: {result.pattern}")
                for metadata in result.metadata_list:
                    local = to_path(metadata.path)
                    try:
                        shutil.rmtree(local) if os.path.isdir(local) else os.remove(local)
                    except OSError as err:
                        errors[metadata.path] = err
            if errors:
                raise BeamIOError("Delete operation failed", errors)

    return FileUriFileSystem
