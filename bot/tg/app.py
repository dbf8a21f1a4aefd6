"""The Telegram adapter: handlers that turn questions into answers and answers into messages."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import __version__
from bot.cite import styled_citations
from bot.config import Settings
from bot.core.answer import Core, language_of, source_of
from bot.core.models import Answer, Kind
from bot.render import (
    render_about_html,
    render_citation_html,
    render_commands_html,
    render_html_blocks,
    render_inline_html,
    render_passage,
    render_sources,
)
from bot.store.db import Store
from bot.store.report import compute_stats
from bot.tg.buttons import AnswerState, AnswerStore
from bot.tg.feedback import PendingComments, mark_vote, vote_buttons
from bot.tg.html import html_to_plain, split_html
from bot.tg.ptb import BotApp
from bot.tg.quota import QuestionQuota, Verdict
from bot.tg.reload import CoreHolder
from bot.tg.retry import RetryingLimiter, surely_not_processed
from bot.words import LANGS, MENU, word

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass
class Services:
    """Everything the handlers share, kept in `application.bot_data["services"]`."""

    settings: Settings
    holder: CoreHolder
    store: AnswerStore
    limiter: QuestionQuota
    questions: Store | None = None  # the question store (bot.store); None when STORE_QUESTIONS=off
    pending: PendingComments = field(default_factory=PendingComments)

    @property
    def core(self) -> Core:
        return self.holder.core


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found = context.application.bot_data["services"]
    assert isinstance(found, Services)  # put there by build_application
    return found


def user_lang(update: Update) -> str:
    user = update.effective_user
    return "ru" if user and (user.language_code or "").startswith(("ru", "uk", "be", "kk")) else "en"


text_for = word  # the bot's words (bot.words): text_for(lang, key, **values)


async def send_html(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    blocks: list[str],
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> None:
    """Send HTML blocks within Telegram's limits; buttons go under the last message.

    If Telegram still refuses the HTML, the same text goes out plain.
    """
    messages = split_html(blocks)
    for i, html in enumerate(messages):
        last = i == len(messages) - 1
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to and i == 0 else None
        try:
            await context.bot.send_message(
                chat_id, html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
                reply_markup=markup if last else None, reply_parameters=reply,
            )  # fmt: skip
        except BadRequest as e:
            if "parse entities" not in str(e).lower():
                raise
            log.warning("Telegram refused the HTML (%s); sending plain text instead", e.message)
            await context.bot.send_message(
                chat_id, html_to_plain(html), link_preview_options=NO_PREVIEW,
                reply_markup=markup if last else None, reply_parameters=reply,
            )  # fmt: skip


def answer_keyboard(answer: Answer, key: str, votes: bool = False) -> InlineKeyboardMarkup | None:
    if not answer.quotes:
        return None
    lang = answer.lang
    numbers = [q.n for q in answer.quotes]
    sources = [
        InlineKeyboardButton(
            text_for(lang, "source", n=q.n) + ("" if numbers.count(q.n) == 1 else f" · {i + 1}"),
            callback_data=f"s:{key}:{i}",
        )
        for i, q in enumerate(answer.quotes)
    ]
    second = [InlineKeyboardButton(text_for(lang, "cite", n=s.n), callback_data=f"c:{key}:{s.n}") for s in answer.sources]
    if answer.more:
        second.append(InlineKeyboardButton(text_for(lang, "more"), callback_data=f"m:{key}"))
    return InlineKeyboardMarkup([sources, second, vote_buttons(key)] if votes else [sources, second])


def quota(s: Services, update: Update) -> Verdict:
    """The per-user question quota, one for every way of asking (messages, buttons, inline)."""
    user = update.effective_user
    return s.limiter.check(user.id) if user is not None else Verdict.ALLOW


def flood_text(s: Services, update: Update, question: str) -> str:
    user = update.effective_user
    lang = language_of(question) if question.strip() else user_lang(update)
    return text_for(lang, "flood", s=s.limiter.retry_after(user.id) if user else 60)


async def answer_question(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    offset: int = 0,
    reply_to: int | None = None,
    record: int | None = None,
) -> None:
    """The one path from a question to messages: rate limit, typing…, answer, render, send."""
    s = services(context)
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    verdict = quota(s, update)
    if verdict is Verdict.DROP:
        return
    if verdict is Verdict.WARN:
        await context.bot.send_message(chat.id, flood_text(s, update, question))
        return
    with suppress(TelegramError):
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    core = s.core
    answer = await asyncio.to_thread(core.answer, question, offset)
    if s.questions is not None and offset == 0 and answer.kind is not Kind.HELP:
        # Only enqueued here (a thread writes it): the answer never waits for the disk.
        record = s.questions.record(
            answer.question, answer.lang, answer.answered, [q.passage_id for q in answer.quotes], "telegram",
            user.id if user else None, chat.id,
        )  # fmt: skip
    markup = None
    if answer.quotes:
        state = AnswerState(
            answer.question, answer.offset, tuple(q.passage_id for q in answer.quotes),
            tuple(src.id for src in answer.sources), chat.id, answer.lang, bool(answer.more),
            record, user.id if user else None,
        )  # fmt: skip
        markup = answer_keyboard(answer, s.store.put(state), votes=record is not None)
    await send_html(context, chat.id, render_html_blocks(answer), markup, reply_to)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    core, lang = services(context).core, user_lang(update)
    welcome = core.welcome(lang)
    buttons = [[InlineKeyboardButton(q[:60], callback_data=f"q:{i}")] for i, q in enumerate(welcome.suggestions)]
    assert update.effective_chat is not None
    await send_html(context, update.effective_chat.id, render_html_blocks(welcome), InlineKeyboardMarkup(buttons))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    core, lang = services(context).core, user_lang(update)
    blocks = render_html_blocks(core.welcome(lang)) + [render_commands_html(lang)]
    assert update.effective_chat is not None
    await send_html(context, update.effective_chat.id, blocks)


async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    await send_html(
        context, update.effective_chat.id, render_sources(services(context).core.documents, "html", user_lang(update))
    )


async def on_about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    core = services(context).core
    html = render_about_html(__version__, len(core.documents), len(core.kb.passages), user_lang(update))
    assert update.effective_chat is not None
    await send_html(context, update.effective_chat.id, [html])


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    question = " ".join(context.args or [])
    if not question.strip():
        await message.reply_text(text_for(user_lang(update), "ask_usage"))
        return
    await answer_question(update, context, question, reply_to=message.message_id)


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await answer_question(update, context, message.text)


def _addressed_question(update: Update, bot_id: int, username: str) -> str | None:
    """In a group: the question if the message mentions the bot or replies to it, else None."""
    message = update.effective_message
    if message is None or message.text is None:
        return None
    replied = (
        message.reply_to_message is not None
        and message.reply_to_message.from_user is not None
        and (message.reply_to_message.from_user.id == bot_id)
    )
    mentions = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    mentioned = any(
        (e.type == MessageEntity.MENTION and text.lstrip("@").casefold() == username.casefold())
        or (e.user is not None and e.user.id == bot_id)
        for e, text in mentions.items()
    )
    if not (replied or mentioned):
        return None
    return re.sub(rf"@{re.escape(username)}\b", " ", message.text, flags=re.IGNORECASE).strip()


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    question = _addressed_question(update, context.bot.id, context.bot.username)
    if question is None:
        return  # a conversation between people: stay silent
    assert update.effective_message is not None
    await answer_question(update, context, question, reply_to=update.effective_message.message_id)


async def on_not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(text_for(user_lang(update), "as_text"))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(text_for(user_lang(update), "unknown"))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """More, Source [n], Cite [n] and the example questions under /start. Every query is answered."""
    query = update.callback_query
    assert query is not None
    s, lang = services(context), user_lang(update)
    chat = update.effective_chat
    kind, _, rest = (query.data or "").partition(":")
    if kind == "q" and chat is not None:
        examples = s.core.examples(lang)
        index = int(rest) if rest.isdigit() else -1
        await query.answer()
        if 0 <= index < len(examples):
            await answer_question(update, context, examples[index])
        return
    key, _, arg = rest.partition(":")
    state = s.store.get(key, chat.id) if chat is not None and key else None
    if state is None or chat is None:
        await query.answer(text_for(lang, "expired"), show_alert=True)
        return
    if kind == "v":
        await on_vote(update, context, state, arg)
        return
    await query.answer()
    reply_to = query.message.message_id if query.message else None
    if kind == "m":
        await answer_question(update, context, state.question, state.offset + len(state.passage_ids), reply_to, state.record)
    elif kind == "s" and arg.isdigit() and int(arg) < len(state.passage_ids):
        view = s.core.passage_view(state.passage_ids[int(arg)])
        if view is None:  # the knowledge changed since the answer
            await context.bot.send_message(chat.id, text_for(state.lang, "expired"))
            return
        await send_html(context, chat.id, render_passage(view, "html", state.lang), reply_to=reply_to)
    elif kind == "c" and arg.isdigit() and 1 <= int(arg) <= len(state.source_ids):
        document = s.core.document(state.source_ids[int(arg) - 1])
        if document is None:
            await context.bot.send_message(chat.id, text_for(state.lang, "expired"))
            return
        styles = await asyncio.to_thread(styled_citations, document.meta)
        html = render_citation_html(source_of(document, int(arg)), state.lang, styles)
        await send_html(context, chat.id, [html], reply_to=reply_to)


async def on_vote(update: Update, context: ContextTypes.DEFAULT_TYPE, state: AnswerState, arg: str) -> None:
    """👍 or 👎 under an answer: kept with the question; a second press replaces the vote."""
    s, query, user, chat = services(context), update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and chat is not None
    if arg not in ("+", "-") or state.record is None or s.questions is None:
        await query.answer()  # forged, or nothing is kept: ignored
        return
    if state.asker is not None and (user is None or user.id != state.asker):
        await query.answer(text_for(state.lang, "vote_asker"))
        return
    value = 1 if arg == "+" else -1
    s.questions.vote(state.record, value)
    await query.answer(text_for(state.lang, "vote_up" if value > 0 else "vote_down"))
    message = query.message
    markup = mark_vote(message.reply_markup, value) if isinstance(message, Message) and message.reply_markup else None
    if markup is None:
        return  # the same vote again: nothing changes
    with suppress(BadRequest):  # the message may be too old to edit: the vote is kept all the same
        await query.edit_message_reply_markup(markup)
    if value < 0 and user is not None and not s.pending.waiting(chat.id, user.id, state.record):
        # In a group the prompt replies to the question, so that ForceReply(selective) reaches its asker only.
        question = message.reply_to_message if isinstance(message, Message) else None
        reply = ReplyParameters(question.message_id, allow_sending_without_reply=True) if question else None
        prompt = await context.bot.send_message(
            chat.id, text_for(state.lang, "ask_comment"), reply_parameters=reply,
            reply_markup=ForceReply(selective=True, input_field_placeholder=text_for(state.lang, "comment_hint")),
        )  # fmt: skip
        s.pending.expect(chat.id, user.id, state.record, prompt.message_id, chat.type == chat.PRIVATE)


async def on_comment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After the other handlers: a message that answers "what were you looking for?" is kept with the 👎.
    It is still answered as a question (it says what the user was looking for)."""
    s, message, user, chat = services(context), update.effective_message, update.effective_user, update.effective_chat
    if s.questions is None or message is None or not message.text or user is None or chat is None:
        return
    reply_to = message.reply_to_message.message_id if message.reply_to_message else None
    record = s.pending.take(chat.id, user.id, reply_to)
    if record is not None:
        s.questions.comment(record, message.text)


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def admin_only(handler: Handler) -> Handler:
    """A command for admins: anyone else is told it is for admins, and nothing else happens."""

    @functools.wraps(handler)
    async def checked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, message = update.effective_user, update.effective_message
        if user is not None and user.id in services(context).settings.admin_ids:
            await handler(update, context)
        elif message is not None:
            await message.reply_text(text_for(user_lang(update), "admins_only"))

    return checked


