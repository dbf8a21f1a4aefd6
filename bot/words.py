"""Every word the bot itself says, in English and Russian: the one place to change or translate them.

The Telegram handlers, the templates and the console all take their words from here (the
quotations are the sources' own words and are never translated). A lookup that misses a language
falls back to English; `tests/test_words.py` checks that every key exists in both languages with
the same `{placeholders}`.

Why a strings module and not gettext catalogues with Babel: there are two languages, written by
the developers themselves, with no translators' workflow (no .po files to hand out, no plural forms
the texts need: counts are written as "documents: 3"), and a module needs no extra dependency and
no compile step, and it is checked by an ordinary test. If translators or more languages come,
the keys map one-to-one onto gettext message ids.

This module imports nothing but the standard library, so that any layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DEFAULT = "en"

_EN = {
    # Answers (templates)
    "sources": "Sources",
    "abstain": "My sources do not cover this question, so I will not guess.",
    "covers": "My sources cover",
    "try": "You could ask, for example",
    "help": (
        "I answer questions about the Collective Security Treaty Organization (CSTO), Russian–Kazakh "
        "relations under sanctions and Eurasian integration, only with verbatim quotations from my "
        "sources, each with a numbered citation."
    ),
    "no_more": "There are no more quotations for this question.",
    "more_hint": "{n} more quotations",
    "more_hint_one": "1 more quotation",
    "context_before": "Before",
    "context_after": "After",
    "link": "link",
    "about_size": "Documents: {documents}, passages: {passages}.",
    # /help (templates/commands.html.j2)
    "commands": "Commands",
    "help_ask": "/ask question — ask a question (in groups)",
    "help_sources": "/sources — every source with its citation",
    "help_about": "/about — version and size of the knowledge base",
    "help_help": "/help — this help",
    "help_buttons": (
        "In a private chat, just type your question. Under an answer: {more} gives the next quotations, "
        "{source} the whole passage with its context, {cite} a citation ready to copy."
    ),
    "button_more": "More",
    "button_source": "Source",
    "button_cite": "Cite",
    # Telegram: buttons under an answer
    "more": "More ▸",
    "source": "Source [{n}]",
    "cite": "Cite [{n}]",
    # Telegram: replies
    "as_text": "Please send me your question as text.",
    "expired": "This answer has expired — please ask again.",
    "flood": "You are asking faster than I can answer. Please wait {s} seconds and ask again.",
    "private": "Sorry, this bot is private.",
    "error": "Sorry, something went wrong while answering. Please try again.",
    "maybe_sent": "Telegram did not confirm my answer in time. The answer may have arrived — if not, please ask again.",
    "ask_usage": "Write your question after the command, e.g. /ask Who are the members of the CSTO?",
    "unknown": "I do not know that command. Type your question, or see /help.",
    "reload_ok": "Knowledge reloaded: {d} documents, {p} passages.",
    "reload_bad": "The new knowledge is invalid, so the old one keeps answering:",
    "admins_only": "Only administrators can do that.",
    # Telegram: votes under answers, the comment after a 👎, /stats
    "vote_up": "Thank you!",
    "vote_down": "Thank you — noted.",
    "vote_asker": "Only the person who asked can rate this answer.",
    "ask_comment": "What were you looking for? Reply to this message in a few words: it shows the curator what to add.",
    "comment_hint": "What were you looking for?",
    "store_off": "Questions are not kept (STORE_QUESTIONS=off), so there are no statistics.",
    "stats": (
        "Questions in the last day: {d}; in the last week: {w}.\nAnswered (week): {answered}.\n👍 among the votes (week): {up}."
    ),
    "stats_top": "Most frequent declined questions (week):",
    "stats_none": "No declined questions this week.",
    # Telegram: the command menu (setMyCommands)
    "cmd_start": "What this bot is, with example questions",
    "cmd_help": "How to ask, commands and buttons",
    "cmd_sources": "Every source with its citation",
    "cmd_about": "Version and knowledge base size",
    "cmd_ask": "Ask a question (in groups)",
    # The console
    "console_banner": "csto-bot console — ask a question about the CSTO and Eurasian security. /help, /sources, /quit.",
    "console_help": (
        "Type a question and press Enter. Answers are verbatim quotations with numbered citations.\n"
        "  /help      this text\n"
        "  /sources   every document in the knowledge base, with its citation\n"
        "  /more      more quotations for the last question\n"
        "  /cite N    source [N] of the last answer: its own citation line, APA and ГОСТ\n"
        "  /good      the last answer helped (👍)\n"
        "  /bad [what you were looking for]   it did not (👎), with an optional comment\n"
        "  /quit      leave (Ctrl-D and Ctrl-C leave too)"
    ),
    "console_bye": "Bye.",
    "console_ask_first": "Ask a question first.",
    "console_unknown": "Unknown command {command}. Try /help.",
    "console_more": "Type /more for the next quotations.",
    "console_rate_first": "Ask a question first; /good and /bad rate the last answer.",
    "console_store_off": "Nothing is kept (STORE_QUESTIONS=off), so there is nothing to rate.",
    "console_noted_up": "Noted: 👍. Thank you.",
    "console_noted_down": "Noted: 👎. Thank you — it shows the curator what to add.",
    "console_cite_first": "Ask a question first; then /cite N gives source [N] of the answer.",
    "console_cite_which": "Which source? /cite 1 … /cite {last}.",
    "console_cite_gone": "That source is no longer in the knowledge base; please ask again.",
}

_RU = {
    "sources": "Источники",
    "abstain": "Мои источники не отвечают на этот вопрос, поэтому я не буду гадать.",
    "covers": "Мои источники охватывают",
    "try": "Можно спросить, например",
    "help": (
        "Я отвечаю на вопросы об Организации Договора о коллективной безопасности (ОДКБ), "
        "российско-казахстанских отношениях в условиях санкций и евразийской интеграции — только "
        "дословными цитатами из источников, каждая с нумерованной ссылкой."
    ),
    "no_more": "Других цитат по этому вопросу нет.",
    "more_hint": "ещё цитат: {n}",
    "more_hint_one": "ещё одна цитата",
    "context_before": "До",
    "context_after": "После",
    "link": "ссылка",
    "about_size": "Документов: {documents}, фрагментов: {passages}.",
    "commands": "Команды",
    "help_ask": "/ask вопрос — задать вопрос (в группах)",
    "help_sources": "/sources — все источники с библиографическими ссылками",
    "help_about": "/about — версия и объём базы знаний",
    "help_help": "/help — эта справка",
    "help_buttons": (
        "В личном чате просто напишите вопрос. Под ответом: {more} — следующие цитаты, "
        "{source} — весь фрагмент с контекстом, {cite} — готовая ссылка."
    ),
    "button_more": "Ещё",
    "button_source": "Источник",
    "button_cite": "Цитировать",
    "more": "Ещё ▸",
    "source": "Источник [{n}]",
    "cite": "Цитировать [{n}]",
    "as_text": "Пожалуйста, пришлите вопрос текстом.",
    "expired": "Этот ответ устарел — пожалуйста, спросите ещё раз.",
    "flood": "Вы спрашиваете быстрее, чем я успеваю отвечать. Подождите {s} с и спросите снова.",
    "private": "Извините, это закрытый бот.",
    "error": "Извините, при ответе что-то пошло не так. Попробуйте ещё раз.",
    "maybe_sent": "Telegram не подтвердил отправку ответа вовремя. Возможно, ответ уже пришёл — если нет, спросите ещё раз.",
    "ask_usage": "Напишите вопрос после команды, например: /ask Кто входит в ОДКБ?",
    "unknown": "Я не знаю такой команды. Напишите вопрос или посмотрите /help.",
    "reload_ok": "База знаний обновлена: документов {d}, фрагментов {p}.",
    "reload_bad": "Новая база знаний содержит ошибки, поэтому отвечает прежняя:",
    "admins_only": "Это могут делать только администраторы.",
    "vote_up": "Спасибо!",
    "vote_down": "Спасибо — учтено.",
    "vote_asker": "Оценить ответ может только тот, кто задал вопрос.",
    "ask_comment": "Что вы искали? Ответьте на это сообщение в нескольких словах: так куратор поймёт, что добавить.",
    "comment_hint": "Что вы искали?",
    "store_off": "Вопросы не сохраняются (STORE_QUESTIONS=off), поэтому статистики нет.",
    "stats": "Вопросов за сутки: {d}; за неделю: {w}.\nС ответом (неделя): {answered}.\n👍 среди оценок (неделя): {up}.",
    "stats_top": "Самые частые вопросы без ответа (неделя):",
    "stats_none": "За неделю вопросов без ответа не было.",
    "cmd_start": "Что это за бот и примеры вопросов",
    "cmd_help": "Как спрашивать, команды и кнопки",
    "cmd_sources": "Все источники с библиографическими ссылками",
    "cmd_about": "Версия и объём базы знаний",
    "cmd_ask": "Задать вопрос (в группах)",
    "console_banner": "Консоль csto-bot — задайте вопрос об ОДКБ и евразийской безопасности. /help, /sources, /quit.",
    "console_help": (
        "Напишите вопрос и нажмите Enter. Ответы — дословные цитаты с нумерованными ссылками.\n"
        "  /help      эта справка\n"
        "  /sources   все документы базы знаний с библиографическими ссылками\n"
        "  /more      ещё цитаты по последнему вопросу\n"
        "  /cite N    источник [N] последнего ответа: его собственная ссылка, APA и ГОСТ\n"
        "  /good      последний ответ помог (👍)\n"
        "  /bad [что вы искали]   не помог (👎), с необязательным комментарием\n"
        "  /quit      выход (также Ctrl-D и Ctrl-C)"
    ),
    "console_bye": "До свидания.",
    "console_ask_first": "Сначала задайте вопрос.",
    "console_unknown": "Неизвестная команда {command}. Попробуйте /help.",
    "console_more": "Напишите /more, чтобы получить следующие цитаты.",
    "console_rate_first": "Сначала задайте вопрос; /good и /bad оценивают последний ответ.",
    "console_store_off": "Ничего не сохраняется (STORE_QUESTIONS=off), поэтому оценивать нечего.",
    "console_noted_up": "Учтено: 👍. Спасибо.",
    "console_noted_down": "Учтено: 👎. Спасибо — так куратор видит, что добавить.",
    "console_cite_first": "Сначала задайте вопрос; затем /cite N даст источник [N] ответа.",
    "console_cite_which": "Какой источник? /cite 1 … /cite {last}.",
    "console_cite_gone": "Этого источника больше нет в базе знаний; задайте вопрос ещё раз.",
}

WORDS: Mapping[str, Mapping[str, str]] = MappingProxyType({"en": MappingProxyType(_EN), "ru": MappingProxyType(_RU)})
LANGS: tuple[str, ...] = tuple(WORDS)

# The commands in Telegram's menu, in order; each is described by the key "cmd_<command>".
MENU: tuple[str, ...] = ("start", "help", "sources", "about", "ask")


def words(lang: str) -> Mapping[str, str]:
    """All words of one language (English for a language the bot does not speak)."""
    return WORDS.get(lang, WORDS[DEFAULT])


def word(lang: str, key: str, **values: object) -> str:
    """One text in `lang`, its `{placeholders}` filled; English when `lang` lacks it. A key that
    exists in no language raises KeyError: a typo should fail a test, not reach a user."""
    text = WORDS.get(lang, {}).get(key)
    if text is None:
        text = WORDS[DEFAULT][key]
    return text.format(**values)
