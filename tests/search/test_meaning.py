"""The meaning-based half of search: the bridge, the sentence vectors and their store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.core.answer import Core
from bot.search import vector_store
from bot.search.analysis import Analyzer
from bot.search.bridge import TermBridge, is_exact, match_words, strength, title_words, transliterate, truecased
from bot.search.encoder import shared_encoder
from bot.search.meaning import Meaning
from bot.search.semantic import SentenceVectors


@pytest.mark.parametrize(
    ("word", "latin"), [("Самохин", "samokhin"), ("Винокуров", "vinokurov"), ("Щёлково", "shchelkovo"), ("Либман", "libman")]
)
def test_transliteration_spells_russian_names_as_english_texts_do(word: str, latin: str) -> None:
    assert transliterate(word) == latin


@pytest.mark.parametrize(
    ("surface", "sentence_start", "exact"),
    [("2026", False, True), ("EU", False, True), ("ВВП", True, True), ("France", False, True),
     ("Who", True, False), ("soldiers", False, False), ("Сохраняет", True, False)],
)  # fmt: skip
def test_names_acronyms_and_numbers_are_exact(surface: str, sentence_start: bool, exact: bool) -> None:
    assert is_exact(surface, sentence_start) is exact


def test_strength_rises_from_the_floor_to_full() -> None:
    assert strength(0.5) == 0.0 and strength(0.95) == 1.0
    assert 0.0 < strength(0.75) < 1.0


def test_the_bridge_translates_russian_words_to_the_passages_english_terms() -> None:
    analyzer = Analyzer()
    texts = ["The boundary between the two is not clear.", "Sanctions pressure on Russia.", "A textbook on integration."]
    bridge = TermBridge.build(texts, analyzer, shared_encoder())
    near = bridge.nearest(shared_encoder().encode(["граница", "давление", "пицца"]))
    assert near[0] and near[0][0][0] == "boundari"
    assert near[1] and near[1][0][0] == "pressur"
    assert near[2] == []  # nothing in these texts means pizza


def test_sentence_vectors_score_each_sentence_of_a_passage() -> None:
    texts = ["The CSTO was created in 2002. Kazakhstan chaired it in 2024.", "One sentence only."]
    vectors = SentenceVectors.build(texts, texts, shared_encoder())
    assert vectors.whole.shape == (2, 512) and len(vectors.units) == 2
    qv = shared_encoder().encode(["Когда была создана ОДКБ?"])[0]
    first, second = vectors.sentence_scores(qv, 0)
    assert texts[0][first[0] : first[1]] == "The CSTO was created in 2002."
    assert first[2] > second[2]  # the sentence that answers is the closer one
    assert vectors.sentence_scores(qv, 1) == []


def test_the_store_round_trips_and_checks_the_fingerprint(tmp_path: Path) -> None:
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3)}
    vector_store.save(tmp_path, "fp-1", arrays, {"terms": ["x"]})
    loaded = vector_store.load(tmp_path, "fp-1")
    assert loaded is not None and np.array_equal(loaded[0]["a"], arrays["a"]) and loaded[1] == {"terms": ["x"]}
    assert vector_store.load(tmp_path, "fp-2") is None
    vector_store.save(tmp_path, "fp-2", arrays, {})
    assert vector_store.load(tmp_path, "fp-1") is None  # the older generation is gone
    assert len(list(tmp_path.iterdir())) == 1


class CountingEncoder:
    name = "counting"

    def __init__(self) -> None:
        self.texts = 0
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        self.calls += 1
        return shared_encoder().encode(texts)


def test_vectors_are_built_once_then_loaded_from_beside_the_index(
    small_kb: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    index = tmp_path_factory.mktemp("index")
    encoder = CountingEncoder()
    Core.load(small_kb, index_dir=index, encoder=encoder)
    built = encoder.texts
    assert built > 0 and any(p.name.startswith("vectors-") for p in index.iterdir())
    core = Core.load(small_kb, index_dir=index, encoder=encoder)
    assert encoder.texts == built  # nothing embedded again
    calls = encoder.calls
    core.answer("When was the CSTO created?")
    assert encoder.calls == calls + 1  # the question and its words, in one batch


def test_meaning_fingerprint_names_the_encoder() -> None:
    from bot.search.meaning import fingerprint_of

    assert fingerprint_of("x", CountingEncoder()) != fingerprint_of("x", shared_encoder())
    assert isinstance(Meaning, type)


def test_names_are_told_by_the_capitals_the_passages_give_them() -> None:
    own = [
        "Relations with Kazakhstan grew. Trade with Kazakhstan fell.",
        "Sanctions were imposed. The sanctions hurt trade.",
        "Integration slowed. Kazakhstan chaired it.",  # a sentence start says nothing
    ]
    bridge = TermBridge.build(own, Analyzer(), shared_encoder(), own=own)
    assert "kazakhstan" in bridge.names and "sanction" not in bridge.names and "integr" not in bridge.names


@pytest.mark.parametrize(
    ("question", "encoded"),
    [
        ("как одкб адаптировалась к санкциям?", "как ОДКБ адаптировалась к санкциям?"),  # as the glossary writes it
        ("what is the role of the sco?", "what is the role of the SCO?"),
        ("кто президент таджикистана?", "кто президент Таджикистана?"),  # a case form: capitalized
        ("What is the role of the SCO?", "What is the role of the SCO?"),  # the user's own capitals stay
    ],
)
def test_a_question_in_lower_case_reaches_the_encoder_with_its_names_capitalized(core: Core, question: str, encoded: str) -> None:
    analyzer = core.retriever.analyzer
    tokens = analyzer.tokens(question)
    _, words = match_words(question, tokens, core.retriever.knows, analyzer, core.meaning.bridge, core.meaning.encoder)
    assert truecased(question, tokens, words, analyzer) == encoded


@pytest.mark.parametrize(
    "question",
    ["кто президент таджикистана?", "what is the capital of belarus?", "when will uzbekistan join the csto?"],
)
def test_lower_case_near_domain_questions_are_declined_as_their_capitalized_forms_are(core: Core, question: str) -> None:
    assert not core.answer(question).answered
    assert not core.answer(question.capitalize()).answered


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("When was the Collective Security Treaty signed?", {"collect", "secur", "treati"}),
        ("What is the Eurasian Development Bank?", {"develop", "bank"}),  # Eurasian is a name
        ("Is the Treaty on Collective Security in force?", {"treati", "collect", "secur"}),  # joined by "on"
        ("The Treaty, Collective Security and more", {"collect", "secur"}),  # a comma ends a title
        ("What did Kassym-Jomart Tokayev say?", set()),  # unknown words only: a name
        ("Who is the President of France?", set()),  # one capitalized word is not a title
    ],
)
def test_capitalized_words_of_a_title_are_told_from_names(question: str, title: set[str]) -> None:
    tokens = Analyzer().tokens(question)
    common = {"collect", "secur", "develop"}.__contains__
    found = title_words(question, tokens, lambda i: tokens[i].term == "eurasian", common)
    assert {tokens[i].term for i in found} == title


@pytest.mark.parametrize(
    ("question", "surface", "exact"),
    [
        ("What is the Eurasian Development Bank?", "Development", False),
        ("What is the Eurasian Development Bank?", "Bank", True),  # nothing in the passages means it
        ("Tell me about the history of the Roman Empire", "Roman", True),  # Roman ~ literature is no translation
        ("What is the Eurasian Development Bank?", "Eurasian", True),
    ],
)
def test_a_title_word_is_bridged_only_when_the_passages_have_it_or_its_translation(
    core: Core, question: str, surface: str, exact: bool
) -> None:
    analyzer = core.retriever.analyzer
    tokens = analyzer.tokens(question)
    _, words = match_words(question, tokens, core.retriever.knows, analyzer, core.meaning.bridge, core.meaning.encoder)
    assert next(w for w in words if w.surface == surface).exact is exact
