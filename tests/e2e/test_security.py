"""Security of the real bot: the token stays secret, webhooks need their secret, the allowlist holds,
buttons reach only their own chat's answer, and user text never becomes code, a command or a path."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bot.core.answer import Core
from bot.render import render_html_blocks, render_text
from bot.tg.html import parse_html, split_html
from bot.tg.polling import Journal
from tests.support.botproc import ROOT, BotProcess
from tests.support.tgdouble import TelegramDouble, checked_double
from tests.support.wait import still, wait_until

USER, STRANGER, GROUP, OTHER_GROUP = 6060, 6161, -1006060, -1006161
QUESTION = "When was the CSTO created?"
MARK = "ZQXJ"  # in every hostile input, to find it wherever it might end up
HOSTILE = [
    f"$(touch /tmp/{MARK}-pwned) When was the CSTO created?",
    f"`id`; rm -rf / {MARK}",
    f"../../../../etc/passwd {MARK}",
    f"/etc/{MARK}/../../passwd\x00.md",
    f"{{{{ cycler.__init__.__globals__.os.popen('id').read() }}}} {MARK}",
    f"{{% for c in ().__class__.__base__.__subclasses__() %}}{{{{ c }}}}{{% endfor %}} {MARK} CSTO",
    f"{{{{ 7*7 }}}} {MARK} sanctions",
    f'<a href="javascript:alert(1)">{MARK}</a></blockquote><b>CSTO',
    f"%(asctime)s %s %n {{0}} {MARK}",
    f"'; DROP TABLE answers; -- {MARK}",
    f"{MARK} " + "Kazakhstan sanctions " * 180,  # near the 4096-character limit
]


tg = pytest.fixture(checked_double)


def _to(chat: int):
    return lambda c: c.params.get("chat_id") == chat


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _secret_forms(secret: str) -> list[str]:
    return [secret, urllib.parse.quote(secret, safe=""), secret.split(":")[-1]]


# ------------------------------------------------------------------------------------------ the token


def test_token_never_in_logs_or_messages_during_failing_requests(tg: TelegramDouble, tmp_path: Path) -> None:
    """Everything the bot prints at DEBUG while its requests fail every way, and everything it sends."""
    with BotProcess(tg, tmp_path, LOG_LEVEL="DEBUG", RATE_LIMIT_PER_MINUTE="0") as proc:
        tg.fail_with_error("getUpdates", status=502)
        tg.private_text(USER, QUESTION)  # ends the poll in progress; the next one fails
        tg.wait_for("getUpdates", lambda c: c.status == 502, include_failed=True, timeout=15)
        tg.drop_connection("getUpdates")
        tg.private_text(USER + 1, QUESTION)
        for user in (USER, USER + 1):
            tg.wait_for("sendMessage", _to(user), timeout=20)
        tg.fail_with_error("sendMessage", status=502)  # retried, with a warning
        tg.private_text(USER + 2, QUESTION)
        tg.wait_for("sendMessage", _to(USER + 2), timeout=20)
        tg.drop_connection("sendMessage")  # ambiguous: not retried, logged with its traceback
        tg.private_text(USER + 3, QUESTION)
        tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER + 3 and "may have arrived" in c.params["text"])
        tg.fail_parse_entities("sendMessage")  # refused HTML: sent again as plain text
        tg.private_text(USER + 4, QUESTION)
        tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER + 4 and "parse_mode" not in c.params)
        tg.callback(USER, USER, 1, "m:forged")
        tg.wait_for("answerCallbackQuery")
        wait_until(lambda: "Traceback" in proc.output() and "DEBUG" in proc.output())
    output = proc.output()
    assert "Traceback" in output and "DEBUG" in output  # the failures were logged, in full
    sent = json.dumps([c.params for c in tg.calls()], ensure_ascii=False)
    for form in _secret_forms(tg.token):
        assert form not in output
        assert form not in sent  # nor in anything sent to a chat


def test_rejected_token_is_reported_without_the_token(tg: TelegramDouble, tmp_path: Path) -> None:
    token = "7000000099:AAHwrong-token-for-the-security-test-xyz"
    proc = BotProcess(tg, tmp_path, LOG_LEVEL="DEBUG", TELEGRAM_BOT_TOKEN=token).start()
    assert proc.proc is not None and proc.proc.wait(30) == 2
    proc.stop()
    output = proc.output()
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in output
    assert [v.description for v in tg.violations] == ["Unauthorized"]  # the double refused it, as Telegram would
    tg.violations.clear()
    for form in _secret_forms(token):
        assert form not in output


# ------------------------------------------------------------------------------------------ webhook


def _post(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> int:
    request = urllib.request.Request(url, data=body if method == "POST" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_webhook_without_the_right_secret_gets_403_and_changes_nothing(tg: TelegramDouble, tmp_path: Path) -> None:
    port, secret = _free_port(), "Webhook_Secret-0123456789"
    url = f"http://127.0.0.1:{port}/hook"
    settings = {"WEBHOOK_URL": url, "WEBHOOK_LISTEN": "127.0.0.1", "WEBHOOK_PORT": str(port), "WEBHOOK_SECRET": secret,
                "LOG_LEVEL": "DEBUG"}  # fmt: skip
    update = {"update_id": 424242, "message": {"message_id": 7, "date": int(time.time()), "text": QUESTION,
              "chat": {"id": USER, "type": "private"}, "from": {"id": USER, "is_bot": False, "first_name": "U"}}}  # fmt: skip
    body = json.dumps(update).encode()
    with BotProcess(tg, tmp_path, **settings) as proc:
        tg.wait_for("setWebhook")
        header = "X-Telegram-Bot-Api-Secret-Token"
        for headers in ({}, {header: ""}, {header: "wrong"}, {header: secret[:-1]}, {header: secret + "x"},
                        {header: secret.lower()}, {header: secret.upper()}, {"X-Other": secret}):  # fmt: skip
            assert _post(url, body, {"Content-Type": "application/json", **headers}) == 403, headers
        assert _post(f"{url}?secret_token={urllib.parse.quote(secret)}", body, {"Content-Type": "application/json"}) == 403
        still(lambda: tg.calls("sendMessage") == [] and tg.calls("sendChatAction") == [], 0.5)  # nothing was done
        assert 424242 not in Journal(tmp_path / "csto-bot.updates").ids  # nor recorded as handled
        assert _post(url, b"{not json", {header: secret}) == 400
        assert _post(url, b"", {header: secret}, method="GET") == 405
        # The same update with the secret is answered: the refusals had not marked it as handled.
        assert _post(url, body, {"Content-Type": "application/json", header: secret}) == 200
        assert "2002" in tg.wait_for("sendMessage", _to(USER)).params["text"]
    output = proc.output()
    assert output.count("without the right secret: refused") == 9
    assert secret not in output and tg.token not in output


# ------------------------------------------------------------------------------------------ allowlist and buttons


def test_allowlist_holds_for_messages_commands_callbacks_inline_and_groups(tg: TelegramDouble, tmp_path: Path) -> None:
    with BotProcess(tg, tmp_path, ALLOWED_IDS=f"{USER},{GROUP}", RATE_LIMIT_PER_MINUTE="0"):
        tg.private_text(USER, QUESTION)
        answer = tg.wait_for("sendMessage", _to(USER))
        data = [b["callback_data"] for row in answer.params["reply_markup"]["inline_keyboard"] for b in row]
        mark = tg.mark()
        tg.private_text(STRANGER, QUESTION)
        tg.command(STRANGER, "/start")
        tg.command(STRANGER, "/sources")
        for item in data:  # the allowed user's real buttons, pressed by a stranger
            tg.callback(STRANGER, STRANGER, 1, item)
        tg.inline_query(STRANGER, "CSTO members")
        tg.group_text(OTHER_GROUP, STRANGER, "@csto_test_bot When was the CSTO created?")
        tg.group_text(OTHER_GROUP, STRANGER, "/ask When was the CSTO created?")
        tg.group_text(GROUP, STRANGER, "@csto_test_bot When was the CSTO created?")  # an allowed group
        tg.group_text(OTHER_GROUP, USER, "@csto_test_bot When was the CSTO created?")  # an allowed user
        tg.wait_for("sendMessage", _to(GROUP), after=mark)
        tg.wait_for("sendMessage", _to(OTHER_GROUP), after=mark)
        tg.wait_for("answerInlineQuery", after=mark)
        wait_until(lambda: len(tg.calls("answerCallbackQuery")) >= len(data) and len(tg.calls("sendMessage")) >= 6)
        still(lambda: len(tg.calls("sendMessage")) == 6, 0.5)  # nothing more comes
        to_stranger = [c.params["text"] for c in tg.calls("sendMessage") if c.params.get("chat_id") == STRANGER]
        assert to_stranger == ["Sorry, this bot is private."] * 3
        refusals = [c for c in tg.calls("answerCallbackQuery") if c.params.get("text") == "Sorry, this bot is private."]
        assert len(refusals) == len(data)
        assert tg.wait_for("answerInlineQuery", after=mark).params["results"] == []
        other_group = [c for c in tg.calls("sendMessage") if c.params.get("chat_id") == OTHER_GROUP]
        assert len(other_group) == 1  # only the allowed user's question; the stranger's two got silence
        assert "2002" in other_group[0].params["text"]


def test_buttons_reach_only_their_own_chats_answer(tg: TelegramDouble, tmp_path: Path) -> None:
    with BotProcess(tg, tmp_path, RATE_LIMIT_PER_MINUTE="0") as proc:
        tg.private_text(USER, "How does the CSTO operate under sanctions?")
        answer = tg.wait_for("sendMessage", _to(USER))
        data = [b["callback_data"] for row in answer.params["reply_markup"]["inline_keyboard"] for b in row]
        key = data[0].split(":")[1]
        forged = [*data, f"s:{key}:999", f"s:{key}:-1", f"c:{key}:0", f"c:{key}:99", "m:", ":", "::", "q:99999",
                  "q:-1", "s:../../etc/passwd:0", f"m:{key[:-1]}", f"m:{key}x", "{{7*7}}", "<b>x</b>", "x" * 64,
                  "s:\u202e:0"]  # fmt: skip
        mark = tg.mark()
        for chat in (STRANGER, GROUP):  # another private chat, and a group
            for item in forged:
                tg.callback(STRANGER, chat, 1, item)
        expected = 2 * len(forged)
        wait_until(lambda: len(tg.calls("answerCallbackQuery")) >= expected, timeout=15)
        still(lambda: len(tg.calls("answerCallbackQuery")) == expected, 0.5)
        answered = tg.calls("answerCallbackQuery")
        assert len(answered) == expected  # every press is answered, none crashes the handler
        assert not [c for c in tg.calls()[mark:] if c.method == "sendMessage"]  # and none reaches A's answer
        # The owner's own chat still works, and out-of-range arguments there are harmless.
        mark = tg.mark()
        for item in (data[0], f"s:{key}:999", f"c:{key}:0"):
            tg.callback(USER, USER, answer.result["message_id"], item)
        tg.wait_for("sendMessage", _to(USER), after=mark)
        still(lambda: len([c for c in tg.calls()[mark:] if c.method == "sendMessage"]) == 1, 0.5)
    assert "Traceback" not in proc.output()


# ------------------------------------------------------------------------------------------ user text as data only


def test_hostile_questions_are_answered_as_text_through_the_whole_pipeline(core: Core) -> None:
    for question in HOSTILE:
        answer = core.answer(question)
        assert MARK not in render_text(answer)  # the question is never echoed, let alone interpreted
        for message in split_html(render_html_blocks(answer)):
            parsed = parse_html(message)
            assert all(
                e.type in {"bold", "italic", "blockquote", "expandable_blockquote", "code", "text_link"} for e in parsed.entities
            )
            assert "javascript:" not in message and "<script" not in message and MARK not in message


def test_knowledge_text_with_template_syntax_stays_text(tmp_path: Path) -> None:
    """Templates receive data only: a passage that looks like Jinja or HTML comes out literally."""
    (tmp_path / "doc.md").write_text(
        "---\nid: tricky\ntitle: Tricky\nauthors: []\nlanguage: en\ncitation: Tricky (test)\n---\n"
        "## Only\nThe zebrafish accord says {{ 7*7 }} and {% if true %}yes{% endif %} and <b>bold</b> & more.\n",
        encoding="utf-8",
    )
    core = Core.load(tmp_path, index_dir=tmp_path / "index")
    answer = core.answer("What does the zebrafish accord say?")
    assert answer.quotes
    html = "\n".join(render_html_blocks(answer))
    assert "{{ 7*7 }}" in html and "{% if true %}yes{% endif %}" in html and "49" not in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html.replace("<b>", "").replace("</b>", "")
    assert "{{ 7*7 }}" in render_text(answer)


def test_the_bot_package_runs_no_commands_and_evaluates_no_strings() -> None:
    """Static: no shell, no subprocess, no eval/exec, no pickle, no templates built from strings."""
    banned_calls = {"eval", "exec", "compile", "system", "popen", "from_string", "Template", "__import__"}
    banned_modules = {"subprocess", "pickle", "marshal", "shelve", "pty", "ctypes"}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = {a.name.split(".")[0] for a in node.names} | {(getattr(node, "module", None) or "").split(".")[0]}
                assert not names & banned_modules, f"{path.name}:{node.lineno}"
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
                if (owner, name) == ("re", "compile"):
                    continue  # constant patterns (the audit test checks no regex is built from user text)
                assert name not in banned_calls, f"{path.name}:{node.lineno}: {name}()"


AUDIT_WRAPPER = """
import os, sys
log = open(os.environ["AUDIT_LOG"], "a", buffering=1)
mark = os.environ["AUDIT_MARK"]
# Starting a process, in any way.
process = ("subprocess.", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "pty.spawn")
# Files, paths, code, regexes, imports and other places user text must never reach.
watched = ("open", "os.", "shutil.", "glob.", "tempfile.", "compile", "exec", "re.", "import", "pickle.", "marshal.",
           "code.", "builtins.", "sqlite3.", "ctypes.", "webbrowser.", "urllib.", "http.client.", "socket.connect",
           "socket.getaddrinfo", "fcntl.", "mmap.", "syslog.", "winreg.")

