"""A configuration file that holds secrets, and the SQLite event store, should be readable by
their owner only.

Checked at start-up on POSIX systems, where a world-readable file hands the corp secret and
the callback keys (or every message, each response_url and the live access token) to every
local user. A warning, not an error: the operator may have reasons (a container with one
user), and refusing to start would turn a hygiene issue into an outage.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def exposed_secrets_warnings(path: Path, holds_a_secret: bool) -> list[str]:
    if os.name != "posix" or not holds_a_secret:
        return []
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return []
    if not mode & stat.S_IROTH:
        return []
    return [
        f"{path}: every user of this machine can read it (mode {mode:o}) and it holds secrets; "
        f"run 'chmod 600 {path}', or move the secrets to environment variables"
    ]


def readable_database_warnings(database: Path) -> list[str]:
    """`database` is a SQLite file; its -wal and -shm files hold recent writes too."""
    if os.name != "posix":
        return []
    readable = []
    for path in (database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            readable.append(f"{path.name} mode {mode:o}")
    if not readable:
        return []
    return [
        f"{database}: users other than its owner can read the event store "
        f"({', '.join(readable)}), which holds every message, each response_url and the live "
        f"access token; run 'chmod 600 {database}*' and 'chmod 700 {database.parent}'"
    ]