@admin_only
async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins only: the last day and week, share answered, share 👍, the top declined questions."""
    s, lang = services(context), user_lang(update)
    message = update.effective_message
    assert message is not None
    store = s.questions
    if store is None:
        await message.reply_text(text_for(lang, "store_off"))
        return
    stats = await asyncio.to_thread(lambda: compute_stats(store.rows(days=7), s.core.retriever.analyzer.terms))

    def share(part: int, whole: int) -> str:
        return f"{100 * part / whole:.0f}% ({part}/{whole})" if whole else "—"

    week = stats.week
    lines = [
        text_for(lang, "stats", d=stats.day.questions, w=week.questions, answered=share(week.answered, week.questions),
                 up=share(week.up, week.up + week.down)),
        "",
        text_for(lang, "stats_top") if stats.top_declined else text_for(lang, "stats_none"),
    ]  # fmt: skip
    lines += [f"{n}× {question}" for question, n in stats.top_declined]
    await message.reply_text("\n".join(lines)[:4000])


async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`@bot question` in any chat: the best quotations, each inserting itself with its citation."""
    query = update.inline_query
    assert query is not None
    results = []
    if len(query.query.strip()) >= 3:  # shorter queries are answered empty and cost nothing
        s = services(context)
        verdict = quota(s, update)
        if verdict is not Verdict.ALLOW:
            # No chat to write to: the first refusal shows the flood text above the (empty)
            # results, as a button that opens the private chat; later ones are silently empty.
            button = None
            if verdict is Verdict.WARN:
                button = InlineQueryResultsButton(text=flood_text(s, update, query.query), start_parameter="flood")
            await query.answer([], cache_time=0, is_personal=True, button=button)
            return
        answer = await asyncio.to_thread(s.core.answer, query.query)
        for i, quote in enumerate(answer.quotes):
            results.append(
                InlineQueryResultArticle(
                    id=f"{i}",
                    title=f"[{quote.n}] {quote.source.title}"[:100],
                    description=quote.text[:200],
                    input_message_content=InputTextMessageContent(
                        render_inline_html(quote, answer.lang), parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                    ),
                )
            )
    await query.answer(results, cache_time=60)


