"""`make load`: the real bot (`python -m bot telegram`) under load through the Bot API double on 127.0.0.1.

By default 200 users in private chats and 10 groups send 5,000 messages, spread over about a minute.
Every private message is a question; in the groups some messages are addressed to the bot (a mention,
a reply to the bot, /ask) and the rest is chatter the bot must leave alone. Each answer is matched to
its question exactly:

* groups: the bot replies to the question (reply_parameters.message_id);
* private chats: no reply is set, so each user's questions are chosen to have pairwise different
  answers, learnt from the bot itself before the run (calibration); an answer's text then names its
  question, and a second copy of it is a duplicate.

The last line is `load: sent N, answered N, lost 0, duplicated 0, p50 X ms, p99 Y ms, rss Z MB`
(sent = messages that need an answer, latency = question queued → answer received by "Telegram",
rss = the bot's peak resident memory); the exit status is 1 if anything was lost, duplicated, wrong
or sent where no answer was due.

The bot runs as in production, including Telegram's flood limits (30 messages/s overall, 20 per
minute per group), so when questions arrive faster than that the answers queue and latency grows.

Environment:
  LOAD_MESSAGES  messages to send (5000)           LOAD_USERS   private users (200)
  LOAD_GROUPS    groups (10)                       LOAD_PACE    seconds to spread them over (60)
  LOAD_SECONDS   soak mode: send steadily for this many seconds instead, printing the bot's memory
  LOAD_RATE      soak mode: messages per second (15)
  LOAD_DRAIN     seconds to wait for the last answers after sending (600)
"""

from __future__ import annotations

import itertools
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.botproc import BotProcess
from tests.support.tgdouble import Call, TelegramDouble

PRIVATE_SHARE = 0.7  # of all messages; the rest go to the groups
ADDRESSED_SHARE = 0.25  # of group messages: mention, reply to the bot or /ask (the rest is chatter)
GROUP_MEMBERS = 20
PRIVATE_BASE, GROUP_BASE, CALIBRATION_BASE = 7_100_000, -1_001_700_000_000, 7_900_000

QUESTIONS = [
    "When was the CSTO created?", "Who are the members of the CSTO?", "How does the CSTO operate under sanctions?",
    "What happened in Kazakhstan in January 2022?", "What is the Eurasian Economic Union?",
    "When was the EAEU launched?", "Who chaired the CSTO in 2024?",
    "What are the consequences of sanctions for Russian-Kazakh relations?",
    "Who wrote the article about the CSTO and sanctions?", "What methodology does the article use?",
    "What are the conclusions of the article?", "What is the objective of the study?", "What are the specific goals?",
    "What is Kazakhstan's position on sanctions against Russia?", "How did trade between Russia and Kazakhstan change?",
    "What is the role of Russia in the CSTO?", "What is collective security?", "What about Armenia and the CSTO?",
    "What is the SCO?", "How do sanctions affect the EAEU?", "What is Eurasian integration?",
    "What is the CSTO peacekeeping force?", "What happened in 2014?", "What did Kazakhstan do in 2022?",
    "What is the military cooperation in the CSTO?", "What is the role of China in Central Asia?",
    "What is the stabilization-oriented chairmanship?", "What about Belarus in the CSTO?",
    "Когда была создана ОДКБ?", "Что произошло в Казахстане в январе 2022 года?",
    "Кто председательствовал в ОДКБ в 2024 году?", "Кто автор статьи об ОДКБ?", "What is the zebrafish treaty?",
]  # fmt: skip
TOPICS = [
    "CSTO",
    "sanctions",
    "Kazakhstan",
    "Russia",
    "Eurasian Economic Union",
    "January 2022",
    "chairmanship",
    "Armenia",
    "Belarus",
    "trade",
    "security",
    "integration",
    "2002",
    "members",
    "article",
    "methodology",
    "conclusions",
    "peacekeeping",
    "China",
    "SCO",
    "2014",
    "Kyrgyzstan",
    "Tajikistan",
    "cooperation",
]
CHATTER = [
    "who's coming to lunch?", "lol", "ok", "see you tomorrow", "did anyone read the news today?",
    "What happened in Kazakhstan in January 2022?", "When was the CSTO created?", "@someone_else can you check?",
    "thanks!", "the meeting moved to 3pm", "Кто входит в ОДКБ?", "https://example.com/article", "👍", "ask Bob about it",
    "I think the CSTO question was answered above", "brb",
]  # fmt: skip


