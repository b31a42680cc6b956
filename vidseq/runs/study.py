"""A search's Optuna side: its settings (sampler, pruner, storage), its study, and trials read from run folders.

Optuna is an optional extra (`pip install -e ".[search]"`): without it grid and random
searches run as before (their plan needs no optimizer, their claims no database), and only
TPE, pruning and `storage` ask for it. Nothing here loads TensorFlow, so `vidseq search`
checks its flags and opens its study in well under a second.

The study is named after the grid unless a name is given, and records the grid it was made
for (its run names and parameters): a different grid under an existing name is refused
before anything is written.

    >>> check_search_settings(None, 8, None, None, None)
    ('random', None)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

from vidseq.runs.search_space import SearchSpace
from vidseq.utils.checks import check_choice, check_int

SAMPLERS = ("grid", "random", "tpe")
# Optuna's pruners by the name `pruner=` takes; a dict {"name": ..., **settings} passes settings.
PRUNERS = {"median": "MedianPruner", "percentile": "PercentilePruner", "hyperband": "HyperbandPruner",
           "successive_halving": "SuccessiveHalvingPruner"}
STUDY_FILE = "search.db"  # the default storage: a SQLite file in the save dir
GRID_ATTR = "vidseq_grid"  # the study's user attribute recording its grid
SQLITE_TIMEOUT_SECONDS = 60  # a writer waits this long for another worker's write (SQLite's default: 5)
STORAGE_TRIES = 4  # workers started together race to create a new storage's tables: the losers open it again


def run_objective(run_dir: str | os.PathLike) -> float | None:
    """What a search maximizes, read from a finished run folder: its validation AUC (None: undefined).

    The one place the objective is computed: a cross-validated run would average its folds here.
    """
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    return (metrics.get("val") or {}).get("auc")


def import_optuna(needed_for: str | None = None):
    """The optuna module; None where it is not installed, or with `needed_for` a ValueError saying
    what needed it."""
    try:
        import optuna
    except ImportError:
        if needed_for is None:
            return None
        raise ValueError(f"Received: {needed_for}, which needs Optuna, not installed here. Expected "
                         "sampler='grid' or 'random' without storage or pruner, or `pip install \"vidseq[search]\"`.")
    return optuna


def check_search_settings(sampler: str | None, n_trials: int | None, pruner: Any, storage: str | None,
                          study_name: str | None) -> tuple[str, dict | None]:
    """`(sampler, pruner settings)` once checked: the sampler defaults to "grid", or "random" with
    `n_trials` (as searches always did). Raises ValueError naming the first bad value."""
    if n_trials is not None:
        check_int("n_trials", n_trials, 1)
    if sampler is None:
        sampler = "grid" if n_trials is None else "random"
    check_choice("sampler", sampler, SAMPLERS)
    if sampler == "grid" and n_trials is not None:
        raise ValueError(f"Received: sampler='grid' with n_trials={n_trials}. Expected no n_trials (the grid is "
                         "every combination), or sampler='random' or sampler='tpe' to train n_trials of them.")
    for name, value in (("storage", storage), ("study_name", study_name)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"Received: {name}={value!r}. Expected None or a non-empty string.")
    if sampler == "tpe":
        import_optuna("sampler='tpe'")
    if storage is not None:
        import_optuna(f"storage={hidden_password(storage)!r}")
    return sampler, pruner_settings(pruner)


def pruner_settings(pruner: Any) -> dict | None:
    """`pruner=` as the settings config.json records: None (no pruning), or `{"name": ..., **settings}`
    from a name of `PRUNERS` or such a dict; checked by building the pruner."""
    if pruner is None:
        return None
    settings = {"name": pruner} if isinstance(pruner, str) else pruner
    if not isinstance(settings, dict) or settings.get("name") not in PRUNERS:
        raise ValueError(f"Received: pruner={pruner!r}. Expected None, one of {list(PRUNERS)}, or a dict with "
                         "\"name\" (one of those) and that Optuna pruner's settings.")
    import_optuna(f"pruner={settings['name']!r}")
    try:
        make_pruner(settings)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Received: pruner={pruner!r}. Expected settings of optuna.pruners."
                         f"{PRUNERS[settings['name']]}: {err}") from None
    return dict(settings)


def make_pruner(settings: dict | None):
    """The Optuna pruner of `pruner_settings`' dict; Optuna's NopPruner for None."""
    import optuna

    if settings is None:
        return optuna.pruners.NopPruner()
    return getattr(optuna.pruners, PRUNERS[settings["name"]])(**{k: v for k, v in settings.items() if k != "name"})


@contextlib.contextmanager
def optuna_logging(verbose: int) -> Iterator[None]:
    """Optuna's own lines ("A new study created", "Trial 3 finished") only at verbose=2; as before after."""
    optuna = import_optuna()
    if optuna is None:
        yield
        return
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose >= 2 else optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def grid_record(space: SearchSpace, runs: list[str]) -> dict:
    """What a study records of its grid: the run names of its configurations and its parameters."""
    return {"runs": sorted(set(runs)), "params": space.choices}


