"""Progress inside stages (accountgraph._progress): shown only when asked, counted always."""

from __future__ import annotations

import logging

from accountgraph._progress import enabled, reporting, task


def test_task_counts_without_showing_anything(capsys):
    with task("rows read", total=10) as t:  # no reporting(): library calls stay silent
        for _ in range(4):
            t.update(2)
    assert t.n == 8
    assert capsys.readouterr().err == ""


def test_reporting_true_shows_a_bar_and_false_hides_it(capsys):
    with reporting(True), task("rows read", total=5, unit="rows") as t:
        t.update(5)
    shown = capsys.readouterr().err
    assert "rows read" in shown
    with reporting(False), task("rows read", total=5, unit="rows") as t:
        t.update(5)
    assert capsys.readouterr().err == ""  # negative control: the same work, hidden


def test_reporting_is_restored_after_the_block(capsys):
    with reporting(True):
        pass
    with task("after", total=1) as t:
        t.update()
    assert capsys.readouterr().err == ""


def test_finished_task_is_logged(caplog):
    with caplog.at_level(logging.DEBUG, logger="accountgraph._progress"), task("dossiers", total=2, unit="dossier") as t:
        t.update(2)
    assert any("dossiers: 2 dossier" in r.getMessage() for r in caplog.records)


def test_enabled_resolves_none_to_the_terminal():
    assert enabled(True) is True and enabled(False) is False
    assert enabled(None) in (True, False)


def test_report_shows_progress_per_dossier(tmp_path, capsys):
    import accountgraph
    from accountgraph.synth import generate

    ds = generate("tiny", seed=0)
    res = accountgraph.detect(ds.events, ds.accounts, seed=0)
    res.report(tmp_path / "r.html", top=2, progress=True)
    assert "dossiers" in capsys.readouterr().err
    res.report(tmp_path / "q.html", top=2, progress=False, overwrite=True)
    assert "dossiers" not in capsys.readouterr().err  # negative control
