"""The experiment notebooks run top to bottom headlessly (second tier: minutes each)."""

import os
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_data_frames_faces.ipynb", "05_compare_saved_models.ipynb"])
def test_notebook_runs(name, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    # The notebooks read their folders from these (defaults: the repository's data/ and saved_models/).
    monkeypatch.setenv("VIDSEQ_DATA_DIR", str(tmp_path / "demo"))
    monkeypatch.setenv("VIDSEQ_OTHER_DATA_DIR", str(tmp_path / "demo_other"))
    monkeypatch.setenv("VIDSEQ_SAVE_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("VIDSEQ_CACHE", str(tmp_path / "cache"))
    book = nbformat.read(EXPERIMENTS / name, as_version=4)
    NotebookClient(book, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(EXPERIMENTS)}}).execute()
    errors = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    if name.startswith("05"):
        assert any(p.name == "leaderboard.png" for p in (tmp_path / "runs").iterdir())
        assert list((tmp_path / "runs").glob("*/eval_demo_other-all.json"))
    assert os.listdir(tmp_path / "demo")
