"""A short `make load`: the real bot, 300 messages from 30 users and 3 groups in about 8 s."""

from __future__ import annotations

from pathlib import Path

from tests.support.load import report, run


def test_short_load_loses_nothing_and_answers_nothing_twice(tmp_path: Path) -> None:
    result = run(messages=300, users=30, groups=3, pace=8, drain=120, workdir=tmp_path, say=lambda s: None)
    report(result, soak=False)  # shown with -s
    assert len(result.needing) > 200 and any(m.kind == "chatter" for m in result.messages)
    assert result.lost == 0 and result.duplicated == 0, result.line()
    assert result.wrong == 0 and result.chatter_answered == 0 and result.unexpected == []
    assert result.unconfirmed == 0 and result.violations == 0 and result.log_errors == [] and result.exit_code == 0
    assert result.store_lost == 0 and result.store_duplicated == 0 and result.store_rows > 200, result.line()
    assert result.ok
