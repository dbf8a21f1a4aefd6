from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.answer import Core, clean_question, language_of
from bot.core.evaluate import evaluate, load_questions
from bot.core.models import Kind
from tests.conftest import EVAL, MINIMAL_FRONT, write_doc


def _unellipsized(text: str) -> str:
    return text.removeprefix("…").removesuffix(" …").removesuffix("…")


def test_members_question_is_answered_with_verbatim_cited_quotes(core: Core) -> None:
    answer = core.answer("Who are the members of the CSTO?")
    assert answer.answered and answer.kind is Kind.ANSWER
    assert 1 <= len(answer.quotes) <= core.limits.max_quotes
    for quote in answer.quotes:
        passage = core.passage(quote.passage_id)
        assert passage is not None
        assert _unellipsized(quote.text) in passage.text  # verbatim
        assert quote.source.id == passage.doc_id
        assert any(s == quote.source for s in answer.sources)
    # Sources are numbered 1, 2, … in order of first use, each once.
    first_use = list(dict.fromkeys(q.n for q in answer.quotes))
    assert first_use == list(range(1, len(first_use) + 1)) == [s.n for s in answer.sources]


@pytest.mark.parametrize(
    "question",
    ["Who won the 2018 World Cup?", "What is the speed of light?", "Сколько стоит билет на поезд?", "pizza"],
)
def test_out_of_scope_questions_abstain_with_suggestions(core: Core, question: str) -> None:
    answer = core.answer(question)
    assert answer.kind is Kind.ABSTAIN and not answer.answered and not answer.quotes
    assert answer.suggestions and answer.topics


@pytest.mark.parametrize("question", ["", "   ", "hello", "Help", "Привет!", "/help", "?!", "🙂", "the of and"])
def test_greetings_help_and_empty_input_get_help_not_a_search(core: Core, question: str) -> None:
    answer = core.answer(question)
    assert answer.kind is Kind.HELP and not answer.quotes
    assert all(core.answer(s).answered for s in answer.suggestions)  # the examples really work


def test_russian_question_reaches_english_passages(core: Core) -> None:
    answer = core.answer("Кто написал статью об ОДКБ и санкциях?")
    assert answer.answered and answer.lang == "ru"
    assert any("Samokhin" in q.text for q in answer.quotes)


def test_more_continues_where_the_answer_stopped(core: Core) -> None:
    first = core.answer("How does the CSTO operate under sanctions?")
    assert first.more > 0
    second = core.answer(first.question, offset=len(first.quotes))
    assert second.offset == len(first.quotes)
    assert {q.passage_id for q in first.quotes}.isdisjoint(q.passage_id for q in second.quotes)
    assert second.sources[0].n == 1  # each message numbers its own sources
    beyond = core.answer(first.question, offset=10_000)
    assert beyond.answered and not beyond.quotes and beyond.more == 0


def test_answer_length_is_bounded(core: Core) -> None:
    answer = core.answer("CSTO Kazakhstan Russia sanctions integration security cooperation")
    assert sum(len(q.text) for q in answer.quotes) <= core.limits.max_answer_chars
    assert all(len(q.text) <= core.limits.max_quote_chars + 4 for q in answer.quotes)


def test_passage_view_has_neighbours(core: Core) -> None:
    view = core.passage_view("eurasian-security-excerpts:2")
    assert view is not None and view.before and view.after and view.locator == "Excerpt 2"
    first = core.passage_view("eurasian-security-excerpts:1")
    assert first is not None and first.before is None
    assert core.passage_view("nope:1") is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("a\u200bb", "ab"), ("x\u202ey", "xy"), ("line\nbreak\ttab", "line break tab"), ("  spaced  ", "spaced")],
)
def test_clean_question_drops_invisible_characters(raw: str, clean: str) -> None:
    assert clean_question(raw) == clean