@admin_only
async def on_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins only: validate and swap in the knowledge directory; errors are reported, nothing breaks."""
    s, lang = services(context), user_lang(update)
    message = update.effective_message
    assert message is not None
    problems = await s.holder.reload()
    if problems:
        listing = "\n".join(str(p) for p in problems[:20])
        await message.reply_text(f"{text_for(lang, 'reload_bad')}\n{listing}"[:4000])
    else:
        await message.reply_text(text_for(lang, "reload_ok", d=len(s.core.documents), p=len(s.core.kb.passages)))


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The allowlist, before every other handler: others get a polite refusal and nothing else."""
    allowed = services(context).settings.allowed_ids
    if not allowed:
        return
    user, chat = update.effective_user, update.effective_chat
    if (user and user.id in allowed) or (chat and chat.id in allowed):
        return
    lang = user_lang(update)
    if update.callback_query:
        await update.callback_query.answer(text_for(lang, "private"), show_alert=True)
    elif update.inline_query:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
    elif update.effective_message and chat and chat.type == chat.PRIVATE:
        await update.effective_message.reply_text(text_for(lang, "private"))
    raise ApplicationHandlerStop


def apology_key(error: BaseException | None) -> str:
    """A call that went out but was never confirmed (a read timeout, a connection dropped after the
    request was written) may well have been delivered: say so rather than the plain apology."""
    ambiguous = isinstance(error, NetworkError) and not isinstance(error, BadRequest) and not surely_not_processed(error)
    return "maybe_sent" if ambiguous else "error"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the traceback, tell the user in one sentence, keep serving everyone else."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    lang = user_lang(update)
    key = apology_key(context.error)
    with suppress(TelegramError):
        if update.callback_query:
            await update.callback_query.answer(text_for(lang, key))
        elif update.effective_chat and not update.inline_query:
            await context.bot.send_message(update.effective_chat.id, text_for(lang, key))


