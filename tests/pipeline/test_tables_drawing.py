"""Figures drawn in the child process are the same bytes as drawn in-process, and a failing
child never loses a figure."""

import pytest

from pipeline.tables import drawing
from pipeline.tables.core import Figure
from pipeline.tables.png import render_png


def _figures() -> list[Figure]:
    line = dict(label="houlsby", x=[100, 1000], y=[61.0, 70.5], yerr=[1.0, 0.5])
    return [Figure("two panels", [dict(title="m sst2", xlabel="training samples", ylabel="dev score",
                                       xscale="log", lines=[line]),
                                  dict(title="m rte", xlabel="dropped layers", ylabel="ms / step",
                                       lines=[dict(label="full", x=[0, 1], y=[2.0, 1.5])],
                                       hlines=[dict(label="2 FF models", y=3.0)])]),
            Figure("empty")]


@pytest.mark.parametrize("in_process,warm_up", [(False, False), (False, True), (True, False)])
def test_child_and_in_process_draw_the_same_bytes(in_process, warm_up):
    expected = [render_png(f, "not run") for f in _figures()]
    with drawing.Drawer(in_process=in_process) as drawer:
        drawer.start(warm_up=warm_up)  # a warmed-up child (a cold build's) draws the same bytes
        jobs = [drawer.submit(f, "not run") for f in _figures()]
        got = drawer.finish()
    assert [got[j] for j in jobs] == expected
    assert drawer.drawn == 2 and (drawer.child is None) == in_process


def test_a_failing_child_is_reported_and_its_figures_drawn_here(monkeypatch):
    # a child that claims every job it is sent and dies without drawing any
    monkeypatch.setattr(drawing, "CHILD", "import sys; from pathlib import Path; "
                        "from pipeline.tables.drawing import _take; "
                        "[_take(Path(sys.argv[1]), int(n)) for n in sys.stdin]; sys.exit(3)")
    figs = _figures()
    with drawing.Drawer(in_process=False) as drawer:
        jobs = [drawer.submit(f, "not run") for f in figs]
        with pytest.warns(UserWarning, match="exited with 3"):
            got = drawer.finish()
    assert [got[j] for j in jobs] == [render_png(f, "not run") for f in figs]