def test_small_knowledge_base_end_to_end(small_kb: Path, tmp_path: Path) -> None:
    core = Core.load(small_kb, index_dir=tmp_path / "idx")
    answer = core.answer("When was the ОДКБ created?")
    assert answer.answered
    assert answer.quotes[0].text == "The Collective Security Treaty Organization was created in 2002."
    spans = [answer.quotes[0].text[a:b] for a, b in answer.quotes[0].highlights]
    assert spans == ["Collective Security Treaty Organization", "created"]


USERS = EVAL.with_name("questions_users.jsonl")


@pytest.mark.skipif(not EVAL.exists(), reason="the development questions are not beside this checkout")
def test_development_questions_meet_the_bar(core: Core) -> None:
    report = evaluate(core, load_questions(EVAL))
    assert report.hit3 / report.answerable >= 0.9, report.misses
    assert report.abstained_right == report.unanswerable, report.misses


# What both development files together reach today, per language (docs/retrieval.md): a floor
# that a change must not lower. Abstention recall is short of the 95%: two near-domain
# questions ("What is the population of Kazakhstan?", "Кто президент Таджикистана?") are answered
# with passages that use their words; see docs/retrieval.md, "What it cannot do yet".
FLOORS = {  # issue 10's bar, per language
    "en": {"hit1": 0.85, "hit3": 0.95, "precision": 0.95, "recall": 0.95},
    "ru": {"hit1": 0.85, "hit3": 0.95, "precision": 0.95, "recall": 0.95},
}


@pytest.mark.skipif(not USERS.exists(), reason="the development questions are not beside this checkout")
@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_both_development_files_per_language(core: Core, lang: str) -> None:
    report = evaluate(core, load_questions(EVAL) + load_questions(USERS)).by_lang[lang]
    floor = FLOORS[lang]
    assert report.hit1 / report.answerable >= floor["hit1"], report.misses
    assert report.hit3 / report.answerable >= floor["hit3"], report.misses
    assert report.abstain_precision >= floor["precision"], report.misses
    assert report.abstain_recall >= floor["recall"], report.misses


def _normalized(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(not USERS.exists(), reason="the development questions are not beside this checkout")
def test_every_quotation_of_every_eval_answer_is_the_sources_own_words(core: Core) -> None:
    checked = 0
    for item in load_questions(EVAL) + load_questions(USERS):
        answer = core.answer(str(item["q"]))
        for quote in answer.quotes:
            passage = core.passage(quote.passage_id)
            assert passage is not None
            for piece in quote.text.split("…"):  # "…" marks a cut; every piece between is verbatim
                assert _normalized(piece) in _normalized(passage.text), (item["id"], piece)
            checked += 1
    assert checked > 60


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        # No word of these is in the sources or the glossary: they are reached by meaning.
        ("Как ОДКБ адаптировалась к санкционному давлению?", "samokhin-2025-csto-sanctions:6"),
        ("За что Россия борется в Казахстане?", "eurasian-security-excerpts:10"),
        ("Has the alliance turned into a tool of diplomacy between its members?", "eurasian-security-excerpts:6"),
    ],
)
def test_paraphrases_are_answered_by_meaning(core: Core, question: str, passage: str) -> None:
    answer = core.answer(question)
    assert answer.answered, answer.evidence
    assert passage in [q.passage_id for q in answer.quotes]


@pytest.mark.parametrize(
    "question",
    ["How many soldiers serve in the CSTO forces?", "Who will chair the CSTO in 2026?", "Какой ВВП у Армении?"],
)
def test_near_domain_questions_the_sources_do_not_answer_are_declined(core: Core, question: str) -> None:
    answer = core.answer(question)
    assert not answer.answered
    assert answer.evidence is not None and answer.evidence.confidence < answer.evidence.threshold


def test_a_russian_abstention_suggests_russian_questions_that_work(core: Core) -> None:
    answer = core.answer("Какая погода в Москве?")
    assert not answer.answered and answer.lang == "ru"
    assert answer.suggestions and all(language_of(s) == "ru" for s in answer.suggestions)
    assert all(core.answer(s).answered for s in answer.suggestions)


