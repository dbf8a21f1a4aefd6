"""The index fingerprint covers everything that shapes the index: knowledge, analysis, code, parameters."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from bot.knowledge import load, model
from bot.knowledge.load import load_knowledge
from bot.search import aliases, analysis, bm25, retriever, stopwords
from bot.search.aliases import AliasTable
from bot.search.analysis import Analyzer
from bot.search.retriever import INDEX_CODE, Retriever, fingerprint_of


@pytest.mark.parametrize(
    "shaper",
    [
        load._passages,  # passage building
        model.Document.meta_passage,  # the metadata entry
        model.KnowledgeBase,  # which passages, in which order
        retriever.indexed_text,  # what the index sees of a passage
        analysis.Analyzer,
        stopwords,
        aliases.AliasTable,
        bm25.BM25Index,
    ],
)
def test_the_code_that_shapes_the_index_is_covered(shaper: object) -> None:
    module = inspect.getmodule(shaper)
    assert module is not None and module.__file__ is not None
    package, _, _ = module.__name__.rpartition(".")
    assert (package, Path(module.__file__).name) in INDEX_CODE


def test_a_change_to_any_covered_file_changes_the_fingerprint(small_kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = load_knowledge(small_kb)
    analyzer = Analyzer(AliasTable(kb.aliases))
    before = fingerprint_of(kb, analyzer)
    real = retriever._source
    for changed in INDEX_CODE:

        def edited(package: str, name: str, changed: tuple[str, str] = changed) -> bytes:
            return real(package, name) + (b"\n# edited\n" if (package, name) == changed else b"")

        with monkeypatch.context() as m:
            m.setattr(retriever, "_source", edited)
            retriever.code_fingerprint.cache_clear()
            assert fingerprint_of(kb, analyzer) != before, changed
        retriever.code_fingerprint.cache_clear()
    assert fingerprint_of(kb, analyzer) == before  # and stable otherwise


def test_parameters_are_covered(small_kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = load_knowledge(small_kb)
    analyzer = Analyzer(AliasTable(kb.aliases))
    before = fingerprint_of(kb, analyzer)
    for name, value in (("VARIANT", "okapi"), ("K1", 1.5), ("B", 0.5)):
        with monkeypatch.context() as m:
            m.setattr(retriever, name, value)
            assert fingerprint_of(kb, analyzer) != before, name


def test_a_stale_index_is_rebuilt_not_loaded(small_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = load_knowledge(small_kb)
    index_dir = tmp_path / "index"
    Retriever.build(kb, index_dir)
    loaded: list[object] = []
    real_load = bm25.BM25Index.load

    def spy(directory: Path, fingerprint: str) -> object:
        index = real_load(directory, fingerprint)
        loaded.append(index)
        return index

    monkeypatch.setattr(bm25.BM25Index, "load", staticmethod(spy))
    Retriever.build(kb, index_dir)
    assert loaded[0] is not None  # same code, same knowledge: the saved index is used
    loaded.clear()
    monkeypatch.setattr(retriever, "code_fingerprint", lambda: "other code")
    Retriever.build(kb, index_dir)
    assert loaded[0] is None  # the code changed: the saved index is not used
