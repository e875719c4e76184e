"""A configuration file that holds secrets should be readable by its owner only.

Checked at start-up on POSIX systems, where a world-readable file hands the corp secret and
the callback keys to every local user. A warning, not an error: the operator may have reasons
(a container with one user), and refusing to start would turn a hygiene issue into an outage.
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
