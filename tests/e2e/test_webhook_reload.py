"""Webhook mode (secret checked, /healthz) and knowledge reload on SIGHUP, against the real bot."""

from __future__ import annotations

import shutil
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import bundled_knowledge
from tests.support.botproc import BotProcess
from tests.support.tgdouble import TelegramDouble
from tests.support.wait import still, wait_until

USER = 5151


@pytest.fixture
def tg() -> Iterator[TelegramDouble]:
    with TelegramDouble() as double:
        yield double


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_webhook_accepts_the_right_secret_only(tg: TelegramDouble, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    settings = {"WEBHOOK_URL": url, "WEBHOOK_LISTEN": "127.0.0.1", "WEBHOOK_PORT": str(port), "WEBHOOK_SECRET": "s3cret-value"}
    with BotProcess(tg, tmp_path, **settings) as proc:
        hook = tg.wait_for("setWebhook")
        assert hook.params["url"] == url and hook.params["secret_token"] == "s3cret-value"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as health:
            assert health.status == 200
        sent_before = len(tg.calls("sendMessage"))
        forged = {  # built by hand: queued updates are pushed by the double itself, with the secret
            "update_id": 999001,
            "message": {"message_id": 1, "date": int(time.time()), "text": "When was the CSTO created?",
                        "chat": {"id": USER, "type": "private"}, "from": {"id": USER, "is_bot": False, "first_name": "X"}},
        }  # fmt: skip
        assert tg.deliver_webhook(url, forged, secret_token="wrong") == 403
        assert tg.deliver_webhook(url, forged, secret_token=None) == 403
        still(lambda: len(tg.calls("sendMessage")) == sent_before, 0.3)  # refused requests change nothing
        good = tg.private_text(USER + 1, "When was the CSTO created?")
        assert tg.deliver_webhook(url, good, secret_token="s3cret-value") == 200
        msg = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER + 1)
        assert "2002" in msg.params["text"]
    assert "s3cret-value" not in proc.output() and tg.token not in proc.output()


def _write_doc(directory: Path, sentence: str) -> None:
    (directory / "extra.md").write_text(
        "---\nid: extra-notes\ntitle: Extra notes\nauthors: []\nlanguage: en\ncitation: Extra notes (test)\n---\n"
        f"## Note\n{sentence}\n",
        encoding="utf-8",
    )


def test_sighup_reloads_knowledge_and_refuses_an_invalid_change(tg: TelegramDouble, tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(bundled_knowledge(), knowledge, ignore=shutil.ignore_patterns(".index"))
    workdir = tmp_path / "run"
    workdir.mkdir()
    with BotProcess(tg, workdir, KNOWLEDGE_DIR=str(knowledge)) as proc:
        tg.private_text(USER, "What is the zebrafish treaty?")
        first = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER)
        assert "do not cover" in first.params["text"]

        _write_doc(knowledge, "The zebrafish treaty was signed by nobody in 1999.")
        proc.send(signal.SIGHUP)
        wait_until(lambda: "knowledge reloaded" in proc.output(), timeout=20)
        mark = tg.mark()
        tg.private_text(USER, "What is the zebrafish treaty?")
        second = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER, after=mark)
        assert "was signed by nobody in 1999" in second.params["text"]

        (knowledge / "broken.md").write_text("---\nid: Broken Id\n---\n", encoding="utf-8")
        proc.send(signal.SIGHUP)
        wait_until(lambda: "reload refused" in proc.output(), timeout=20)
        assert "broken.md:1: missing required field" in proc.output()
        mark = tg.mark()
        tg.private_text(USER, "What is the zebrafish treaty?")
        third = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER, after=mark)
        assert "was signed by nobody in 1999" in third.params["text"]  # the old knowledge keeps answering


def test_reload_command_is_for_admins_only(tg: TelegramDouble, tmp_path: Path) -> None:
    with BotProcess(tg, tmp_path, ADMIN_IDS=f"{USER}"):
        tg.command(USER + 9, "/reload")
        assert "Only administrators" in tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER + 9).params["text"]
        tg.command(USER, "/reload")
        assert "Knowledge reloaded" in tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER).params["text"]


def test_allowlist_refuses_others_politely(tg: TelegramDouble, tmp_path: Path) -> None:
    with BotProcess(tg, tmp_path, ALLOWED_IDS=f"{USER}"):
        tg.private_text(USER + 1, "When was the CSTO created?")
        assert "private" in tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER + 1).params["text"]
        tg.inline_query(USER + 1, "CSTO members")
        assert tg.wait_for("answerInlineQuery").params["results"] == []
        tg.callback(USER + 1, USER + 1, 1, "m:whatever")
        assert "private" in tg.wait_for("answerCallbackQuery").params["text"]
        tg.private_text(USER, "When was the CSTO created?")
        assert "2002" in tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER).params["text"]


@pytest.mark.parametrize(
    ("token", "message"),
    [("", "TELEGRAM_BOT_TOKEN is not set"), ("12345", "TELEGRAM_BOT_TOKEN is malformed")],
)
def test_bad_token_is_a_one_line_error(token: str, message: str, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    result = run_cli("telegram", env={"TELEGRAM_BOT_TOKEN": token})
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1


def test_health_follows_the_heartbeat(tg: TelegramDouble, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    env = {"HEARTBEAT_FILE": str(tmp_path / "heartbeat")}
    assert run_cli("health", env=env).returncode == 1  # no bot yet
    with BotProcess(tg, tmp_path):
        wait_until(lambda: run_cli("health", env=env).returncode == 0)
