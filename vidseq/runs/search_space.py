"""A search's grid as a space of choices: every combination, and the Optuna parameters that name it.

`search`'s arguments (`num_frames` x `img_model_names` x `heads`, where a list value in a head
is a choice) expand into combinations, in the order searches have always trained them. Each
combination is also named by parameters, for Optuna's samplers and its study records: one
categorical parameter per thing that varies (`num_frames`, `img_model_name`, `head`: which
head dict, and each of a head's choices: `rnn_units` with one head, `head1.dropout` with
several). A head's choices exist only where that head is chosen (a conditional space), as
TPE needs. Values Optuna cannot store (tuples, dicts) are JSON strings: `rnn_units=[64, 32]`
is `"[64, 32]"`. No Optuna import here: it is loaded where a distribution is made.

    >>> space = SearchSpace([16, 32], ["MobileNetV2"], [{"rnn": ["gru", None]}])
    >>> [params for *_, params in space.combinations]  # doctest: +NORMALIZE_WHITESPACE
    [{'num_frames': 16, 'rnn': 'gru'}, {'num_frames': 16, 'rnn': None},
     {'num_frames': 32, 'rnn': 'gru'}, {'num_frames': 32, 'rnn': None}]
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Sequence

NESTED = ("rnn_units", "dense_units")  # options whose value is itself a list: a choice is a list of lists


def head_choices(head: dict) -> list[tuple[str, list]]:
    """`(option, its values)` for every entry of `head`: a list value is a choice of values
    (for `rnn_units` / `dense_units`, a list of lists); any other value is one value."""
    if not isinstance(head, dict):
        raise ValueError(f"Received: a head {head!r}. Expected a dict of options.")
    choices = []
    for key, value in head.items():
        nested = key in NESTED
        is_choice = isinstance(value, list) and (not nested or all(isinstance(v, (list, tuple)) for v in value))
        if nested and is_choice and not value:
            is_choice = False  # dense_units=[] means no dense layers
        values = value if is_choice else [value]
        choices.append((key, [tuple(v) if nested else v for v in values]))
    return choices


def expand_head(head: dict) -> list[dict]:
    """One dict per combination of the list-valued entries of `head`."""
    choices = head_choices(head)
    return [dict(zip([k for k, _ in choices], combo)) for combo in itertools.product(*(v for _, v in choices))]


def encode(value: Any) -> Any:
    """A choice as Optuna stores it: None, bool, int, float and str as they are, anything else as JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True, default=str)


class SearchSpace:
    """The combinations of a grid, each with the parameters that name it.

    `combinations`: `(num_frames, img_model_name, head options, params)` in grid order;
    `choices`: every parameter's choices (encoded), the parameters of the same head together.
    """

    def __init__(self, num_frames: Sequence[int], img_model_names: Sequence[str], heads: Sequence[dict]):
        per_head = [head_choices(head) for head in heads]
        top = [("num_frames", list(num_frames)), ("img_model_name", list(img_model_names)),
               ("head", list(range(len(heads))))]
        self.top = [(name, _unique(values)) for name, values in top if len(_unique(values)) > 1]
        self.per_head = [[(key if len(heads) == 1 else f"head{i}.{key}", _unique(map(encode, values)))
                          for key, values in choices if len(_unique(map(encode, values))) > 1]
                         for i, choices in enumerate(per_head)]
        self.choices = dict(self.top + [c for head in self.per_head for c in head])
        self.combinations = []
        for f, m, (i, head) in itertools.product(num_frames, img_model_names, enumerate(heads)):
            for options in expand_head(head):
                params = {"num_frames": f, "img_model_name": m, "head": i}
                params = {name: params[name] for name, _ in self.top}
                params.update({name: encode(options[name.split(".", 1)[-1]]) for name, _ in self.per_head[i]})
                self.combinations.append((f, m, options, params))

    def suggest(self, trial) -> dict:
        """The parameters of one combination, asked of an Optuna trial (its sampler chooses them)."""
        params = {name: trial.suggest_categorical(name, choices) for name, choices in self.top}
        head = params.get("head", 0)
        params.update({name: trial.suggest_categorical(name, choices) for name, choices in self.per_head[head]})
        return params

    def distributions(self, params: dict) -> dict:
        """Optuna's distributions of `params` (to record a trial that no sampler chose)."""
        from optuna.distributions import CategoricalDistribution

        return {name: CategoricalDistribution(self.choices[name]) for name in params}


def params_key(params: dict) -> tuple:
    """A combination's parameters as a dictionary key."""
    return tuple(sorted(params.items(), key=lambda item: item[0]))


def _unique(values) -> list:
    """`values` without repeats, in order (1 and True count as different)."""
    seen, kept = set(), []
    for value in values:
        key = (type(value).__name__, encode(value))
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


__all__ = ["SearchSpace", "head_choices", "expand_head", "encode", "params_key", "NESTED"]