def candidate_questions() -> Iterator[str]:
    """Questions to calibrate, most natural first, then pairs of topics (many different answers)."""
    yield from QUESTIONS
    for a, b in itertools.combinations(TOPICS, 2):
        yield f"What about {a} and {b}?"


@dataclass
class Message:
    """One message the harness sent, and what came back for it."""

    update_id: int
    chat_id: int
    message_id: int
    kind: str  # private, mention, reply, ask, chatter
    text: str
    question: str | None  # what the bot should answer (None: chatter)
    expected: str | None  # the answer's text, as learnt in calibration
    sent_at: float
    answers: list[float] = field(default_factory=list)  # when each answer arrived

    @property
    def needs_answer(self) -> bool:
        return self.question is not None


@dataclass
class Result:
    messages: list[Message]
    unexpected: list[str]  # bot messages that matched no question (errors, answers to chatter, stray texts)
    wrong: int  # answers whose text differs from the calibrated answer of their question
    rss_mb: list[tuple[float, float]]  # (seconds since start, MB)
    elapsed: float
    exit_code: int | None
    unconfirmed: int
    violations: int
    log_errors: list[str]
    log: str
    store_lost: int = 0  # questions needing an answer with no row in the question store
    store_duplicated: int = 0  # rows beyond one per question asked
    store_rows: int = 0

    @property
    def needing(self) -> list[Message]:
        return [m for m in self.messages if m.needs_answer]

    @property
    def answered(self) -> int:
        return sum(1 for m in self.needing if m.answers)

    @property
    def lost(self) -> int:
        return sum(1 for m in self.needing if not m.answers)

    @property
    def duplicated(self) -> int:
        return sum(len(m.answers) - 1 for m in self.needing if len(m.answers) > 1)

    @property
    def chatter_answered(self) -> int:
        return sum(len(m.answers) for m in self.messages if not m.needs_answer)

    def latencies_ms(self) -> list[float]:
        return sorted((m.answers[0] - m.sent_at) * 1000 for m in self.needing if m.answers)

    def percentile(self, p: float) -> float:
        values = self.latencies_ms()
        if not values:
            return float("nan")
        return values[min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))]

    @property
    def peak_rss(self) -> float:
        return max((mb for _, mb in self.rss_mb), default=float("nan"))

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong or self.chatter_answered or self.unexpected
                    or self.violations or self.log_errors or self.store_lost or self.store_duplicated)  # fmt: skip

    def line(self) -> str:
        return (
            f"load: sent {len(self.needing)}, answered {self.answered}, lost {self.lost}, "
            f"duplicated {self.duplicated}, p50 {self.percentile(50):.0f} ms, p99 {self.percentile(99):.0f} ms, "
            f"rss {self.peak_rss:.0f} MB; store: {self.store_rows} rows, lost {self.store_lost}, "
            f"duplicated {self.store_duplicated}"
        )


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (Linux /proc; psutil elsewhere if installed)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import psutil

        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except Exception:  # noqa: BLE001 - no psutil, or the process is gone
        return None


