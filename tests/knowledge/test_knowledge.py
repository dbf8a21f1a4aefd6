from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import bundled_knowledge
from bot.core.answer import Core
from bot.core.quotes import sentences
from bot.knowledge.load import load_knowledge
from bot.knowledge.model import reference_entry_text
from tests.conftest import MINIMAL_FRONT, run_cli, write_doc

GOOD_BODY = "## One\nA sentence about the CSTO.\n"


def test_bundled_knowledge_is_valid_and_complete() -> None:
    kb = load_knowledge(bundled_knowledge())
    ids = {d.meta.id for d in kb.documents}
    assert ids == {"samokhin-2025-csto-sanctions", "eurasian-security-excerpts"}
    article = next(d for d in kb.documents if d.meta.id == "samokhin-2025-csto-sanctions")
    labels = [p.label for p in article.passages]
    assert labels[0] == "Title" and "About the Author" in labels and "Citation" in labels
    assert [lab for lab in labels if lab.startswith("Reference")] == [f"Reference {i}" for i in range(1, 21)]
    assert article.meta.authors == ["Samokhin, Ilya R."] and article.meta.year == 2025 and article.meta.url is None
    excerpts = next(d for d in kb.documents if d.meta.id == "eurasian-security-excerpts")
    assert excerpts.meta.authors == [] and excerpts.meta.year is None and excerpts.meta.url is None
    assert [p.label for p in excerpts.passages] == [f"Excerpt {i}" for i in range(1, 11)]
    # Stable ids: document id + ordinal; no broken line breaks inside sentences.
    assert excerpts.passages[2].id == "eurasian-security-excerpts:3"
    assert "rebel takeover." in excerpts.passages[2].text


def test_passages_are_verbatim_from_the_seeds() -> None:
    seeds = Path(__file__).resolve().parents[3] / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("the seeds are not beside this checkout")
    seed_text = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in seeds.glob("*.txt"))
    seed_text = seed_text.replace("\n", " ").replace(" ", "")
    for passage in load_knowledge(bundled_knowledge()).passages:
        if passage.is_meta:
            continue  # the metadata entry quotes the front matter's citation
        for span in sentences(passage.text):
            sentence = passage.text[span.start : span.end].replace("…", " ")
            words = "".join(sentence.split()).replace("2nd", "2<sup>nd</sup>")
            assert words in seed_text, (passage.id, sentence)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a.md": "no front matter\n"}, "a.md:1: missing front matter"),
        ({"a.md": "---\nid: a\n"}, "a.md:1: front matter is not closed"),
        ({"a.md": "---\nid: [unclosed\n---\nbody\n"}, "a.md:2: bad front matter"),
        (
            {
                "a.md": "---\n"
                + MINIMAL_FRONT.format(id="a").replace("citation: A small test document (fixture)\n", "")
                + "---\n"
                + GOOD_BODY
            },
            "a.md:1: missing required field 'citation'",
        ),
        ({"a.md": "---\n" + MINIMAL_FRONT.format(id="a").strip() + "\nyear: soon\n---\n" + GOOD_BODY}, "a.md:7: field 'year'"),
        (
            {"a.md": "---\n" + MINIMAL_FRONT.format(id="a").strip() + "\nauthor: X\n---\n" + GOOD_BODY},
            "a.md:7: unknown field 'author'",
        ),
        ({"a.md": "---\n" + MINIMAL_FRONT.format(id="a").strip() + "\n---\n\n"}, "a.md:8: empty body"),
        (
            {"a.md": "---\n" + MINIMAL_FRONT.format(id="a").strip() + "\n---\n## Empty\n\n## Full\ntext\n"},
            "a.md:8: passage 'Empty' is empty",
        ),
        (
            {
                "a.md": "---\n" + MINIMAL_FRONT.format(id="x").strip() + "\n---\n" + GOOD_BODY,
                "b.md": "---\n" + MINIMAL_FRONT.format(id="x").strip() + "\n---\n" + GOOD_BODY,
            },
            "b.md:2: duplicate id 'x' (also in a.md)",
        ),
        ({"a.md": b"---\nid: a\n\xff\n---\n"}, "a.md:3: bytes that are not UTF-8"),
        (
            {"a.md": "---\n" + MINIMAL_FRONT.format(id="a").strip() + "\n---\n" + GOOD_BODY, "aliases.yaml": "groups: [[a, b]\n"},
            "aliases.yaml:2: broken alias file",
        ),
        (
            {
                "a.md": "---\n" + MINIMAL_FRONT.format(id="a").strip() + "\n---\n" + GOOD_BODY,
                "aliases.yaml": "groups:\n  - [lonely]\n",
            },
            "aliases.yaml:2: an alias group must be a list of at least two names",
        ),
        (
            {
                "a.md": "---\n" + MINIMAL_FRONT.format(id="a").strip() + "\n---\n" + GOOD_BODY,
                "aliases.yaml": "groups:\n  - [CSTO, ОДКБ]\n  - [csto, x]\n",
            },
            "aliases.yaml:3: alias 'csto' is already in the group on line 2",
        ),
        ({}, "no documents"),
    ],
)
def test_check_reports_path_line_message(tmp_path: Path, files: dict[str, str | bytes], expected: str) -> None:
    for name, content in files.items():
        target = tmp_path / name
        target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    problems = [str(p).replace(str(tmp_path) + "/", "") for p in Core.check(tmp_path)]
    assert any(expected in p for p in problems), problems


@pytest.mark.slow  # two CLI processes
def test_check_command_exit_codes_and_no_traceback(tmp_path: Path, small_kb: Path) -> None:
    ok = run_cli("check", "--knowledge", str(small_kb))
    assert ok.returncode == 0 and "ok" in ok.stdout
    write_doc(tmp_path, "bad.md", "id: Bad Id\ntitle: t\nauthors: []\nlanguage: en\ncitation: c", "## x\ny\n")
    bad = run_cli("check", "--knowledge", str(tmp_path))
    assert bad.returncode == 1
    assert f"{tmp_path}/bad.md:2: field 'id'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_startup_refuses_an_invalid_knowledge_base(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("not a document", encoding="utf-8")
    result = run_cli("ask", "--knowledge", str(tmp_path), "What is the CSTO?")
    assert result.returncode == 2
    assert "a.md:1: missing front matter" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("label", "entry"),
    [("Reference 12", True), ("References › Books", True), ("Источник 3", True), ("Список литературы", True),
     ("Excerpt 4", False), ("Abstract — Results", False)],
)  # fmt: skip
def test_reference_list_entries_carry_what_they_are(label: str, entry: bool) -> None:
    indexed = reference_entry_text(label, "Ageev, A. I. (2024) The effectiveness of the unified agro-industrial policy.")
    assert (indexed is not None) is entry
    if indexed is not None:
        assert indexed.startswith(label) and "cited" in indexed and indexed.endswith("agro-industrial policy.")
