"""Search: train a grid (or a random sample) of configurations as saved runs; resumable.

    >>> from vidseq.runs.search import search
    >>> search("data/demo", num_frames=[16], heads=[{"rnn": None}], weights="random")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from vidseq.runs.folders import file_safe
from vidseq.runs.leaderboard import compare_saved_models
from vidseq.training.config import RunConfig
from vidseq.training.families import family_for
from vidseq.training.seed_compat import translate_seed_options
from vidseq.training.train_config import CALLBACK_DEFAULTS, callback_settings
from vidseq.utils.checks import check_int
from vidseq.utils.progress import progress_bar

_NOT_IN_RUN_IDENTITY = ("verbose", "save_dir", "cache_dir", "run_name", "distribution")  # same results


def search(
    data_dir: str | os.PathLike,
    num_frames: Sequence[int] = (16,),
    img_model_names: Sequence[str] = ("MobileNetV2",),
    heads: Sequence[dict] = ({},),
    n_trials: int | None = None,
    seed: int = 0,
    **options: Any,
) -> pd.DataFrame:
    """Train every combination of `num_frames` x `img_model_names` x `heads` as a saved run.

    A head is a dict of `train_test_classifier` options (head layers, dropout, optimizer,
    learning rate, ...); a list value in it is a choice, expanded into one head per value
    (for `rnn_units` / `dense_units`, a list of lists). `options` apply to every run.
    Embeddings are computed once per (video, frames, backbone) and shared through the cache.
    Each run's name ends in a hash of its full configuration, so runs already finished in
    `save_dir` are skipped: an interrupted search resumes. With `n_trials`, that many
    combinations are drawn at random (seeded by `seed`) instead of the full grid. Every
    combination is checked before the first run trains. Returns the leaderboard of the
    search's runs (as `compare_saved_models`).

    >>> search("data/demo", num_frames=[16, 32], heads=[{"rnn": "gru", "rnn_units": [[64], [128]]},
    ...        {"rnn": None}], weights="random", learning_rate=1e-3)  # doctest: +SKIP
    """
    options = _for_search(options)  # seed names translated once; callbacks refused
    if "run_name" in options:
        raise ValueError("Received: run_name with search. Expected none: each run is named after its configuration.")
    for name, values in (("num_frames", num_frames), ("img_model_names", img_model_names), ("heads", heads)):
        if isinstance(values, (str, dict)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"Received: {name}={values!r}. Expected a non-empty list.")
    expanded = [h for head in heads for h in expand_head(head)]
    grid = [(f, m, h) for f in num_frames for m in img_model_names for h in expanded]
    if n_trials is not None:
        check_int("n_trials", n_trials, 1)
        picked = np.random.default_rng(check_int("seed", seed, 0)).permutation(len(grid))[:n_trials]
        grid = [grid[i] for i in sorted(picked)]
    options = {"verbose": 0, **options}
    configs = [RunConfig.from_options(f, m, **options, **h) for f, m, h in grid]  # all checked before any training
    runs = [(c, search_run_name(data_dir, c.num_frames, c.img_model_name, c.options())) for c in configs]
    save_dir = Path(configs[0].save_dir)
    from vidseq.runs.train import train_test_classifier  # TensorFlow loads once every combination is checked

    progress = progress_bar(len(runs), "Search", unit="run")
    try:
        for config, run_name in runs:
            progress.set_postfix_str(run_name[:48])
            if not (save_dir / run_name / "metrics.json").exists():
                train_test_classifier(data_dir, config.num_frames, config.img_model_name,
                                      **{**config.options(), "run_name": run_name})
            elif config.verbose:
                progress.write(f"{run_name}: finished already, reused (delete its folder to train it again)")
            progress.update(1)
    finally:
        progress.close()
    table = compare_saved_models(save_dir)
    return table[table.run.isin([name for _, name in runs])].reset_index(drop=True)


def expand_head(head: dict) -> list[dict]:
    """One dict per combination of the list-valued entries of `head`."""
    if not isinstance(head, dict):
        raise ValueError(f"Received: a head {head!r}. Expected a dict of options.")
    choices = []
    for key, value in head.items():
        nested = key in ("rnn_units", "dense_units")
        is_choice = isinstance(value, list) and (not nested or all(isinstance(v, (list, tuple)) for v in value))
        if nested and is_choice and not value:
            is_choice = False  # dense_units=[] means no dense layers
        choices.append([(key, tuple(v) if nested else v) for v in value] if is_choice
                       else [(key, tuple(value) if nested else value)])
    combos = [{}]
    for options in choices:
        combos = [{**c, k: v} for c in combos for k, v in options]
    return combos


def search_run_name(data_dir: str | os.PathLike, num_frames: int, model_name: str, options: dict) -> str:
    """`<data folder>_<model>_f<frames>_<head>_<hash of everything that defines the run>`, from a
    run's complete options (`RunConfig.options()`)."""
    identity = {k: v for k, v in options.items() if k not in _NOT_IN_RUN_IDENTITY
                and not (k in CALLBACK_DEFAULTS and v == CALLBACK_DEFAULTS[k])}
    payload = json.dumps(dict(data_dir=str(Path(data_dir).resolve()), num_frames=num_frames, model=model_name,
                              **identity), sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:10]
    head = family_for(model_name, options.get("fine_tune", False)).head_name(options)
    return f"{file_safe(Path(data_dir).resolve().name)}_{model_name}_f{num_frames}_{head}_{digest}"


def _for_search(options: dict) -> dict:
    """`search`'s options: aliases translated once, callbacks rejected, callback objects as settings.

    A run's name in a search is a hash of its options; settings dicts hash the same in every
    session, objects do not. User `callbacks` are refused: they can change what trains but
    are not part of a run's identity, so a resumed search could skip a run that differs.
    """
    options = translate_seed_options(options)
    if options.get("callbacks"):
        raise ValueError("Received: callbacks with search. Expected none: a search skips runs already finished "
                         "by their configuration, which callbacks are not part of. Use early_stopping=/reduce_lr= "
                         "(recorded), or train_test_classifier for runs with your own callbacks.")
    for name in ("early_stopping", "reduce_lr"):
        if hasattr(options.get(name), "monitor"):  # a Keras EarlyStopping or ReduceLROnPlateau
            options[name] = callback_settings(options[name])
    return options


__all__ = ["search", "expand_head", "search_run_name"]
