"""Assigning identities to splits (or folds) as an optimisation: keep the most fakes while each
split with a quota holds a share of the real videos and of the kept fakes within a tolerance
of it.

Identities shown together in a real video are one unit (a unit never straddles splits).
Fakes link the units they show (a target and a source) into components. A component that fits
a split (FF++'s pairs, a DFDC original with its fakes) is placed whole and loses nothing:
greedily, largest first, into the split whose quota it fills best. Where a component is too
large to place whole (DFD's actors, all linked by fakes), its units (and those of every
component that is not tiny) are assigned one by one, by two methods:

- seeded simulated annealing (`CHAINS` chains side by side, `ANNEALING_STEPS` steps: move a
  unit, swap two, or move all the units of a group of fakes), finished by a descent;
- a mixed-integer program (`scipy.optimize.milp`, HiGHS): a binary per unit and split, a
  variable per group of fakes and split that is 1 exactly where all the group's units sit in
  that split (the fakes kept), the tiny components as a divisible mass, and slack for each
  share beyond its tolerance. Given `TIME_LIMIT` seconds, it proves the best assignment.

Both maximise the fakes kept, with every video over a tolerance costing more than all the
fakes (the tolerance is met wherever it can be), and every split holding both classes. The
program's optimum replaces the annealing's only where it is better, so a seed keeps choosing
among equally good assignments; where the program runs out of time, the annealing's stands
and `Assignment.method` says so, with the program's bound. The tiny components then follow
the shares the assignment leaves them.

    >>> import numpy as np
    >>> ids = [(f"a{i}",) for i in range(10)] + [(f"b{i}",) for i in range(10)] + [(f"a{i}", f"b{i}") for i in range(10)]
    >>> labels = np.array([0] * 20 + [1] * 10)  # ten pairs of people, each with a fake linking them
    >>> result = assign_identities(ids, labels, {"test": 0.3, "train": None}, seed=0)
    >>> result.method, np.bincount(result.rows[labels == 0]).tolist(), np.bincount(result.rows[labels == 1]).tolist()
    ('whole components', [6, 14], [3, 7])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vidseq.data.identities import UnionFind

EXCLUDED_ROW = -1  # a row (a fake) whose units straddle splits
TIME_LIMIT = 30.0  # seconds the exact program may take to prove its optimum (0: annealing only)
CHAINS, ANNEALING_STEPS = 128, 1500  # simulated annealing: chains side by side (at most), steps each
WORK = 100_000  # array elements an annealing step may touch (fewer chains on large programs)
TEMPERATURES = (100.0, 0.5)  # in fakes: the annealing's first and last
TINY = 0.05  # with a large component, those of at most this share of half the smallest quota are divisible mass


@dataclass(frozen=True)
class Assignment:
    """`assign_identities`' answer: per row, the index of its split in the quotas' order (or
    `EXCLUDED_ROW`), and how it was found: "whole components" (nothing lost), "exact" (proven
    the most fakes the tolerance allows) or "annealing; not proven optimal (...)"."""

    rows: np.ndarray
    method: str


def assign_identities(identities: Sequence[tuple[str, ...]], labels: np.ndarray, quotas: dict[str, float | None],
                      fixed: np.ndarray | None = None, tolerance: float = 0.05, seed: int = 0) -> Assignment:
    """Assign every row (`identities`: who the video shows, main identity first; `labels`) to a
    split of `quotas` (name -> share of all videos of each label, or None for the one split that
    takes the rest) so that no unit of identities is in two splits.

    `fixed`: the (real, fake) videos already in splits outside `quotas` (official ones): they
    count in every share's whole. A split's real share is its real videos over all real
    videos; its fake share its fakes over all fakes kept. Deterministic for a `seed`.
    """
    labels = np.asarray(labels, int)
    fixed = np.zeros(2) if fixed is None else np.asarray(fixed, float)
    units, names = _units(identities, labels)
    if len(names) < len(quotas):
        raise ValueError(
            f"Too few groups to split: {len(names)} group(s) of identities {sorted(names)[:5]} for splits "
            f"{list(quotas)}. Each split needs identities of its own; add videos or lower val_size/test_size.")
    components = _components(units, len(names))
    comp_of_row = components[[u[0] for u in units]]
    totals = np.bincount(labels, minlength=2) + fixed
    targets = {s: q * totals for s, q in quotas.items() if q is not None}
    for s in set(quotas) - set(targets):  # the split without a quota takes what the others leave
        targets[s] = np.bincount(labels, minlength=2) - sum(targets.values())
    cap = 0.5 * min((targets[s].sum() for s, q in quotas.items() if q is not None), default=len(labels))
    sizes = np.bincount(comp_of_row, minlength=components.max() + 1)
    divided = (sizes > max(cap, 1.0)) & (np.bincount(components) > 1)  # too large to place whole
    if divided.any():
        divided |= sizes > TINY * cap
    unit_split = np.full(len(names), -1)
    method = "whole components"
    if divided.any():
        program = _Program(units, labels, divided[comp_of_row], divided[components], quotas, totals, fixed[1],
                           tolerance)
        state, method = program.solve(seed)
        unit_split[program.units] = state
        targets = program.mass_targets(state)
    whole = ~divided[comp_of_row]
    counts = np.zeros((len(sizes), 2))
    np.add.at(counts, (comp_of_row[whole], labels[whole]), 1)
    first_unit = np.unique(components, return_index=True)[1]
    placed = sorted(np.flatnonzero(~divided & (sizes > 0)), key=lambda c: names[first_unit[c]])
    order = [placed[i] for i in np.random.default_rng(seed).permutation(len(placed))]
    comp_split = _greedy(counts, order, [targets[s] for s in quotas])
    unit_split[~divided[components]] = comp_split[components[~divided[components]]]
    return Assignment(_row_splits(units, unit_split), method)


def class_units(identities: Sequence[tuple[str, ...]], labels: np.ndarray) -> tuple[int, int]:
    """How many units (identities a real video shows together are one) show in real videos, and
    how many are the main unit of a fake: at most that many splits can hold each class.

    >>> class_units([("a",), ("b",), ("a", "b"), ("c", "a")], np.array([0, 0, 1, 1]))
    (2, 2)
    """
    units, _ = _units(identities, np.asarray(labels, int))
    labels = np.asarray(labels, int)
    main = np.array([u[0] for u in units])
    return len(set(main[labels == 0].tolist())), len(set(main[labels == 1].tolist()))


def _units(identities: Sequence[tuple[str, ...]], labels: np.ndarray) -> tuple[list[list[int]], list[str]]:
    """Per row, the numbers of its units (identities a real video shows together are one),
    main identity's first; and each unit's name (its root identity)."""
    hard = UnionFind()
    for ids, label in zip(identities, labels):
        for other in ids:
            hard.add(other)
            if label == 0:
                hard.union(ids[0], other)
    number: dict[str, int] = {}
    units = [[number.setdefault(hard.find(x), len(number)) for x in ids] for ids in identities]
    return units, list(number)


def _components(units: list[list[int]], n_units: int) -> np.ndarray:
    """The component number of each unit: units linked by fakes (rows showing several) share one."""
    linked = UnionFind()
    for first, *others in units:
        for other in others:
            linked.union(str(first), str(other))
    return np.unique([linked.find(str(u)) for u in range(n_units)], return_inverse=True)[1]


def _greedy(counts: np.ndarray, order: list[int], targets: list[np.ndarray]) -> np.ndarray:
    """Split index per component (`counts`: its real and fake videos), largest first (ties in
    `order`): the split whose per-label target it fills best."""
    order = sorted(order, key=lambda c: -counts[c].sum())  # stable: ties keep the seeded order
    targets = np.array(targets, float)
    scale = np.maximum(targets, 1)
    assigned = np.zeros_like(targets)
    comp_split = np.full(len(counts), -1)
    for c in order:
        n = counts[c]
        fill = ((targets - assigned) / scale) @ n / max(n.sum(), 1.0)
        comp_split[c] = k = int(np.argmax(fill))
        assigned[k] += n
    return comp_split


def _row_splits(units: list[list[int]], unit_split: np.ndarray) -> np.ndarray:
    """Each row's split: its main unit's, or `EXCLUDED_ROW` where its units sit in different splits."""
    return np.array([unit_split[u[0]] if all(unit_split[x] == unit_split[u[0]] for x in u[1:]) else EXCLUDED_ROW
                     for u in units])


class _Program:
    """The units of the components too large to place whole, the fakes that link them, and the
    small components as a divisible mass: how good an assignment of those units to splits is."""

    def __init__(self, units, labels, in_program, unit_in_program, quotas, totals, fixed_fakes, tolerance):
        self.splits = list(quotas)
        self.units = np.flatnonzero(unit_in_program)
        index = {u: i for i, u in enumerate(self.units)}
        self.own = np.zeros((len(self.units), 2))  # videos whose every unit is this one: kept wherever it goes
        groups: dict[tuple[int, ...], int] = {}  # fakes by the units they show: kept where all sit together
        for row in np.flatnonzero(in_program):
            members = tuple(sorted({index[u] for u in units[row]}))
            if len(members) == 1:
                self.own[members[0], labels[row]] += 1
            else:
                groups[members] = groups.get(members, 0) + 1
        self.groups, self.linked = list(groups), np.array(list(groups.values()), float)
        width = max(map(len, self.groups), default=1)
        self.members = np.array([(*m, *(m[:1] * (width - len(m)))) for m in self.groups], int).reshape(-1, width)
        self.small = np.bincount(labels[~in_program], minlength=2).astype(float)
        self.quotas = np.array([np.nan if q is None else q for q in quotas.values()])
        self.rest = np.isnan(self.quotas)
        self.totals, self.fixed_fakes, self.tolerance = totals, fixed_fakes, tolerance
        self.weight = self.linked.sum() + self.own[:, 1].sum() + 1  # a video over the tolerance outweighs every fake

    def counts(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Real and kept fake videos per split, (B, S) each, of a batch of assignments (B, units)."""
        where = states[:, self.members]  # (B, groups, members): the split of each group's units
        first = where[:, :, 0]
        kept = (where == first[:, :, None]).all(axis=2)
        real, fake = [], []
        for k in range(len(self.splits)):  # element-wise, not BLAS: thousands of tiny products
            here = states == k
            real.append((here * self.own[:, 0]).sum(axis=1))
            fake.append((here * self.own[:, 1]).sum(axis=1) + ((first == k) & kept) @ self.linked)
        return np.stack(real, axis=1), np.stack(fake, axis=1)

    def bounds(self, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per label, the lowest and highest count each split may hold: (2, B, S) each."""
        whole = np.stack([np.full(len(fake), self.totals[0]), self.fixed_fakes + fake.sum(axis=1) + self.small[1]])
        quotas = np.where(self.rest, 0.0, self.quotas)
        low = np.maximum(whole[:, :, None] * (quotas - self.tolerance), 0.0)
        high = np.where(self.rest, np.inf, whole[:, :, None] * (quotas + self.tolerance))
        return low, high

    def score(self, states: np.ndarray, weight: float | None = None) -> np.ndarray:
        """Fakes kept minus `weight` (default: more than all fakes) per video over the tolerance (with the
        mass placed at best), per assignment."""
        return self.value(*self.counts(states), weight)

    def value(self, real: np.ndarray, fake: np.ndarray, weight: float | None = None) -> np.ndarray:
        """`score` from the assignments' `counts`; a split without a class (that the mass cannot
        give it) costs more than any excess."""
        low, high = self.bounds(fake)
        excess, missing = 0.0, 0.0
        for label, count in enumerate((real, fake)):
            need, over = np.maximum(low[label] - count, 0), np.maximum(count - high[label], 0)
            room = np.maximum(high[label] - np.maximum(count, low[label]), 0)
            mass = self.small[label]
            excess = excess + over.sum(axis=1) + np.maximum(need.sum(axis=1) - mass, 0)
            if not self.rest.any():  # no split takes what is left over: beyond the room it is excess too
                excess = excess + np.maximum(mass - need.sum(axis=1) - room.sum(axis=1), 0)
            missing = missing + np.maximum((count < 1).sum(axis=1) - mass, 0)
        weight = self.weight if weight is None else weight
        return fake.sum(axis=1) - weight * excess - weight * (self.totals.sum() + 1) * missing

    def mass_targets(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Where the small components' videos should go, per split and label, given `state`."""
        real, fake = self.counts(state[None])
        low, high = self.bounds(fake)
        targets = np.zeros((len(self.splits), 2))
        for label, count in enumerate((real[0], fake[0])):
            need = np.maximum(low[label, 0] - count, (count < 1).astype(float))  # both classes in every split
            mass = self.small[label]
            share = need * min(1.0, mass / need.sum()) if need.sum() else need
            left = mass - share.sum()
            if self.rest.any():
                share[np.argmax(self.rest)] += left
            else:
                room = np.maximum(high[label, 0] - np.maximum(count, low[label, 0]), 0)
                fill = room * min(1.0, left / room.sum()) if room.sum() else room
                share += fill + (left - fill.sum()) / len(share)
            targets[:, label] = share
        return {s: targets[k] for k, s in enumerate(self.splits)}

    def solve(self, seed: int) -> tuple[np.ndarray, str]:
        """The best assignment found (`search`), or the program's where it proves a better one; and how."""
        state = self.search(seed)
        if self.score(state[None])[0] >= self.weight - 1.5:  # every fake kept, within the tolerance: optimal
            return state, "exact"
        if TIME_LIMIT <= 0:
            return state, "annealing; not proven optimal (the exact program was not run: TIME_LIMIT = 0)"
        return self.solve_exactly(state)

    def search(self, seed: int) -> np.ndarray:
        """The best assignment seeded simulated annealing finds: `CHAINS` chains side by side, each
        step proposing to move a unit, swap two, or move all the units of a group of fakes; the
        penalty per video over the tolerance rises from 1 fake to its full weight as the
        temperature falls. A descent from the best finishes it. Deterministic for a `seed`."""
        rng = np.random.default_rng(seed)
        U, S, G = len(self.units), len(self.splits), len(self.groups)
        chains = np.arange(int(np.clip(WORK // (U + self.members.size), 8, CHAINS)))  # fewer where each is large
        states = rng.integers(S, size=(len(chains), U))
        best, best_score = states[0], -np.inf
        counts = self.counts(states)
        for step in range(ANNEALING_STEPS):
            progress = step / (ANNEALING_STEPS - 1)
            temperature = TEMPERATURES[0] * (TEMPERATURES[1] / TEMPERATURES[0]) ** progress
            weight = self.weight ** progress  # 1 fake at first, then more than all of them
            proposal = states.copy()
            kind, unit, other, split = (rng.random(len(chains)), rng.integers(U, size=len(chains)),
                                        rng.integers(U, size=len(chains)), rng.integers(S, size=len(chains)))
            move = kind < 0.5
            proposal[chains[move], unit[move]] = split[move]
            swap = (kind >= 0.5) & (kind < 0.75)
            proposal[chains[swap], unit[swap]], proposal[chains[swap], other[swap]] = (
                states[chains[swap], other[swap]], states[chains[swap], unit[swap]])
            group = ~move & ~swap
            if G and group.any():
                members = self.members[rng.integers(G, size=int(group.sum()))]
                proposal[chains[group][:, None], members] = split[group][:, None]
            proposed = self.counts(proposal)
            now, then = self.value(*counts, weight), self.value(*proposed, weight)
            accept = (then >= now) | (rng.random(len(chains)) < np.exp(np.minimum(then - now, 0) / temperature))
            states[accept] = proposal[accept]
            counts = tuple(np.where(accept[:, None], new, old) for new, old in zip(proposed, counts))
            hard = self.value(*counts)
            if hard.max() > best_score:
                best, best_score = states[int(np.argmax(hard))].copy(), float(hard.max())
        return self._descend(best)

    def _descend(self, state: np.ndarray) -> np.ndarray:
        """Best-improvement descent over moves of one unit and swaps of two (where they fit in `WORK`)."""
        U, S = len(self.units), len(self.splits)
        unit, split = np.divmod(np.arange(U * S), S)
        a, b = np.triu_indices(U if U * (U - 1) // 2 * U <= 100 * WORK else 0, 1)
        value = float(self.score(state[None])[0])
        while U * S * U <= 100 * WORK:
            moves = np.repeat(state[None], U * S, axis=0)
            moves[np.arange(U * S), unit] = split
            swaps = np.repeat(state[None], len(a), axis=0)
            swaps[np.arange(len(a)), a], swaps[np.arange(len(a)), b] = state[b], state[a]
            neighbours = np.concatenate([moves, swaps])
            scores = self.score(neighbours)
            i = int(np.argmax(scores))
            if scores[i] <= value + 1e-9:
                break
            state, value = neighbours[i], float(scores[i])
        return state

    def solve_exactly(self, state: np.ndarray) -> tuple[np.ndarray, str]:
        """`state`, or the program's optimum (`scipy.optimize.milp`) where that is better; and whether
        it was proven optimal within `TIME_LIMIT`."""
        from scipy.optimize import Bounds, LinearConstraint, milp  # here: most splits never need it
        from scipy.sparse import coo_matrix

        U, S, G = len(self.units), len(self.splits), len(self.groups)
        constrained = np.flatnonzero(~self.rest)
        # Variables: x (unit, split) binary; z (group, split) = 1 where all its units sit in that split;
        # y (split, label) the small components' mass; e (constrained split, 4) the excess over the tolerance.
        X, Z, Y, E = 0, U * S, U * S + G * S, U * S + G * S + S * 2
        n = E + 4 * len(constrained)
        rows, cols, vals, lower, upper = [], [], [], [], []

        def constraint(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
            for c, v in entries:
                rows.append(len(lower))
                cols.append(c)
                vals.append(v)
            lower.append(lo)
            upper.append(hi)

        for u in range(U):
            constraint([(X + u * S + k, 1.0) for k in range(S)], 1, 1)
        for g, members in enumerate(self.groups):  # z = 1 exactly where all the group's units sit in split k
            for k in range(S):
                for u in members:
                    constraint([(Z + g * S + k, 1.0), (X + u * S + k, -1.0)], -np.inf, 0)
                constraint([(Z + g * S + k, 1.0)] + [(X + u * S + k, -1.0) for u in members], 1 - len(members),
                           np.inf)
        for label in (0, 1):
            constraint([(Y + k * 2 + label, 1.0) for k in range(S)], self.small[label], self.small[label])

        def count(k: int, label: int) -> list[tuple[int, float]]:
            entries = [(X + u * S + k, self.own[u, label]) for u in range(U) if self.own[u, label]]
            if label == 1:
                entries += [(Z + g * S + k, n_g) for g, n_g in enumerate(self.linked)]
            return entries + [(Y + k * 2 + label, 1.0)]

        for k in range(S):  # every split needs both classes
            for label in (0, 1):
                constraint(count(k, label), 1, np.inf)
        all_fakes = [entry for k in range(S) for entry in count(k, 1)]
        for i, k in enumerate(constrained):
            q, excess = self.quotas[k], E + 4 * i
            constraint(count(k, 0) + [(excess, -1.0)], -np.inf, (q + self.tolerance) * self.totals[0])
            constraint(count(k, 0) + [(excess + 1, 1.0)], (q - self.tolerance) * self.totals[0], np.inf)
            for slot, share in ((2, q + self.tolerance), (3, q - self.tolerance)):
                entries = count(k, 1) + [(c, -share * v) for c, v in all_fakes]
                if slot == 2:
                    constraint(entries + [(excess + slot, -1.0)], -np.inf, share * self.fixed_fakes)
                else:
                    constraint(entries + [(excess + slot, 1.0)], share * self.fixed_fakes, np.inf)
        cost = np.zeros(n)
        cost[Z:Y] = -np.repeat(self.linked, S)
        cost[E:] = self.weight
        upper_bounds = np.r_[np.ones(Y), np.repeat(self.small[None], S, axis=0).ravel(), np.full(n - E, np.inf)]
        matrix = coo_matrix((vals, (rows, cols)), shape=(len(lower), n)).tocsr()
        result = milp(cost, integrality=np.r_[np.ones(Z), np.zeros(n - Z)], bounds=Bounds(np.zeros(n), upper_bounds),
                      constraints=LinearConstraint(matrix, lower, upper),
                      options=dict(time_limit=TIME_LIMIT, mip_rel_gap=0.5 / self.weight))
        if result.status != 0:
            bound = "" if result.get("mip_dual_bound") is None else (
                f"; at most {int(self.own[:, 1].sum() - result.mip_dual_bound + 1e-6)} of these fakes can be kept")
            why = {1: f"it stopped after {TIME_LIMIT:g} s",
                   2: "no assignment holds both classes in every split"}.get(result.status, result.message)
            return state, f"annealing; not proven optimal (the exact program: {why}{bound})"
        found = result.x[X:Z].reshape(U, S).argmax(axis=1)
        if self.score(found[None])[0] > self.score(state[None])[0] + 0.5:  # better than the annealing's
            return found, "exact"
        return state, "exact"


__all__ = ["Assignment", "assign_identities", "class_units", "EXCLUDED_ROW", "TIME_LIMIT"]
