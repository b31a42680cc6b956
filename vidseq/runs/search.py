"""Search: train a grid of configurations as saved runs, in grid order, a random sample, or as
Optuna's TPE proposes; resumable, and shared by several workers.

The run folders are the source of truth: a configuration whose folder holds metrics.json is
finished and never trained again, whoever trained it (an earlier search, another worker, an
earlier vidseq). Workers claim a configuration before training it (`vidseq.runs.claims`:
files beside the run folders, taken over when their worker died). With Optuna installed, a
study (`vidseq.runs.study`) records every configuration as a trial, in a SQLite file in the
save dir by default or in a database that workers on several machines share; TPE proposes
from it and pruners compare validation curves in it. No TensorFlow loads here before the
first run trains: every argument, the plan and the study are checked first.

    >>> from vidseq.runs.search import search
    >>> search("data/demo", num_frames=[16], heads=[{"rnn": None}], weights="random")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from vidseq.runs.claims import ClaimBoard
from vidseq.runs.folders import file_safe
from vidseq.runs.leaderboard import compare_saved_models
from vidseq.runs.search_space import SearchSpace, expand_head, params_key
from vidseq.runs.study import (check_search_settings, default_study_name, fixed_sampler, grid_record, import_optuna,
                               open_study, optuna_logging, record_trial, tpe_sampler)
from vidseq.training.config import RunConfig
from vidseq.training.families import family_for
from vidseq.training.seed_compat import translate_seed_options
from vidseq.training.train_config import CALLBACK_DEFAULTS, callback_settings
from vidseq.utils.checks import check_int
from vidseq.utils.progress import progress_bar

_NOT_IN_RUN_IDENTITY = ("verbose", "save_dir", "cache_dir", "run_name", "distribution", "explain")  # same results
# TPE proposing configurations that are finished or being trained this many times in a row
# has settled: the next trial is an untried configuration drawn at random.
REPEATS_BEFORE_RANDOM = 10
# Options added since searches first named their runs, at their default: left out of a run's
# identity, so that those runs keep their names and a resumed search finds them.
_LATER_DEFAULTS = dict(feature_dtype="float32")


def search(
    data_dir: str | os.PathLike,
    num_frames: Sequence[int] = (16,),
    img_model_names: Sequence[str] = ("MobileNetV2",),
    heads: Sequence[dict] = ({},),
    n_trials: int | None = None,
    seed: int = 0,
    sampler: str | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    pruner: str | dict | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Train combinations of `num_frames` x `img_model_names` x `heads`, each as a saved run.

    A head is a dict of `train_test_classifier` options (head layers, dropout, optimizer,
    learning rate, ...); a list value in it is a choice, expanded into one head per value
    (for `rnn_units` / `dense_units`, a list of lists). `options` apply to every run.
    Embeddings are computed once per (video, frames, backbone) and shared through the cache.
    Each run's name ends in a hash of its full configuration, so runs already finished in
    `save_dir` are never trained again: an interrupted search resumes. Every combination is
    checked before the first run trains. With `folds=k` among the options, each combination is
    an identity k-fold cross-validation (one parent folder), ranked by its mean validation AUC
    across folds. Returns the leaderboard of the search's runs (as
    `compare_saved_models`: intervals, and ties with the best among them);
    `table.attrs["in_progress"]` lists those other workers are training.

    `sampler`: "grid" (every combination in order; the default without `n_trials`), "random"
    (`n_trials` combinations drawn at random, seeded by `seed`: the default with `n_trials`;
    without it, all in a random order) or "tpe" (Optuna's TPE proposes each next combination
    from the validation AUCs so far, until `n_trials` of them are finished). Needs Optuna
    (`pip install "vidseq[search]"`) for "tpe", `storage` and `pruner`; with it installed every
    search records its trials in an Optuna study: `study_name` (default: the data folder and a
    hash of the grid) in `storage` (default: SQLite, `save_dir/search.db`; a database URL such as
    "postgresql://user:password@host/db" for workers on several machines sharing `save_dir`).
    Several processes running the same search share its work: each configuration is claimed
    (`save_dir/.claims/`) before it trains, and trains once. `pruner`: None, or one of Optuna's
    "median", "percentile", "hyperband", "successive_halving" (or a dict with "name" and its
    settings), stops runs whose validation AUC curve is hopeless; a pruned run is saved
    (finished: not trained again) with `pruner` and `pruned_at_epoch` in its config.json.

    >>> search("data/demo", num_frames=[16, 32], heads=[{"rnn": "gru", "rnn_units": [[64], [128]]},
    ...        {"rnn": None}], weights="random", learning_rate=1e-3)  # doctest: +SKIP
    >>> search("data/demo", heads=[{"rnn_units": [[32], [64], [128]], "dropout": [0.2, 0.5]}],
    ...        sampler="tpe", n_trials=4, pruner="median", weights="random")  # doctest: +SKIP
    """
    options = _for_search(options)  # seed names translated once; callbacks refused
    if "run_name" in options:
        raise ValueError("Received: run_name with search. Expected none: each run is named after its configuration.")
    for name, values in (("num_frames", num_frames), ("img_model_names", img_model_names), ("heads", heads)):
        if isinstance(values, (str, dict)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"Received: {name}={values!r}. Expected a non-empty list.")
    seed = check_int("seed", seed, 0)
    sampler, pruner = check_search_settings(sampler, n_trials, pruner, storage, study_name)
    space = SearchSpace(num_frames, img_model_names, heads)
    options = {"verbose": 0, **options}
    candidates, combinations = _checked_grid(data_dir, space, options)  # before anything trains
    grid = list(candidates.values())
    if pruner is not None and grid[0].config.data.folds:
        raise ValueError(f"Received: pruner={pruner['name']!r} with folds={grid[0].config.data.folds}. Expected "
                         "pruner=None: a pruner judges one run's validation curve, a cross-validation trains several.")
    save_dir = Path(grid[0].config.save_dir)
    with optuna_logging(grid[0].config.verbose):
        study = None
        if import_optuna() is not None:
            record = grid_record(space, list(candidates))
            name = study_name or default_study_name(file_safe(Path(data_dir).resolve().name), record)
            study = open_study(storage, save_dir, name, record, pruner)
        by_params = {params_key(params): candidates[run] for run, params in combinations}
        worker = _Worker(data_dir, save_dir, ClaimBoard(save_dir), space, grid, by_params, study, pruner,
                         grid[0].config.verbose)
        if sampler == "tpe":
            runs = worker.run_tpe(min(n_trials or len(grid), len(grid)), seed)
        else:  # the sample of earlier versions: the first n_trials of a seeded permutation of the combinations
            order = np.random.default_rng(seed).permutation(len(combinations)) if sampler == "random" \
                else range(len(combinations))
            plan = dict.fromkeys(combinations[i][0] for i in order[:n_trials])  # without repeats, in order
            runs = worker.run_plan([candidates[run] for run in plan])
    table = compare_saved_models(save_dir, runs=runs) if save_dir.is_dir() else pd.DataFrame(columns=["run"])
    table.attrs["in_progress"] = sorted(worker.busy)
    return table


