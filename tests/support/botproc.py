"""The real bot (`python -m bot telegram`) as a subprocess, pointed at a Bot API double."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.tgdouble import TelegramDouble

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(self, tg: TelegramDouble, workdir: Path, **settings: str) -> None:
        self.tg = tg
        self.workdir = workdir
        self.log = workdir / "bot.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
        env.update(tg.env())
        env.update(
            {
                "HEARTBEAT_FILE": str(workdir / "heartbeat"),
                "INDEX_DIR": str(workdir / "index"),
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(settings)
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> BotProcess:
        self._log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *(args or ("telegram",))],
            cwd=self.workdir, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return self

    def wait_ready(self, timeout: float = 20) -> None:
        """Ready once it has cleared the webhook to poll (a long poll is recorded only when it ends)
        or has set its webhook."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(c.method in ("deleteWebhook", "setWebhook") for c in self.tg.calls()):
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"bot exited with {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.05)
        raise TimeoutError(f"bot not ready:\n{self.output()}")

    def send(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> BotProcess:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
