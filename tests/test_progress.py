"""Progress off a terminal: a line a minute and one per finished step, not one per refresh."""

import io
import re

from tqdm import tqdm

from vidseq.utils import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_progress_is_one_line_per_finished_step(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    bar = progress.progress_bar(150, "Training", unit="epoch")
    assert isinstance(bar, progress.ProgressLines)
    for epoch in range(37):  # early stopping after 37 of 150 epochs
        bar.set_postfix({"loss": f"{1 / (epoch + 1):.4f}"}, refresh=False)
        bar.update(1)
    bar.close()
    bar.close()
    (line,) = err.getvalue().splitlines()
    assert re.fullmatch(r"Training: 37/150 epochs in \d\d:\d\d \(loss 0.0270\)", line), line
    assert "\r" not in err.getvalue()


def test_a_long_step_says_where_it_is_every_interval(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    clock = iter(range(0, 1000, 25))  # 25 s per video
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    bar = progress.ProgressLines(10, "Search", unit="run", every=60)
    for k in range(10):
        bar.set_postfix_str(f"run{k}")
        bar.update(1)
    bar.write("run9: finished already")
    bar.close()
    lines = err.getvalue().splitlines()
    assert lines[-1].startswith("Search: 10/10 runs in ") and lines[-1].endswith("(run9)") and 4 <= len(lines) <= 6
    assert "run9: finished already" in lines


def test_terminals_and_notebooks_keep_bars(monkeypatch):
    monkeypatch.setattr("sys.stderr", Terminal())
    bar = progress.progress_bar(3, "Search", unit="run")
    assert isinstance(bar, tqdm)
    bar.close()
    assert not progress.interactive(io.StringIO())
    assert progress.interactive(type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})())
    assert isinstance(progress.progress_bar(3, "Search", show=False), tqdm)  # silent either way
