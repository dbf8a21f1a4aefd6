"""The bot's words: every key in both languages, with the same placeholders, and lookups that fall back."""

from __future__ import annotations

import ast
import re
import string
import sys
from pathlib import Path

import pytest

from bot.words import DEFAULT, LANGS, MENU, WORDS, word, words

ROOT = Path(__file__).resolve().parent.parent


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_languages_have_every_key() -> None:
    assert set(LANGS) == {"en", "ru"}
    assert set(WORDS["en"]) == set(WORDS["ru"])


@pytest.mark.parametrize("key", sorted(WORDS[DEFAULT]))
def test_placeholders_match_across_languages(key: str) -> None:
    names = {lang: _placeholders(WORDS[lang][key]) for lang in LANGS}
    assert len(set(map(frozenset, names.values()))) == 1, names
    for lang in LANGS:
        word(lang, key, **dict.fromkeys(names[lang], "x"))  # formats cleanly: no stray braces


def test_lookup_falls_back_to_english_and_rejects_unknown_keys() -> None:
    assert word("de", "sources") == "Sources" and words("de") is WORDS["en"]
    assert word("ru", "source", n=2) == "Источник [2]"
    with pytest.raises(KeyError):
        word("en", "no-such-key")


def test_the_command_menu_is_described_in_both_languages() -> None:
    for lang in LANGS:
        assert all(WORDS[lang][f"cmd_{c}"] for c in MENU)


def test_every_key_used_in_code_and_templates_exists() -> None:
    used: set[str] = set()
    for path in (ROOT / "bot" / "templates").glob("*.j2"):
        used |= set(re.findall(r"""\bt\("([a-z_]+)"\)?""", path.read_text(encoding="utf-8")))
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("word", "text_for")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                used.add(str(node.args[1].value))
    assert used and used <= set(WORDS[DEFAULT]), used - set(WORDS[DEFAULT])


def test_no_language_branches_left_in_templates() -> None:
    for path in (ROOT / "bot" / "templates").glob("*.j2"):
        assert "lang ==" not in path.read_text(encoding="utf-8"), path.name


def test_the_words_import_only_the_standard_library() -> None:
    """So that any layer, the answer core included, may take its words from here."""
    tree = ast.parse((ROOT / "bot" / "words.py").read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {m.split(".")[0] for m in imported} <= set(sys.stdlib_module_names) | {"__future__"}, imported