def _checked_grid(data_dir, space: SearchSpace, options: dict) -> tuple[dict[str, Candidate], list[tuple[str, dict]]]:
    """`(configurations by run name, (run name, parameters) of every combination in grid order)`,
    every combination's options checked. Two heads may expand to one configuration: one run."""
    candidates, combinations = {}, []
    for f, m, head, params in space.combinations:
        config = RunConfig.from_options(f, m, **options, **head)
        run = search_run_name(data_dir, config.num_frames, config.img_model_name, config.options())
        candidates.setdefault(run, Candidate(config, run, params))
        combinations.append((run, params))
    return candidates, combinations


def train_test_classifier(*args, **kwargs):
    """`vidseq.runs.train.train_test_classifier`, loaded with the first run that trains: TensorFlow
    stays unloaded while a search checks its arguments and opens its study."""
    from vidseq.runs.train import train_test_classifier as train

    return train(*args, **kwargs)


@dataclass(frozen=True)
class Candidate:
    """One configuration of a grid: its checked config, its run name, its Optuna parameters."""

    config: RunConfig
    run: str
    params: dict


class _Worker:
    """One process's share of a search: picks configurations, claims, trains and records them."""

    def __init__(self, data_dir, save_dir: Path, claims: ClaimBoard, space: SearchSpace, grid: list[Candidate],
                 by_params: dict[tuple, Candidate], study, pruner: dict | None, verbose: int):
        self.data_dir, self.save_dir, self.claims, self.space, self.grid = data_dir, save_dir, claims, space, grid
        self.by_params, self.study, self.pruner, self.verbose = by_params, study, pruner, verbose
        self.busy: set[str] = set()  # runs other workers are training
        self.progress = None

    def finished(self, candidate: Candidate) -> bool:
        return (self.save_dir / candidate.run / "metrics.json").exists()

    def say(self, message: str) -> None:
        if self.verbose:
            self.progress.write(message)

    def run_plan(self, plan: list[Candidate]) -> list[str]:
        """Grid and random searches: every planned configuration not finished and not held elsewhere."""
        with self._session(len(plan)):
            for candidate in plan:
                self.progress.set_postfix_str(candidate.run[:48])
                if self.finished(candidate):
                    self.say(f"{candidate.run}: finished already, reused (delete its folder to train it again)")
                else:
                    self.attempt(candidate)
                self.progress.update(1)
        return [c.run for c in plan]

    def run_tpe(self, target: int, seed: int) -> list[str]:
        """TPE: trials until `target` configurations are finished or held by other workers."""
        seed += len(self.study.get_trials(deepcopy=False))  # `seed` itself where the study is new
        tpe, rng = tpe_sampler(seed), np.random.default_rng(seed)
        repeats = 0
        with self._session(target):
            while True:
                done, self.busy = self._census()
                free = [c for c in self.grid if c.run not in done and c.run not in self.busy]
                self.progress.update(min(len(done), target) - self.progress.n)  # a tqdm bar or progress lines
                if len(done) + len(self.busy) >= target or not free:
                    break
                if repeats < REPEATS_BEFORE_RANDOM:
                    self.study.sampler = tpe
                    trial = self.study.ask()
                    candidate = self.by_params[params_key(self.space.suggest(trial))]
                else:
                    candidate = free[rng.integers(len(free))]
                    trial = self._ask(candidate)
                self.progress.set_postfix_str(candidate.run[:48])
                outcome = self.attempt(candidate, trial, target)
                if outcome == "yielded":
                    time.sleep(rng.uniform(0, 1))  # workers that yielded together try again apart
                repeats = 0 if outcome in ("trained", "yielded") else repeats + 1
        return [c.run for c in self.grid if self.finished(c)]

    def attempt(self, candidate: Candidate, trial=None, target: int | None = None) -> str:
        """Claim and train `candidate`: "trained", else "finished" (by anyone, before or meanwhile),
        "held" (another worker trains it) or "yielded" (`target` configurations were finished or
        claimed meanwhile: with TPE, workers together train n_trials, not one more).

        `trial`: the Optuna trial that proposed it (TPE), else one is made once the claim is held.
        """
        if not self.finished(candidate):
            claim = self.claims.take(candidate.run, study=None if self.study is None else self.study.study_name,
                                     trial=None if trial is None else trial.number)
            if claim is None:
                if trial is not None:
                    self._fail(trial, "held by another worker")
                held = self.claims.holder(candidate.run) or {}
                self.busy.add(candidate.run)
                self.say(f"{candidate.run}: being trained by another worker ({held.get('host')}, process "
                         f"{held.get('pid')})")
                return "held"
            with claim:
                if claim.evicted:
                    self.say(f"{candidate.run}: its worker ({claim.evicted.get('host')}, process "
                             f"{claim.evicted.get('pid')}) stopped without finishing it: trained here")
                    self._fail_evicted(claim)
                if not self.finished(candidate):  # else finished by another worker since it was checked
                    if target is not None and sum(map(len, self._census())) > target:
                        self._fail(trial, "n_trials reached by other workers meanwhile")
                        return "yielded"
                    if self.study is not None and trial is None:
                        trial = self._ask(candidate)
                        claim.update(trial=trial.number)
                    self._train(candidate, trial)
                    return "trained"
        if trial is not None:  # TPE proposed a finished configuration: its value, known, is the answer
            record_trial(self.study, self.space, candidate.params, self.save_dir / candidate.run, trial)
        return "finished"

    def _census(self) -> tuple[set[str], set[str]]:
        """`(runs of the grid finished, runs of the grid claimed by live workers, this one included)`."""
        done = {c.run for c in self.grid if self.finished(c)}
        claimed = (self.claims.names() & {c.run for c in self.grid}) - done
        return done, {run for run in claimed if self.claims.holder(run) is not None}

    def _train(self, candidate: Candidate, trial) -> None:
        run_dir = self.save_dir / candidate.run
        if run_dir.exists():  # a worker died while saving it: the claim holder starts it afresh
            shutil.rmtree(run_dir)
        callbacks = []
        if self.pruner is not None:
            from vidseq.training.callbacks import PruningCallback  # Keras: loads with training

            callbacks = [PruningCallback(trial, self.pruner)]
        try:
            train_test_classifier(self.data_dir, candidate.config.num_frames, candidate.config.img_model_name,
                                  **{**candidate.config.options(), "run_name": candidate.run,
                                     **({"callbacks": callbacks} if callbacks else {})})
        except BaseException:
            if trial is not None:
                self._fail(trial, "training raised an error or was interrupted")
            raise
        if trial is not None:
            record_trial(self.study, self.space, candidate.params, run_dir, trial)

    def _ask(self, candidate: Candidate):
        """A new trial of `candidate` (chosen here, not by the study's sampler)."""
        self.study.sampler = fixed_sampler(candidate.params)
        trial = self.study.ask()
        self.space.suggest(trial)
        return trial

    def _fail(self, trial, reason: str) -> None:
        """Mark a trial failed (samplers ignore it): ours (a Trial), or a dead worker's (its number)."""
        from optuna.trial import TrialState

        if not isinstance(trial, int):
            trial.set_user_attr("failed", reason)
        self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)

    def _fail_evicted(self, claim) -> None:
        """Mark failed the trial of a dead worker whose stale claim `claim` replaced (if of this study)."""
        evicted = claim.evicted or {}
        if self.study is not None and evicted.get("trial") is not None \
                and evicted.get("study") == self.study.study_name:
            self._fail(evicted["trial"], "its worker stopped")

    @contextlib.contextmanager
    def _session(self, total: int):
        """The progress bar over the search; first, the grid's runs finished without the study join it."""
        self.progress = progress_bar(total, "Search", unit="run")
        try:
            if self.study is not None:
                self._record_finished()
            yield
        finally:
            self.progress.close()
            self.claims.tidy()

    def _record_finished(self) -> None:
        """Add to the study the grid's runs finished without it (earlier versions, searches
        without Optuna, a worker that died before recording its run).

        A worker records its run before releasing its claim, so the study is read after the
        claims: a finished run that no live worker claims then is recorded already, or never will be.
        """
        unclaimed = []
        for candidate in self.grid:
            if not self.finished(candidate):
                continue
            if self.claims.holder(candidate.run, live_only=False) is not None:
                claim = self.claims.take(candidate.run)  # a stale claim is cleared; a live one records it itself
                if claim is None:
                    continue
                claim.release()
                self._fail_evicted(claim)
            unclaimed.append(candidate)
        recorded = {t.user_attrs.get("run") for t in self.study.get_trials(deepcopy=False) if t.state.is_finished()}
        for candidate in unclaimed:
            if candidate.run not in recorded:
                record_trial(self.study, self.space, candidate.params, self.save_dir / candidate.run)


def search_run_name(data_dir: str | os.PathLike, num_frames: int, model_name: str, options: dict) -> str:
    """`<data folder>_<model>_f<frames>_<head>_<hash of everything that defines the run>`, from a
    run's complete options (`RunConfig.options()`)."""
    defaults = {**CALLBACK_DEFAULTS, **_LATER_DEFAULTS}
    identity = {k: v for k, v in options.items() if k not in _NOT_IN_RUN_IDENTITY
                and not (k in defaults and v == defaults[k])}
    payload = json.dumps(dict(data_dir=str(Path(data_dir).resolve()), num_frames=num_frames, model=model_name,
                              **identity), sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:10]
    head = family_for(model_name, options.get("fine_tune", False)).head_name(options)
    return f"{file_safe(Path(data_dir).resolve().name)}_{file_safe(model_name)}_f{num_frames}_{head}_{digest}"


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


__all__ = ["search", "expand_head", "search_run_name", "REPEATS_BEFORE_RANDOM"]