def test_the_evidence_explains_the_decision(core: Core) -> None:
    answer = core.answer("What do activists in Kyrgyzstan criticise?")
    assert answer.evidence is not None and answer.answered
    assert answer.evidence.confidence >= answer.evidence.threshold
    assert "critic" in dict(answer.evidence.bridged)["criticise"]  # no passage says "criticise"
    declined = core.answer("What is the speed of light?")
    assert declined.evidence is not None and "light" in declined.evidence.unknown


@pytest.mark.parametrize(
    "question",
    [
        "Who are the members of the CSTO?",
        "Which countries are members of the CSTO?",
        "Кто является членами ОДКБ?",
        "Какие страны входят в ОДКБ?",
    ],
)
def test_list_questions_quote_the_enumeration_first(core: Core, question: str) -> None:
    first = core.answer(question).quotes[0].text
    assert "Armenia, Belarus, Kazakhstan, Kyrgyzstan, Russia, and Tajikistan" in first


@pytest.mark.parametrize(
    ("question", "is_list"),
    [("Who are the members of the CSTO?", True), ("Which states joined?", True), ("Кто входит в ОДКБ?", True),
     ("What should CSTO countries do about new threats?", False), ("When was the CSTO created?", False)],
)  # fmt: skip
def test_list_question_detection(question: str, is_list: bool) -> None:
    from bot.core.quotes import asks_for_list

    assert asks_for_list(question) is is_list


def test_extra_questions_meet_the_bar(core: Core) -> None:
    """A second, broader set in the same format (English and Russian, facts, meta, references, keywords)."""
    report = evaluate(core, load_questions(Path(__file__).parents[1] / "data" / "questions_extra.jsonl"))
    assert report.hit3 / report.answerable >= 0.9, report.misses
    assert report.abstained_right == report.unanswerable, report.misses


@pytest.fixture
def names_kb(tmp_path: Path) -> Path:
    (tmp_path / "kb").mkdir()
    front = MINIMAL_FRONT
    write_doc(
        tmp_path / "kb",
        "economy.md",
        front.format(id="economy"),
        "## One\nTajikistan's economy grew quickly thanks to remittances from workers abroad.\n\n"
        "## Two\nThe President of Kazakhstan received the delegation in Astana.\n",
    )
    write_doc(
        tmp_path / "kb",
        "study.md",
        front.format(id="study").replace("authors: []", 'authors: ["Ivanov, Petr"]'),
        "## Methods\nThe methods of the study are content analysis of treaties and interviews with diplomats.\n",
    )
    (tmp_path / "kb" / "aliases.yaml").write_text("groups: []\n", encoding="utf-8")
    return tmp_path / "kb"


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("Who is the president of Tajikistan?", False),  # Tajikistan without a president; a president of elsewhere
        ("How did the economy of Tajikistan grow?", True),
        ("What are the methods of the study by Ivanov?", True),  # his name is on his document, not in its passage
    ],
)
def test_a_passage_must_speak_of_what_is_asked_not_only_of_a_name(
    names_kb: Path, tmp_path: Path, question: str, answered: bool
) -> None:
    core = Core.load(names_kb, index_dir=tmp_path / "index")
    answer = core.answer(question)
    assert answer.answered is answered, answer.evidence
    if not answered:
        assert answer.evidence is not None and answer.evidence.confidence < answer.evidence.threshold


@pytest.mark.parametrize(
    ("question", "reference_first"),
    [
        ("ОДКБ", False),  # a topic: the sources' text, not their reference list
        ("What is the CSTO?", False),
        ("Which work by Ageev is cited?", True),  # about the works cited
        ("Что писал Малышев?", True),
    ],
)
def test_reference_lists_answer_questions_about_works(core: Core, question: str, reference_first: bool) -> None:
    answer = core.answer(question)
    assert answer.answered
    first = core.passage(answer.quotes[0].passage_id)
    assert first is not None and first.is_reference is reference_first
