"""Quote selection: which verbatim run of sentences a passage is quoted by."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.core.quotes import asks_for_date, asks_for_quantity, best_excerpt, has_quantity, profile
from bot.search.analysis import Analyzer
from tests.conftest import ROOT

A = Analyzer()
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet".split()
# A sentence that adds no word of the question before the one that has them all: it must not be quoted.
TEXT = f"Intro sentence without terms. The {' '.join(WORDS[:9])} lead. The {' '.join(WORDS)} tail. Closing words here."


def _weights() -> dict[str, float]:
    # Weights whose float sum depends on the order of addition.
    return {t: 0.1 * (k + 1) + 0.01 / (k + 3) for k, w in enumerate(WORDS) for t in A.terms(w)}


def test_a_sentence_that_adds_nothing_is_left_out() -> None:
    weights = _weights()
    excerpt = best_excerpt(TEXT, profile(TEXT, A), list(weights), weights.__getitem__, max_chars=1000, whole_below=0)
    assert excerpt.text.startswith("…The alpha") and "tail." in excerpt.text and "lead" not in excerpt.text


@pytest.mark.parametrize(
    ("whole_below", "expected_start"),
    [(0, "…The alpha"), (1000, "Intro sentence")],  # a short passage is quoted whole
)
def test_short_passages_are_quoted_whole(whole_below: int, expected_start: str) -> None:
    weights = _weights()
    excerpt = best_excerpt(TEXT, profile(TEXT, A), list(weights), weights.__getitem__, max_chars=1000, whole_below=whole_below)
    assert excerpt.text.startswith(expected_start)


def test_meaning_picks_between_sentences_with_the_same_words() -> None:
    text = "The alpha sentence comes first. Then another alpha sentence. The last words."
    prof = profile(text, A)
    second = prof.sentences[1]

    def meaning(start: int, end: int) -> float:
        return 0.5 if start <= second.start and second.end <= end else 0.1

    excerpt = best_excerpt(text, prof, A.terms("alpha"), lambda t: 1.0, max_chars=1000, whole_below=0, meaning=meaning)
    assert excerpt.text == "…Then another alpha sentence. …"


@pytest.mark.slow  # twelve interpreters
def test_the_quotation_does_not_depend_on_the_hash_seed() -> None:
    """Python orders a set's strings by PYTHONHASHSEED: the same question must get the same quotation
    in every process (CI once saw two runs of `ask` quote differently)."""
    script = (
        "from tests.core.test_quotes import A, TEXT, _weights\n"
        "from bot.core.quotes import best_excerpt, profile\n"
        "w = _weights()\n"
        "print(best_excerpt(TEXT, profile(TEXT, A), list(w), w.__getitem__, max_chars=1000, whole_below=0).text)\n"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, env={"PYTHONHASHSEED": str(seed)}, stdout=subprocess.PIPE, text=True
        )
        for seed in range(12)
    ]
    outputs = {run.communicate(timeout=60)[0] for run in runs}
    assert len(outputs) == 1 and "lead" not in outputs.pop()


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("Sagindikov, R. E. (2020) Diplomatic relations // Bulletin. No. 3. Pp. 140–147.", False),  # year, issue, pages
        ("Minsk: Ark. 137 p. (In Russ.)", False),
        ("Collective Security Treaty Organization (2002–2009)", False),
        ("Consequences of the Sanctions Policy (2014 – Present)", False),
        ("The five members of the Union", True),
        ("It has 18 million people", True),
        ("a force of 2,500 troops", True),
    ],
)
def test_a_quantity_is_not_a_year_or_a_citations_locator(text: str, quantity: bool) -> None:
    assert has_quantity(text) is quantity


@pytest.mark.parametrize(
    ("question", "date", "quantity"),
    [
        ("When was the CSTO created?", True, False),
        ("В каком году создана ОДКБ?", True, False),
        ("What is the population of Kazakhstan?", False, True),
        ("Сколько стран в ОДКБ?", False, True),
        ("Who are the members of the CSTO?", False, False),
    ],
)
def test_date_and_quantity_questions(question: str, date: bool, quantity: bool) -> None:
    assert (asks_for_date(question), asks_for_quantity(question)) == (date, quantity)