async def register_commands(app: BotApp) -> None:
    for lang in LANGS:
        commands = [BotCommand(c, word(lang, f"cmd_{c}")) for c in MENU]
        await app.bot.set_my_commands(commands, language_code=None if lang == "en" else lang)


def build_application(
    settings: Settings, holder: CoreHolder, request: BaseRequest | None = None, questions: Store | None = None
) -> BotApp:
    """The one place the PTB application is assembled. `request` replaces the HTTP client (tests)."""
    assert settings.telegram_bot_token is not None
    builder = Application.builder()
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = (
        builder.token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .updater(None)  # bot.tg.polling confirms updates only after handling them
        .rate_limiter(RetryingLimiter(max_retries=3))
        # No .concurrent_updates(): it configures PTB's update queue, which these updates never pass
        # through. bot.tg.polling and bot.tg.webhook call process_update themselves, one task per update.
        .build()
    )
    app.bot_data["services"] = Services(
        settings, holder, AnswerStore(settings.answer_state_max, settings.answer_state_ttl),
        QuestionQuota(settings.rate_limit_per_minute), questions,
    )  # fmt: skip
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handler(CommandHandler("start", on_start, filters=new_message))
    app.add_handler(CommandHandler("help", on_help, filters=new_message))
    app.add_handler(CommandHandler("sources", on_sources, filters=new_message))
    app.add_handler(CommandHandler("about", on_about, filters=new_message))
    app.add_handler(CommandHandler("ask", on_ask, filters=new_message))
    app.add_handler(CommandHandler("reload", on_reload, filters=new_message))
    app.add_handler(CommandHandler("stats", on_stats, filters=new_message))
    app.add_handler(MessageHandler(new_message & private & filters.TEXT & ~filters.COMMAND, on_private_text))
    app.add_handler(MessageHandler(new_message & groups & filters.TEXT & ~filters.COMMAND, on_group_text))
    app.add_handler(MessageHandler(new_message & private & filters.COMMAND, on_unknown_command))
    app.add_handler(MessageHandler(new_message & private & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_not_text))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(InlineQueryHandler(on_inline))
    app.add_handler(MessageHandler(new_message & filters.TEXT & ~filters.COMMAND, on_comment), group=1)
    app.add_error_handler(on_error)
    return app