class Harness:
    def __init__(self, tg: TelegramDouble, bot: BotProcess, seed: int = 1, say: Callable[[str], None] = print) -> None:
        self.tg, self.bot, self.say = tg, bot, say
        self.rng = random.Random(seed)
        self.messages: dict[int, Message] = {}  # by update id
        self.by_reply: dict[tuple[int, int], Message] = {}  # (chat, message id) → message
        self.by_text: dict[tuple[int, str], Message] = {}  # (private chat, expected answer) → message
        self.asked: dict[int, set[str]] = defaultdict(set)  # chat → expected answers already used there
        self.pool: list[tuple[str, str]] = []  # (question, its answer text), answers pairwise different
        self.calibration_asked: Counter[str] = Counter()  # questions asked while calibrating (stored too)
        self.unexpected: list[str] = []
        self.wrong = 0
        self._seen = 0  # sendMessage calls matched so far
        self._lock = threading.Lock()
        self.rss: list[tuple[float, float]] = []
        self.t0 = time.monotonic()

    # ------------------------------------------------------------------ calibration

    def calibrate(self, needed: int) -> None:
        """Ask candidate questions once each (from fresh users) until `needed` distinct answers are known."""
        known: dict[str, str] = {}
        candidates = candidate_questions()
        user = itertools.count(CALIBRATION_BASE)
        while len(known) < needed:
            batch = list(itertools.islice(candidates, max(10, min(60, 2 * (needed - len(known))))))
            if not batch:
                raise RuntimeError(f"only {len(known)} questions with different answers; {needed} needed")
            mark = self.tg.mark()
            asked = {next(user): q for q in batch}
            self.calibration_asked.update(asked.values())
            for uid, q in asked.items():
                self.tg.private_text(uid, q)
            deadline = time.monotonic() + 60
            replies: dict[int, list[str]] = defaultdict(list)
            while time.monotonic() < deadline and len(replies) < len(asked):
                time.sleep(0.05)
                replies = self._replies(mark, asked)
            time.sleep(0.3)
            replies = self._replies(mark, asked)
            for uid, q in asked.items():
                texts = replies.get(uid, [])
                if len(texts) == 1 and texts[0] not in known.values():
                    known[q] = texts[0]
        self.pool = list(known.items())
        self._seen = len(self.tg.calls("sendMessage"))

    def _replies(self, mark: int, chats: dict[int, str]) -> dict[int, list[str]]:
        replies: dict[int, list[str]] = defaultdict(list)
        for c in self.tg.calls()[mark:]:
            if c.method == "sendMessage" and c.ok and c.params.get("chat_id") in chats:
                replies[c.params["chat_id"]].append(c.params["text"])
        return replies

    # ------------------------------------------------------------------ sending

    def _pick(self, chat_id: int) -> tuple[str, str]:
        """A question not yet asked in this chat (so its answer names it)."""
        fresh = [qa for qa in self.pool if qa[1] not in self.asked[chat_id]]
        if not fresh:
            raise RuntimeError(f"chat {chat_id} has used all {len(self.pool)} distinct questions")
        question, answer = self.rng.choice(fresh)
        self.asked[chat_id].add(answer)
        return question, answer

    def send_private(self, user_id: int) -> Message:
        question, answer = self._pick(user_id)
        sent_at = time.time()
        update_id = self.tg.private_text(user_id, question)
        return self._record(update_id, user_id, "private", question, question, answer, sent_at)

    def send_group(self, chat_id: int, user_id: int, addressed: bool) -> Message:
        sent_at = time.time()
        if not addressed:
            text = self.rng.choice(CHATTER)
            update_id = self.tg.group_text(chat_id, user_id, text)
            return self._record(update_id, chat_id, "chatter", text, None, None, sent_at)
        question, answer = self.rng.choice(self.pool)
        kind = self.rng.choice(("mention", "reply", "ask"))
        if kind == "mention":
            text = f"@{self.tg.bot_user['username']} {question}"
            update_id = self.tg.group_text(chat_id, user_id, text)
        elif kind == "reply":
            text = question
            update_id = self.tg.group_text(chat_id, user_id, text, reply_to_bot=True)
        else:
            text = self.rng.choice(("/ask ", f"/ask@{self.tg.bot_user['username']} ")) + question
            update_id = self.tg.group_text(chat_id, user_id, text)
        return self._record(update_id, chat_id, kind, text, question, answer, sent_at)

    def _record(self, update_id: int, chat_id: int, kind: str, text: str, question: str | None,
                expected: str | None, sent_at: float) -> Message:  # fmt: skip
        message_id = int(self.tg.update(update_id)["message"]["message_id"])
        msg = Message(update_id, chat_id, message_id, kind, text, question, expected, sent_at)
        with self._lock:
            self.messages[update_id] = msg
            self.by_reply[(chat_id, message_id)] = msg
            if kind == "private" and expected is not None:
                self.by_text[(chat_id, expected)] = msg
        return msg

    # ------------------------------------------------------------------ matching

    def match(self) -> None:
        """Attribute the bot's new messages to the questions they answer."""
        calls = self.tg.calls("sendMessage")
        with self._lock:
            for call in calls[self._seen :]:
                if call.ok:
                    self._match_one(call)
            self._seen = len(calls)

    def _match_one(self, call: Call) -> None:
        chat_id, text = call.params.get("chat_id"), call.params.get("text", "")
        reply = call.params.get("reply_parameters")
        if isinstance(chat_id, int) and chat_id < 0:
            replied_to = reply.get("message_id") if isinstance(reply, dict) else None
            msg = self.by_reply.get((chat_id, replied_to)) if isinstance(replied_to, int) else None
        else:
            msg = self.by_text.get((chat_id, text))  # type: ignore[arg-type]
        if msg is None:
            if not (isinstance(chat_id, int) and chat_id >= CALIBRATION_BASE):
                self.unexpected.append(f"{chat_id}: {text[:80]!r}")
            return
        if msg.expected is not None and text != msg.expected:
            self.wrong += 1
        msg.answers.append(call.at)

    def outstanding(self) -> int:
        with self._lock:
            return sum(1 for m in self.messages.values() if m.needs_answer and not m.answers)

    # ------------------------------------------------------------------ memory

    def sample_rss(self) -> float | None:
        assert self.bot.proc is not None
        mb = rss_mb(self.bot.proc.pid)
        if mb is not None:
            self.rss.append((time.monotonic() - self.t0, mb))
        return mb


