from __future__ import annotations

import pytest

from bot.search.aliases import AliasTable
from bot.search.analysis import Analyzer, normalize, stem

ALIASES = AliasTable(
    [
        ["CSTO", "Collective Security Treaty Organization", "ОДКБ"],
        ["U.S.", "US", "United States", "США"],
        ["N.Ex.T", "Novelty. Experiment. Traditions"],
        ["Kazakhstan", "Kazakh", "Казахстан"],
    ]
)
A = Analyzer(ALIASES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ёлка", "елка"),
        ("ＣＳＴＯ", "csto"),  # NFKC folds full-width letters
        ("Kazakhstan’s", "kazakhstan's"),
        ("MIXED Case", "mixed case"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("sanctions", "sanction"), ("членами", "член"), ("санкциях", "санкц"), ("2024", "2024")],
)
def test_stem_by_script(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Who are the members of the CSTO?", ["member", "~csto"]),
        ("the U.S. wants", ["~us", "want"]),
        ("US policy", ["~us", "polici"]),
        ("us and them", []),  # the pronoun is a stop word; only capitals make it an acronym
        ("Novelty. Experiment. Traditions (N.Ex.T)", ["~next", "~next"]),
        ("Collective Security Treaty Organization (CSTO)", ["~csto", "~csto"]),
        ("Кто написал статью об ОДКБ?", ["написа", "стат", "~csto"]),
        ("Kazakh-Russian relations", ["~kazakhstan", "russian", "relat"]),
        ("WHO WON THE WORLD CUP", ["won", "world", "cup"]),  # shouting is not a row of acronyms
        ("e.g. military- political", ["militari", "polit"]),
        ("", []),
        ("?!… — «»", []),
    ],
)
def test_terms(text: str, terms: list[str]) -> None:
    assert A.terms(text) == terms


def test_token_spans_point_at_the_original_text() -> None:
    text = "The Collective Security Treaty Organization (CSTO) and Kazakhstan’s role"
    spans = {text[t.start : t.end]: t.term for t in A.tokens(text)}
    assert spans == {
        "Collective Security Treaty Organization": "~csto",
        "CSTO": "~csto",
        "Kazakhstan’s": "~kazakhstan",
        "role": "role",
    }


def test_longest_alias_wins() -> None:
    table = AliasTable([["Russia", "Russian"], ["Russian Federation", "РФ"]])
    assert Analyzer(table).terms("the Russian Federation") == ["~russian_feder"]
