"""Free space where the service writes on this machine: the SQLite database and the spool.

A disk that fills while nobody writes (at night, no messages) shows nowhere until the next
message cannot be recorded; /readyz asks this watch, so monitoring sees it first.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

MIB = 1 << 20


def _free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


class DiskSpaceWatch:
    """`paths`: files the service writes (they need not exist yet). Below `min_free_mib` MiB
    free on the disk of any of them, `shortage` says so; 0 turns the check off."""

    def __init__(
        self,
        paths: Sequence[Path],
        min_free_mib: int,
        free_bytes: Callable[[Path], int] = _free_bytes,
    ):
        self._folders = list(dict.fromkeys(_existing_folder(path) for path in paths))
        self._min_free = min_free_mib * MIB
        self._free_bytes = free_bytes

    def shortage(self) -> tuple[str, Path] | None:
        """What is short, in words an operator can act on, and the folder it is short in
        (kept apart: the words go on /readyz, which may be public; the folder to the log);
        None when there is room."""
        if not self._min_free:
            return None
        for folder in self._folders:
            try:
                free = self._free_bytes(folder)
            except OSError as err:  # the folder went away, or a mount failed
                why = type(err).__name__
                return f"the free space where the service writes cannot be read ({why})", folder
            if free < self._min_free:
                words = (
                    f"{free // MIB} MiB free where the service writes, below "
                    f"storage.min_free_mib ({self._min_free // MIB}); free space there before "
                    "messages can no longer be recorded"
                )
                return words, folder
        return None


def _existing_folder(path: Path) -> Path:
    """The file's folder, or its nearest existing ancestor: before the first start, data/
    may not exist yet, and the disk it will be on is its parent's."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