def _schedule(rng: random.Random, total: int, users: list[int], groups: list[int], members: dict[int, list[int]],
              generation_of: Callable[[int], int] = lambda i: 0) -> Iterator[tuple[str, int, int, bool]]:  # fmt: skip
    """(kind, chat, user, addressed) for `total` messages: private users in turn, groups in turn.

    `generation_of(i)` moves the i-th private message to a later generation of users (the soak)."""
    n_private = round(total * PRIVATE_SHARE)
    kinds = ["private"] * n_private + ["group"] * (total - n_private)
    rng.shuffle(kinds)
    private_turn, group_turn = itertools.count(), itertools.cycle(groups)
    for i, kind in enumerate(kinds):
        if kind == "private":
            user = users[next(private_turn) % len(users)] + generation_of(i) * len(users)
            yield kind, user, user, False
        else:
            group = next(group_turn)
            yield kind, group, rng.choice(members[group]), rng.random() < ADDRESSED_SHARE


def run(messages: int = 5000, users: int = 200, groups: int = 10, pace: float = 60.0, soak_seconds: float = 0,
        soak_rate: float = 15.0, drain: float = 600.0, workdir: Path | None = None, seed: int = 1,
        say: Callable[[str], None] = print, **bot_settings: str) -> Result:  # fmt: skip
    """Drive the real bot; returns what happened (see Result)."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="csto-load-"))
    settings = {"RATE_LIMIT_PER_MINUTE": "0", "LOG_LEVEL": "INFO", **bot_settings}
    with TelegramDouble() as tg:
        bot = BotProcess(tg, workdir, **settings).start()
        try:
            bot.wait_ready(timeout=60)
            harness = Harness(tg, bot, seed, say)
            rng = harness.rng
            user_ids = [PRIVATE_BASE + i for i in range(users)]
            group_ids = [GROUP_BASE - i for i in range(groups)]
            members = {g: rng.sample(user_ids, min(GROUP_MEMBERS, users)) for g in group_ids}
            generation_of: Callable[[int], int] = lambda i: 0  # noqa: E731
            if soak_seconds:  # new private users every minute: per-user stores must stay bounded
                messages = int(soak_seconds * soak_rate)
                generation_of = lambda i: int(i / soak_rate // 60)  # noqa: E731
                per_user = math.ceil(soak_rate * 60 * PRIVATE_SHARE / users)
            else:
                per_user = math.ceil(messages * PRIVATE_SHARE / users)
            harness.calibrate(max(per_user + 2, 12))
            say(
                f"load: {len(harness.pool)} questions with different answers learnt; sending {messages} messages "
                f"from {users} users in private chats and {groups} groups "
                + (f"for {soak_seconds:.0f} s at {soak_rate:g}/s" if soak_seconds else f"over {pace:.0f} s")
            )
            interval = (soak_seconds / messages) if soak_seconds else (pace / max(1, messages))
            plan = _schedule(rng, messages, user_ids, group_ids, members, generation_of)
            harness.t0 = time.monotonic()
            harness.sample_rss()
            start = time.monotonic()
            next_report = start + 10
            next_sample = start + 1
            for i, (kind, chat, user, addressed) in enumerate(plan):
                due = start + i * interval
                while True:
                    now = time.monotonic()
                    if now >= next_sample:
                        harness.sample_rss()
                        next_sample = now + 1
                    if now >= next_report:
                        harness.match()
                        say(_progress(harness, i))
                        next_report = now + 10
                    if now >= due:
                        break
                    time.sleep(min(due - now, 0.05))
                if kind == "private":
                    harness.send_private(user)
                else:
                    harness.send_group(chat, user, addressed)
            sent_by = time.monotonic()
            deadline = sent_by + drain
            while time.monotonic() < deadline:
                harness.match()
                if harness.outstanding() == 0:
                    break
                if time.monotonic() >= next_report:
                    say(_progress(harness, len(harness.messages)))
                    next_report = time.monotonic() + 10
                harness.sample_rss()
                time.sleep(0.25)
            time.sleep(2.0)  # room for a late duplicate
            harness.sample_rss()
            elapsed = time.monotonic() - start
        finally:
            exit_code = bot.stop(signal.SIGTERM, timeout=60)
        harness.match()  # anything sent while stopping
        unconfirmed = sum(1 for u in tg.pending_updates() if u["update_id"] in harness.messages)
        log = bot.output()
        errors = [line for line in log.splitlines() if " ERROR " in line or line.startswith("Traceback")]
        keeping = str(settings.get("STORE_QUESTIONS", os.environ.get("STORE_QUESTIONS", "on"))).lower()
        stored = stored_questions(workdir / "csto-bot.sqlite3")
        asked = Counter(m.question for m in harness.messages.values() if m.question is not None)
        asked.update(harness.calibration_asked)
        if keeping in ("off", "false", "0", "no"):
            asked = Counter()  # nothing is kept: nothing to check
        return Result(list(harness.messages.values()), harness.unexpected, harness.wrong, harness.rss, elapsed,
                      exit_code, unconfirmed, len(tg.violations), errors, log, (asked - stored).total(),
                      (stored - asked).total(), stored.total())  # fmt: skip


def stored_questions(path: Path) -> Counter[str]:
    """The questions the bot kept in its question store (every answered question should be there once)."""
    from bot.store.db import read_rows

    return Counter(row.question for row in read_rows(path)) if path.exists() else Counter()


def _progress(h: Harness, queued: int) -> str:
    answered = sum(1 for m in h.messages.values() if m.answers)
    rss = f"{h.rss[-1][1]:.0f} MB" if h.rss else "?"
    return (f"load: t={time.monotonic() - h.t0:4.0f} s  queued {queued}  answered {answered}  "
            f"waiting {h.outstanding()}  rss {rss}")  # fmt: skip


def report(result: Result, soak: bool, say: Callable[[str], None] = print) -> None:
    kinds = Counter(m.kind for m in result.messages)
    say(
        f"load: {len(result.messages)} messages ({kinds['private']} private; group: {kinds['mention']} mentions, "
        f"{kinds['reply']} replies to the bot, {kinds['ask']} /ask, {kinds['chatter']} chatter) in {result.elapsed:.0f} s"
    )
    say(f"load: wrong answers {result.wrong}, answers to chatter {result.chatter_answered}, other bot messages "
        f"{len(result.unexpected)}, unconfirmed updates {result.unconfirmed}, API violations {result.violations}, "
        f"errors logged {len(result.log_errors)}, bot exit {result.exit_code}")  # fmt: skip
    for line in result.unexpected[:5] + result.log_errors[:5]:
        say(f"load:   {line}")
    if soak and result.rss_mb:
        samples = result.rss_mb
        start = next((mb for t, mb in samples if t >= 5), samples[0][1])  # after warm-up
        middle = min(samples, key=lambda s: abs(s[0] - samples[-1][0] / 2))[1]
        end = samples[-1][1]
        step = 60 if samples[-1][0] >= 240 else 10

        def at(second: float) -> float:  # the sample nearest to a time
            return min(samples, key=lambda s: abs(s[0] - second))[1]

        marks = [at(m) for m in range(0, int(samples[-1][0]) + 1, step)]
        say(f"soak: rss start {start:.1f} MB, middle {middle:.1f} MB, end {end:.1f} MB "
            f"(middle→end {end - middle:+.1f} MB); every {step} s: {' '.join(f'{mb:.1f}' for mb in marks)}")  # fmt: skip
    say(result.line())


def main() -> int:
    env = os.environ
    soak = float(env.get("LOAD_SECONDS", "0") or 0)
    workdir = Path(tempfile.mkdtemp(prefix="csto-load-"))
    result = run(
        messages=int(env.get("LOAD_MESSAGES", "5000")), users=int(env.get("LOAD_USERS", "200")),
        groups=int(env.get("LOAD_GROUPS", "10")), pace=float(env.get("LOAD_PACE", "60")), soak_seconds=soak,
        soak_rate=float(env.get("LOAD_RATE", "15")), drain=float(env.get("LOAD_DRAIN", "600")), workdir=workdir,
        say=lambda s: print(s, flush=True),
    )  # fmt: skip
    if result.ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"load: the bot's log is in {workdir / 'bot.log'}", flush=True)
    report(result, bool(soak), say=lambda s: print(s, flush=True))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