def default_study_name(dataset: str, record: dict) -> str:
    """`<data folder>-<hash of the grid>`: the same command names the same study on every worker."""
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:10]
    return f"{dataset}-{digest}"


def open_study(storage: str | None, save_dir: Path, study_name: str, record: dict, pruner: dict | None):
    """Load (or create) the study `study_name` in `storage` (None: `save_dir/search.db`), maximizing.

    Raises ValueError, before writing anything, when the storage cannot be opened or the
    study holds another grid.
    """
    optuna = import_optuna("a study")
    if storage is None:
        save_dir.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(save_dir / STUDY_FILE).resolve()}"
    engine = {"connect_args": {"timeout": SQLITE_TIMEOUT_SECONDS}} if storage.startswith("sqlite") else None
    for attempt in range(STORAGE_TRIES):
        try:
            rdb = optuna.storages.RDBStorage(storage, engine_kwargs=engine)
            names = optuna.get_all_study_names(rdb)
            break
        except Exception as err:  # SQLAlchemy's and the database drivers' errors: all mean "cannot open"
            if attempt + 1 < STORAGE_TRIES and _racing(err):
                time.sleep(0.5 * (attempt + 1))
                continue
            cause = f"; {err.__cause__}" if err.__cause__ else ""
            raise ValueError(f"Received: storage={hidden_password(storage)!r}, which cannot be opened "
                             f"({type(err).__name__}: {str(err).splitlines()[0]}{cause}). Expected a database URL "
                             "that Optuna can open, e.g. sqlite:///saved_models/search.db or "
                             "postgresql://user:password@host/database.") from None
    if study_name in names:
        study = optuna.load_study(study_name=study_name, storage=rdb, pruner=make_pruner(pruner))
        held = study.user_attrs.get(GRID_ATTR)
        if held is not None and held != record:
            raise ValueError(_grid_changed(study_name, held, record))
    else:
        study = optuna.create_study(storage=rdb, study_name=study_name, direction="maximize",
                                    pruner=make_pruner(pruner), load_if_exists=True)  # another worker may be first
    if GRID_ATTR not in study.user_attrs:
        study.set_user_attr(GRID_ATTR, record)
    return study


def _racing(err: Exception) -> bool:
    """Whether opening a storage failed because another worker was creating its tables at the same time."""
    return type(err).__name__ == "IntegrityError" or any(
        words in str(err) for words in ("already exists", "UNIQUE constraint", "database is locked"))


def _grid_changed(study_name: str, held: dict, record: dict) -> str:
    added = len(set(record["runs"]) - set(held["runs"]))
    dropped = len(set(held["runs"]) - set(record["runs"]))
    what = (f"{added} configuration(s) it does not hold and lacks {dropped} of its own" if added or dropped
            else "the same configurations under other parameters (heads in another order?)")
    return (f"Received: a grid for study_name={study_name!r} with {what}. Expected the grid that study was made "
            "for, or another study_name (a study records one grid).")


def fixed_sampler(params: dict):
    """A sampler that answers `params`: a trial of a configuration chosen by vidseq (grid, random)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.PartialFixedSampler(params, optuna.samplers.RandomSampler())


def tpe_sampler(seed: int):
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


def record_trial(study, space: SearchSpace, params: dict, run_dir: Path, trial=None, **attrs) -> None:
    """Finish `trial` (or add a new one) with what the finished run folder measured.

    Complete with the objective; pruned (with its validation curve) where the pruner stopped
    it; failed where the objective is undefined.
    """
    import optuna
    from optuna.trial import TrialState

    value = run_objective(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    state = (TrialState.PRUNED if config.get("pruned_at_epoch") else
             TrialState.FAIL if value is None else TrialState.COMPLETE)
    attrs = {"run": run_dir.name, **attrs}
    if trial is not None:
        for key, attr in attrs.items():
            trial.set_user_attr(key, attr)
        study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
        return
    study.add_trial(optuna.trial.create_trial(
        state=state, value=value if state == TrialState.COMPLETE else None, params=params,
        distributions=space.distributions(params), user_attrs=attrs,
        intermediate_values=_curve(run_dir) if state == TrialState.PRUNED else None))


def _curve(run_dir: Path) -> dict[int, float]:
    """A run's validation AUC per epoch (what its pruner saw), from history.csv."""
    import pandas as pd

    history = pd.read_csv(run_dir / "history.csv")
    return {int(e): float(v) for e, v in zip(history.epoch, history.val_auc)} if "val_auc" in history else {}


def hidden_password(url: str) -> str:
    """`url` with any password shown as ***, for error messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}" if ":" in credentials else url


__all__ = ["SAMPLERS", "PRUNERS", "STUDY_FILE", "run_objective", "import_optuna", "check_search_settings",
           "pruner_settings", "make_pruner", "optuna_logging", "grid_record", "default_study_name", "open_study", "fixed_sampler",
           "tpe_sampler", "record_trial", "hidden_password"]
