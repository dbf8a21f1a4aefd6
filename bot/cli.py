"""The `csto-bot` command: ask, console, check, eval, report, telegram, health."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot import __version__
from bot.config import Settings
from bot.core import Core, Limits
from bot.core.models import Answer
from bot.knowledge.model import KnowledgeError

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--knowledge", metavar="DIR", type=Path, help="knowledge directory (default: the bundled one)")
    parser = argparse.ArgumentParser(
        prog="csto-bot",
        parents=[common],
        description="Answers questions about the CSTO and Eurasian security with verbatim, cited quotations. "
        "With no command: the Telegram bot when TELEGRAM_BOT_TOKEN is set, else the console.",
    )
    parser.add_argument("--version", action="version", version=f"csto-bot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ask = sub.add_parser("ask", parents=[common], help="answer one question and exit")
    ask.add_argument("question", nargs="*", help="the question (read from standard input when omitted)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON (with its evidence)")
    ask.add_argument("--explain", action="store_true", help="say why it answered or declined (to stderr with --json)")
    ask.add_argument("--more", type=int, default=0, metavar="N", help="skip the first N quotations")
    sub.add_parser("console", parents=[common], help="interactive console")
    sub.add_parser("check", parents=[common], help="validate a knowledge base")
    ev = sub.add_parser("eval", parents=[common], help="measure answers against a questions file")
    ev.add_argument("file", type=Path, nargs="+", help="questions files (JSON lines); several are scored together")
    rep = sub.add_parser("report", parents=[common], help="declined and 👎 questions from the question store, grouped")
    rep.add_argument("--jsonl", type=Path, metavar="FILE", help="also write them as an eval file (empty expect)")
    rep.add_argument("--days", type=float, metavar="N", help="only the last N days (default: STORE_DAYS)")
    sub.add_parser("telegram", parents=[common], help="run the Telegram bot")
    sub.add_parser("health", parents=[common], help="exit 0 when the running bot is alive (container health check)")
    from bot.ingest.run import add_arguments as ingest_arguments

    ingest_arguments(
        sub.add_parser("ingest", parents=[common], help="add a PDF, HTML, DOCX, Markdown or text file to the knowledge base")
    )
    return parser


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def load_core(settings: Settings) -> Core:
    limits = Limits(settings.max_quotes, settings.max_quote_chars, settings.max_answer_chars, settings.min_confidence)
    return Core.load(settings.knowledge_path(), limits, settings.index_dir)


def _report(problems: Sequence[object]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def explain(answer: Answer) -> str:
    """Why the core answered or declined, in a few lines: the evidence of its best passage."""
    e = answer.evidence
    if e is None:
        return "explain: no search was made (a greeting, help or an empty question)."
    verdict = "answered" if answer.answered else "declined"
    lines = [
        f"explain: {verdict}: confidence {e.confidence:.3f} {'>=' if answer.answered else '<'} threshold {e.threshold:.3f}",
        f"  best passage: {e.passage_id or '-'}",
        f"  lexical evidence: {e.coverage:.3f} of the question's weight is in that passage (word for word or bridged)",
        f"  semantic evidence: {e.meaning:.3f} cosine of the question with its best sentence",
        f"  specificity: {e.specificity:.3f} of what the question asks beyond its names is in that passage",
    ]
    if e.bridged:
        lines.append("  bridged words: " + "; ".join(f"{w} -> {', '.join(ts)}" for w, ts in e.bridged))
    if e.unknown:
        lines.append("  words no passage uses: " + ", ".join(e.unknown))
    return "\n".join(lines)


def _report_command(settings: Settings, core: Core, days: float | None, jsonl: Path | None) -> int:
    import sqlite3
    import time

    from bot.store.db import DAY, read_rows
    from bot.store.report import group_questions, needs_attention, render_report, write_jsonl

    path = settings.store_path()
    if not path.exists():
        print(f"csto-bot: no question store at {path} (see STATE_DIR and STORE_QUESTIONS)", file=sys.stderr)
        return 1
    days = days if days is not None else settings.store_days
    try:
        rows = read_rows(path, time.time() - days * DAY)
    except (sqlite3.Error, OSError) as e:
        print(f"csto-bot: cannot read the question store {path}: {e}", file=sys.stderr)
        return 2
    groups = group_questions(needs_attention(rows), core.retriever.analyzer.terms)
    print(render_report(rows, groups, days))
    if jsonl is not None:
        count = write_jsonl(groups, jsonl)
        print(f"\n{count} question(s) written to {jsonl}: fill in expect, then `csto-bot eval {jsonl}`")
    return 0


# What a shell reports for a program that a closed pipe stopped (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    """Run one command. When stdout is a pipe whose reader has gone (`csto-bot ask --json … | head`),
    stop quietly as Python's documentation advises (the signal module's note on SIGPIPE): point stdout
    at devnull, so that the flush at exit cannot fail again, and exit with 141, with no traceback."""
    try:
        code = _run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _run(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as e:
        first = e.errors()[0]
        print(f"csto-bot: bad setting {'.'.join(map(str, first['loc'])).upper()}: {first['msg']}", file=sys.stderr)
        return 2
    if args.knowledge is not None:
        settings = settings.model_copy(update={"knowledge_dir": args.knowledge})
    command = args.command or ("telegram" if settings.telegram_bot_token else "console")
    _setup_logging(settings.log_level if command in ("telegram", "health") else "WARNING")

    if command == "check":
        problems = Core.check(settings.knowledge_path())
        _report(problems)
        if not problems:
            print(f"{settings.knowledge_path()}: ok")
        return 1 if problems else 0
    if command == "ingest":
        from bot.ingest.run import run as ingest

        return ingest(args, settings.knowledge_path())
    if command == "health":
        from bot.tg.health import check_health

        return check_health(settings)

    try:
        core = load_core(settings)
    except KnowledgeError as e:
        print(f"csto-bot: the knowledge base at {settings.knowledge_path()} is invalid:", file=sys.stderr)
        _report(e.problems)
        return 2

    if command == "ask":
        question = " ".join(args.question) if args.question else sys.stdin.read()
        answer = core.answer(question, offset=max(args.more, 0))
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        else:
            from bot.render import render_text

            print(render_text(answer))
        if args.explain:
            print(explain(answer), file=sys.stdout if not args.json else sys.stderr)
        return 0
    if command == "eval":
        from bot.core.evaluate import evaluate, load_questions

        try:
            questions = [q for path in args.file for q in load_questions(path)]
        except (OSError, ValueError) as e:
            print(f"csto-bot: {e}", file=sys.stderr)
            return 2
        report = evaluate(core, questions)
        for line in report.misses:
            print(line)
        for line in report.lines():
            print(line)
        return 0
    if command == "report":
        return _report_command(settings, core, args.days, args.jsonl)
    if command == "console":
        from bot.console import run_console
        from bot.store.db import open_store

        store = open_store(settings)
        try:
            return run_console(core, store=store)
        finally:
            if store is not None:
                store.close()
    if command == "telegram":
        from bot.tg.run import run_telegram

        return run_telegram(settings, core, lambda: load_core(settings))
    return 2
