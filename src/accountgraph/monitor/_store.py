"""The state directory on disk: Parquet files, a JSON manifest as the commit point, a lock.

Layout::

    state_dir/
      MANIFEST.json                 the committed state: format version, parameters, counters,
                                    applied batch hashes, and the list of data files in use
      LOCK                          held (flock) by the process updating the state
      <table>.<seq>.parquet         data files; a name is never reused, a file never rewritten

An update writes every new data file under a fresh name (temporary name,
``fsync``, ``rename``), then writes ``MANIFEST.json.tmp``, ``fsync``s it and
renames it over ``MANIFEST.json`` (the atomic commit point), then ``fsync``s
the directory. A process killed at any moment leaves either the old manifest,
naming only old files that are all still there, or the new one, naming files
that are all complete. Files named by no manifest (left by a killed update, or
superseded) are deleted after the next commit. Nothing is pickled: every table
is Parquet and the manifest is JSON.

For tests, ``ACCOUNTGRAPH_MONITOR_TEST_KILL_AT=<point>`` makes the process kill
itself with SIGKILL at a named point of the commit (:data:`KILL_POINTS`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .._exceptions import StateError
from .._version import __version__

__all__ = ["FORMAT", "FORMAT_VERSION", "KILL_ENV", "KILL_POINTS", "StateDir"]

logger = logging.getLogger(__name__)

FORMAT = "accountgraph-monitor-state"
#: Version of the layout written by this code. Version history: 1 (first).
FORMAT_VERSION = 1
#: Oldest layout this code reads (older ones are refused with a message).
MIN_READ_VERSION = 1
MANIFEST = "MANIFEST.json"
KILL_ENV = "ACCOUNTGRAPH_MONITOR_TEST_KILL_AT"
#: Where the test hook can kill an update: after the first data file, after all
#: data files, after the temporary manifest, after the rename (before clean-up).
KILL_POINTS = ("first_file", "data_written", "manifest_written", "committed")
_DATA_FILE = re.compile(r"[a-z_]+(-delta)?\.\d{8}\.parquet")


def _maybe_kill(point: str) -> None:
    if os.environ.get(KILL_ENV) == point:
        logger.warning("test hook %s=%s: killing this process", KILL_ENV, point)
        os.kill(os.getpid(), signal.SIGKILL)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StateDir:
    """Reads and atomically writes one monitor state directory.

    Parameters
    ----------
    path : str or PathLike
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._written: list[str] = []

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def exists(self) -> bool:
        """Whether a committed state is there."""
        return self.manifest_path.is_file()

    def read_manifest(self) -> dict[str, Any]:
        """The committed manifest, checked for format and version.

        Raises
        ------
        StateError
            No state, an unreadable manifest, another format, or a version this code cannot read.
        """
        if not self.exists():
            raise StateError(
                f"{str(self.path)!r} holds no monitor state (no {MANIFEST}); create one with "
                "Monitor(state_dir, ...) and feed it a batch, or check the path.")
        try:
            m = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as err:
            raise StateError(f"The monitor manifest {str(self.manifest_path)!r} cannot be read ({err}); the "
                             "state is damaged. Restore the directory from a backup or feed the batches again "
                             "into a new state.") from err
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            raise StateError(f"{str(self.manifest_path)!r} is not an accountgraph monitor manifest (format "
                             f"{m.get('format') if isinstance(m, dict) else None!r}, expected {FORMAT!r}).")
        v = m.get("format_version")
        if not isinstance(v, int) or v > FORMAT_VERSION:
            raise StateError(
                f"The monitor state in {str(self.path)!r} has format version {v!r}, written by accountgraph "
                f"{m.get('library_version', '?')}; this accountgraph ({__version__}) reads versions "
                f"{MIN_READ_VERSION} to {FORMAT_VERSION}. Upgrade accountgraph to read it.")
        if v < MIN_READ_VERSION:
            raise StateError(
                f"The monitor state in {str(self.path)!r} has format version {v}, written by accountgraph "
                f"{m.get('library_version', '?')}; versions before {MIN_READ_VERSION} cannot be migrated. Create "
                "a new state and feed it the batches again (or use the accountgraph version that wrote it).")
        return m

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory's update lock (one writer at a time)."""
        import fcntl

        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                raise StateError(f"The monitor state {str(self.path)!r} is being updated by another process "
                                 "(its LOCK is held); wait for it to finish.") from err
            yield
        finally:
            os.close(fd)

    def write_table(self, name: str, seq: int, table: pa.Table) -> str:
        """Write ``table`` as ``<name>.<seq>.parquet`` durably; return the file name."""
        fname = f"{name}.{seq:08d}.parquet"
        final = self.path / fname
        tmp = self.path / f".{fname}.tmp"
        with open(tmp, "wb") as f:
            pq.write_table(table, f, compression="zstd")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        self._written.append(fname)
        if len(self._written) == 1:
            _maybe_kill("first_file")
        return fname

    def read_table(self, fname: str) -> pa.Table:
        """Read one data file named by the manifest."""
        p = self.path / fname
        if not p.is_file():
            raise StateError(f"The monitor state {str(self.path)!r} is damaged: its manifest names {fname!r}, "
                             "which is missing. Restore the directory from a backup.")
        return pq.read_table(p)

    def commit(self, manifest: dict[str, Any]) -> None:
        """Make ``manifest`` (naming only complete files) the committed state, then delete unnamed files."""
        _maybe_kill("data_written")
        full = {"format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__, **manifest}
        tmp = self.path / (MANIFEST + ".tmp")
        with open(tmp, "w") as f:
            json.dump(full, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        _maybe_kill("manifest_written")
        os.replace(tmp, self.manifest_path)
        _fsync_dir(self.path)
        _maybe_kill("committed")
        self._written.clear()
        self.collect_garbage(referenced_files(full))

    def collect_garbage(self, keep: set[str]) -> int:
        """Delete the monitor's data files (and temporaries) the committed manifest does not name.

        Only names this module writes (``<table>.<8 digits>.parquet``, ``.<that>.tmp``,
        ``MANIFEST.json.tmp``) are touched; anything else in the directory is left alone.
        """
        n = 0
        for p in self.path.iterdir():
            name = p.name
            ours = _DATA_FILE.fullmatch(name) is not None
            stale_tmp = name == MANIFEST + ".tmp" or (name.startswith(".") and name.endswith(".tmp")
                                                      and _DATA_FILE.fullmatch(name[1:-4]) is not None)
            if (ours and name not in keep) or stale_tmp:
                p.unlink(missing_ok=True)
                n += 1
        return n


def referenced_files(manifest: dict[str, Any]) -> set[str]:
    """Every data file a manifest names (values of ``files``, nested lists and dicts)."""
    out: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, str) and v.endswith(".parquet"):
            out.add(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(manifest.get("files", {}))
    return out
