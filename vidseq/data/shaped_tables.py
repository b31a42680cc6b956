"""Tables of videos shaped like the public datasets, without their files: for trying and
measuring splits (`split_videos`, `fold_videos`) where the data itself is not at hand.

`dfd_shaped_table` has DFD's counts and the shape of its identity pairing: 28 actors, 363
real videos, 3,029 fakes (those whose names are public), and fakes that link the actors into
three components of 18, 5 and 5 actors. What is not known here is DFD's exact list of
(target, source) pairs; the table draws one, seeded: in each 5-actor component every actor
is the target of fakes with the next two actors of a ring as sources (10 pairs per
component, few fakes: no component of 5 can be a split of its own), in the 18-actor
component every actor is the target of 11 others (198 pairs); each pair has 10-17 fakes
(scenes), each actor 10-16 real videos, scaled to DFD's totals. `dfdc_shaped_table` has one
identity per original video and 5 fakes of each on average, as DFDC's metadata gives them.

    >>> videos = dfd_shaped_table()
    >>> len(videos), int(videos.label.sum()), videos.identities.explode().nunique()
    (3392, 3029, 28)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DFD_ACTORS, DFD_COMPONENTS, DFD_REAL, DFD_FAKE = 28, (18, 5, 5), 363, 3029
SOURCES = {True: 3, False: 0}  # random sources drawn per target: in the large component, in the small ones


def dfd_shaped_table(seed: int = 0) -> pd.DataFrame:
    """A `discover_videos`-like table (no files) with DFD's counts and component shape (above).

    Real videos are `<actor>__scene<k>.mp4`, fakes `<target>_<source>__scene<k>__X.mp4`, as
    in DFD; identities are the actors, target first."""
    rng = np.random.default_rng(seed)
    actors = [f"{a:02d}" for a in rng.permutation(DFD_ACTORS) + 1]
    pairs = []
    start = 0
    for size in DFD_COMPONENTS:
        members = actors[start : start + size]
        start += size
        for i, target in enumerate(members):  # a ring keeps the component connected, then random sources
            others = {members[(i + 1) % size]} | set(rng.choice(members, SOURCES[size is DFD_COMPONENTS[0]]))
            pairs += [(target, source) for source in sorted(others - {target})
                      for _ in range(int(rng.integers(1, 5)))]  # 1-4 face-swap models per pair
    real = _with_total(rng.integers(10, 17, DFD_ACTORS), DFD_REAL, rng)
    fakes = _with_total(rng.integers(10, 17, len(pairs)), DFD_FAKE, rng)  # scenes per model
    rows = [dict(path=f"/dfd/real/{actor}__scene{k}.mp4", label=0, identities=(actor,))
            for actor, n in zip(actors, real) for k in range(n)]
    rows += [dict(path=f"/dfd/fake/{t}_{s}__scene{k}__X.mp4", label=1, identities=(t, s))
             for (t, s), n in zip(pairs, fakes) for k in range(n)]
    return _table(rows, "dfd")


def dfdc_shaped_table(videos: int = 120_000, fakes_per_original: float = 5.0, seed: int = 0) -> pd.DataFrame:
    """A table (no files) of `videos` DFDC-like videos: originals (real, each an identity of
    its own) and fakes made from them (their original's identity), 0 to twice
    `fakes_per_original` fakes per original."""
    rng = np.random.default_rng(seed)
    originals = int(round(videos / (1 + fakes_per_original)))
    per_original = _with_total(rng.integers(0, int(2 * fakes_per_original) + 1, originals), videos - originals, rng)
    names = [f"o{i:06d}" for i in range(originals)]
    rows = [dict(path=f"/dfdc/{name}.mp4", label=0, identities=(name,)) for name in names]
    rows += [dict(path=f"/dfdc/{name}_f{k}.mp4", label=1, identities=(name,))
             for name, n in zip(names, per_original) for k in range(n)]
    return _table(rows, "dfdc")


def _with_total(counts: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """`counts` (each at least 1) changed by one at random places until they sum to `total`."""
    counts = counts.astype(int).copy()
    while counts.sum() != total:
        step = 1 if counts.sum() < total else -1
        i = rng.integers(len(counts))
        if counts[i] + step >= 1:
            counts[i] += step
    return counts


def _table(rows: list[dict], dataset: str) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    return table.assign(group=table.identities.map(lambda i: i[0]), split="", dataset=dataset)


__all__ = ["dfd_shaped_table", "dfdc_shaped_table"]
