"""`python app.py` started the way a person starts the sandbox, in a folder of its own: the
URLs it prints, its log, the emulator's member API, and the operator API with its token."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.service_process import ROOT, wait_until

_ANNOUNCEMENT = re.compile(r"open (http://127\.0\.0\.1:\d+)/ to chat")
_OPERATOR = re.compile(r"operator's view: (http://127\.0\.0\.1:\d+)/admin/")


class SandboxProcess:
    """`args` are app.py's; `command` replaces `python app.py` (`make sandbox`, say)."""

    def __init__(self, workdir: Path, *args: str, command: list[str] | None = None):
        self.workdir = workdir
        self.command = command or [sys.executable, str(ROOT / "app.py"), *args]
        self.log_path = workdir / "sandbox.log"
        self.printed = ""
        self.page_url = self.service_url = ""
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        self._process = subprocess.Popen(
            self.command,
            cwd=self.workdir,
            stdout=subprocess.PIPE,
            stderr=self.log_path.open("ab"),
            # Any free ports: 5001/5002 may be a sandbox a person (or another test) runs.
            env={**os.environ, "PYTHONUNBUFFERED": "1", "WEWORKTOP_SANDBOX_PORTS": "0,0"},
            # A group of its own: a `make` in front of python would not pass SIGTERM on.
            start_new_session=True,
        )
        try:
            self.printed = self._read_until(_OPERATOR, timeout)
        except BaseException:
            self.stop()
            raise
        self.page_url = _ANNOUNCEMENT.search(self.printed).group(1)
        self.service_url = _OPERATOR.search(self.printed).group(1)

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C or a service manager would; returns the exit code."""
        if self._process is None:
            return 0
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            code = self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            code = self._process.wait()
        self._process.stdout.close()
        self._process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def admin_token(self) -> str:
        return (self.workdir / "data" / "sandbox-admin-token").read_text().strip()

    def send(self, member: str, conversation: str, text: str) -> dict:
        response = httpx.post(
            f"{self.page_url}/api/messages",
            json={"from": member, "conversation": conversation, "text": text},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def open(self, member: str, conversation: str) -> None:
        """The member opens the chat, as the page does when it is clicked."""
        response = httpx.post(
            f"{self.page_url}/api/open",
            json={"from": member, "conversation": conversation},
            timeout=5,
        )
        assert response.status_code == 200, response.text

    def bubbles(self, conversation: str) -> list[dict]:
        everything = httpx.get(f"{self.page_url}/api/updates?since=0", timeout=5).json()
        return [b for b in everything["bubbles"] if b["conversation"] == conversation]

    def bubble(self, bubble_id: int) -> dict:
        everything = httpx.get(f"{self.page_url}/api/updates?since=0", timeout=5).json()
        return next(b for b in everything["bubbles"] if b["id"] == bubble_id)

    def settled(self, bubble_id: int, timeout: float = 10.0) -> dict:
        """The member's bubble once the service has answered it, or said why not."""
        wait_until(
            lambda: self.bubble(bubble_id)["status"] in ("answered", "ignored", "failed"),
            timeout=timeout,
            what=f"message {bubble_id} to be settled",
        )
        return self.bubble(bubble_id)

    def replies(self, conversation: str) -> list[dict]:
        return [b for b in self.bubbles(conversation) if not b["sender"]]

    def _read_until(self, pattern: re.Pattern[str], timeout: float) -> str:
        printed = ""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while not pattern.search(printed):
                left = deadline - time.monotonic()
                if left <= 0 or self._process.poll() is not None:
                    raise AssertionError(
                        f"the sandbox did not print its URLs; it printed {printed!r}\n{self.log()}"
                    )
                if selector.select(timeout=min(left, 0.5)):
                    # Unbuffered: a buffered readline would hide the next line from select.
                    chunk = os.read(self._process.stdout.fileno(), 4096)
                    printed += chunk.decode("utf-8", "replace")
        return printed