def hook(event, args):
    if event.startswith(process):
        log.write(f"PROCESS {event}\\n")
    elif event.startswith(watched):
        try:
            text = repr(args)
        except Exception:
            return
        if mark in text:
            log.write(f"MARK {event} {text[:200]!r}\\n")

sys.addaudithook(hook)
sys.audit("os.system", b"selftest")  # proof that the hook is live: these two lines are expected
sys.audit("open", mark + "-selftest", "r", 0)
from bot.cli import main
sys.exit(main(["telegram"]))
"""


class AuditedBot(BotProcess):
    """The real bot with a Python audit hook: logs any process started and any event that carries MARK."""

    def start(self, *args: str) -> AuditedBot:
        wrapper = self.workdir / "audited_bot.py"
        wrapper.write_text(AUDIT_WRAPPER, encoding="utf-8")
        self.env.update({"AUDIT_LOG": str(self.workdir / "audit.log"), "AUDIT_MARK": MARK})
        self._log = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, str(wrapper)], cwd=self.workdir, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)  # fmt: skip
        return self


def test_user_text_never_reaches_a_shell_a_path_a_template_or_a_regex(tg: TelegramDouble, tmp_path: Path) -> None:
    """The running bot's Python audit events (open, os.*, compile, exec, re.compile, import, subprocess,
    …) are watched while hostile text arrives by every route: no process starts, none carries the text."""
    with AuditedBot(tg, tmp_path, RATE_LIMIT_PER_MINUTE="0") as proc:
        tg.private_text(USER, QUESTION)  # warm up: templates compiled, regexes cached
        tg.wait_for("sendMessage", _to(USER))
        mark = tg.mark()
        for i, text in enumerate(HOSTILE):
            tg.private_text(USER + 1 + i, text)
            tg.group_text(GROUP - i, USER, f"@csto_test_bot {text}")  # a group each: 20 answers a minute per group
            tg.group_text(GROUP - i, USER, f"/ask {text}")
            tg.inline_query(USER, text[:256])
        tg.command(USER, f"/start {MARK}$(id)")
        tg.callback(USER, USER, 1, f"s:{MARK}/../x:0")
        tg.callback(USER, USER, 1, f"q:{MARK}")
        expected_messages = 3 * len(HOSTILE) + 1
        wait_until(
            lambda: len([c for c in tg.calls()[mark:] if c.method == "sendMessage"]) >= expected_messages,
            timeout=30,
            message="not every hostile message was answered",
        )
        still(lambda: len([c for c in tg.calls()[mark:] if c.method == "sendMessage"]) == expected_messages, 0.5)
    audit = (tmp_path / "audit.log").read_text().splitlines()
    assert audit[:2] == ["PROCESS os.system", f"MARK open {repr((MARK + '-selftest', 'r', 0))!r}"], audit
    assert audit[2:] == []  # nothing else: no process, and the text reached no file, code, regex or import
    assert not list(Path("/tmp").glob(f"{MARK}*")) and not list(tmp_path.rglob(f"*{MARK}*"))
    assert "Traceback" not in proc.output()
    for call in tg.calls("sendMessage"):  # no user markup in what was sent (the double parsed it all)
        assert "javascript:" not in call.params["text"]
