"""Progress bars: one per long step (embedding, cropping, a search), on stderr.

The bar over training epochs is a Keras callback: `vidseq.training.callbacks.EpochBar`.
"""

from __future__ import annotations

from tqdm import tqdm  # plain tqdm in notebooks too: tqdm.auto needs ipywidgets there, else escape codes fill them


def progress_bar(total: int, description: str, unit: str = "video", show: bool = True) -> tqdm:
    """A tqdm bar (a silent one when `show` is False), left in place when done."""
    return tqdm(total=total, desc=description, unit=unit, disable=not show)
