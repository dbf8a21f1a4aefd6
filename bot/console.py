"""The interactive console: a REPL over the core with line editing, history and a few commands."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import TextIO

from bot.core.answer import Core
from bot.core.models import Answer, Kind
from bot.render import WIDTH, render_sources, render_text
from bot.store.db import Store
from bot.words import word


def _enable_line_editing() -> None:
    """Arrow keys and a persistent history when a terminal and readline are there."""
    try:
        import readline
    except ImportError:  # not on every platform
        return
    history = Path(os.environ.get("CSTO_BOT_HISTORY", Path.home() / ".csto_bot_history"))
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(1000)
    import atexit

    def save() -> None:
        try:
            readline.write_history_file(history)
        except OSError:
            pass

    atexit.register(save)


def _cite(core: Core, sources: tuple[str, ...], arg: str, lang: str) -> str:
    """`/cite N`: the Nth source of the last answer in every citation style there is."""
    if not sources:
        return word(lang, "console_cite_first")
    if not arg.isdigit() or not 1 <= int(arg) <= len(sources):
        return word(lang, "console_cite_which", last=len(sources))
    document = core.document(sources[int(arg) - 1])
    if document is None:
        return word(lang, "console_cite_gone")
    from bot.cite import citations

    lines = []
    for name, text in citations(document.meta):
        lines.append(f"{name}:\n{textwrap.fill(text, WIDTH, initial_indent='  ', subsequent_indent='  ')}")
    if document.meta.url:
        lines.append(f"URL: {document.meta.url}")
    return "\n\n".join(lines)


def record(store: Store | None, answer: Answer) -> int | None:
    """Keep a question and its outcome (answers and declines; not greetings or help)."""
    if store is None or answer.kind is Kind.HELP:
        return None
    return store.record(answer.question, answer.lang, answer.answered, [q.passage_id for q in answer.quotes], "console")


def run_console(
    core: Core, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, lang: str = "en", store: Store | None = None
) -> int:
    interactive = stdin.isatty() and stdout.isatty()
    if interactive:
        _enable_line_editing()
    print(word(lang, "console_banner"), file=stdout)
    last: tuple[str, int] | None = None
    last_sources: tuple[str, ...] = ()  # the document ids of the last answer's sources [1], [2], …
    rated: int | None = None  # the store row of the last question, for /good and /bad
    while True:
        try:
            if interactive:
                line = input("\n? ")
            else:
                stdout.write("\n? ")
                stdout.flush()
                line = stdin.readline()
                if not line:
                    raise EOFError
        except (EOFError, KeyboardInterrupt):
            print("\n" + word(lang, "console_bye"), file=stdout)
            return 0
        line = line.strip()
        command = line.lower()
        if command in ("/quit", "/exit", "/q"):
            print(word(lang, "console_bye"), file=stdout)
            return 0
        if command in ("/help", "/?"):
            print(word(lang, "console_help"), file=stdout)
            continue
        if command == "/sources":
            print("\n\n".join(render_sources(core.documents, "text", lang)), file=stdout)
            continue
        if command == "/cite" or command.startswith("/cite "):
            print(_cite(core, last_sources, command.removeprefix("/cite").strip(), lang), file=stdout)
            continue
        if command in ("/good", "/bad") or command.startswith("/bad "):
            if store is None:
                print(word(lang, "console_store_off"), file=stdout)
            elif rated is None:
                print(word(lang, "console_rate_first"), file=stdout)
            else:
                value = 1 if command == "/good" else -1
                store.vote(rated, value)
                comment = line[len("/bad") :].strip() if value < 0 else ""
                if comment:
                    store.comment(rated, comment)
                print(word(lang, "console_noted_up" if value > 0 else "console_noted_down"), file=stdout)
            continue
        if command == "/more":
            if last is None:
                print(word(lang, "console_ask_first"), file=stdout)
                continue
            answer = core.answer(last[0], offset=last[1])
        elif command.startswith("/"):
            print(word(lang, "console_unknown", command=repr(line.split()[0])), file=stdout)
            continue
        else:
            answer = core.answer(line)
            rated = record(store, answer) if answer.kind is not Kind.HELP else rated
        if answer.answered:
            last = (answer.question, answer.offset + len(answer.quotes))
            last_sources = tuple(s.id for s in answer.sources)
        print(render_text(answer), file=stdout)
        if answer.more:
            print(word(lang, "console_more"), file=stdout)
        stdout.flush()
