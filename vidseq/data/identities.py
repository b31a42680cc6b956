"""Who a video shows: identities from the datasets' file names, from a user's CSV file or
function, and the disjoint sets that splits keep together.

A fake shows its target and its source; the target comes first.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

IdentityMap = str | os.PathLike | Callable[[str], Iterable[str]] | None

# File names the datasets use, recognised in plain real/ + fake/ folders too (where the
# seed toolkit's users keep DFD and Celeb-DF): the identities they name, target first.
NAMED_IDENTITIES = (
    re.compile(r"(?P<target>\d{2})_(?P<source>\d{2})__.+__[^_]+"),  # DFD fake: TT_SS__scene__HASH
    re.compile(r"(?P<target>\d{2})__.+"),  # DFD real: AA__scene
    re.compile(r"(?P<target>\d{3})_(?P<source>\d{3})"),  # FF++ fake: NNN_MMM
    re.compile(r"(?P<target>\d{3})"),  # FF++ real: NNN
    re.compile(r"(?P<target>id\d+)_(?P<source>id\d+)_\d+"),  # Celeb-DF fake: idT_idS_NNNN
    re.compile(r"(?P<target>id\d+)_\d+"),  # Celeb-DF real: idT_NNNN
)
IDENTITY_SEPARATORS = re.compile(r"[\s;|]+")

def apply_identities(videos: pd.DataFrame, identities: IdentityMap, root: Path) -> None:
    """Override `identities` (and `group`) from a user's CSV file or function, in place."""
    if callable(identities):
        given = {path: identity_tuple(identities(path), f"identities({path!r})") for path in videos.path}
    else:
        given = _read_identity_file(Path(identities).expanduser(), root)
        missing = sorted(set(given) - set(videos.path))
        if missing:
            raise ValueError(
                f"Received: identities={str(identities)!r}, which names {len(missing)} file(s) that are not "
                f"videos found under {str(root)!r}, e.g. {missing[:3]}. Expected paths relative to the data "
                "directory (or absolute) of discovered videos."
            )
    for i, path in videos.path.items():
        if path in given:
            videos.at[i, "identities"] = given[path]
            videos.at[i, "group"] = given[path][0]


def _read_identity_file(path: Path, root: Path) -> dict[str, tuple[str, ...]]:
    if not path.is_file():
        raise FileNotFoundError(f"Received: identities={str(path)!r}, which is not a file. Expected a CSV "
                                "file with columns file,identities.")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if not {"file", "identities"} <= set(reader.fieldnames or ()):
            raise ValueError(f"Received: identities={str(path)!r} with columns {reader.fieldnames}. "
                             "Expected columns file,identities.")
        given = {}
        for number, row in enumerate(reader, start=2):
            file = Path(row["file"].strip()).expanduser()
            file = file if file.is_absolute() else root / file
            given[str(file.resolve())] = identity_tuple(
                IDENTITY_SEPARATORS.split((row["identities"] or "").strip()), f"{str(path)!r} line {number}")
    return given


def identity_tuple(names: Iterable[str], where: str) -> tuple[str, ...]:
    """Identities as a tuple of non-empty strings, order kept, duplicates dropped."""
    names = tuple(dict.fromkeys(str(n).strip() for n in ([names] if isinstance(names, str) else names)))
    names = tuple(n for n in names if n)
    if not names:
        raise ValueError(f"{where}: received no identity. Expected at least one name.")
    return names


def identities_from_name(stem: str) -> tuple[str, ...]:
    """The identities a FaceForensics++/DFD or Celeb-DF file name names, else the stem itself.

    >>> identities_from_name("07_20__talking_against_wall__KV6Q7D6C"), identities_from_name("id0_id1_0000")
    (('07', '20'), ('id0', 'id1'))
    >>> identities_from_name("13__walk_down_hall_angry"), identities_from_name("clip_7")
    (('13',), ('clip_7',))
    """
    for pattern in NAMED_IDENTITIES:
        match = pattern.fullmatch(stem)
        if match:
            return tuple(name for name in match.groupdict().values() if name)
    return (stem,)


class UnionFind:
    """Disjoint sets of strings (path halving): what a split must keep together."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def add(self, item: str) -> None:
        self._parent.setdefault(item, item)

    def find(self, item: str) -> str:
        self.add(item)
        while self._parent[item] != item:
            self._parent[item] = self._parent[self._parent[item]]  # path halving
            item = self._parent[item]
        return item

    def union(self, a: str, b: str) -> None:
        self._parent[self.find(a)] = self.find(b)

    def keys(self) -> dict[str, str]:
        """Item -> its component's key "min_max" ("min" alone for a single item)."""
        members: dict[str, list[str]] = {}
        for item in self._parent:
            members.setdefault(self.find(item), []).append(item)
        key = {}
        for items in members.values():
            lo, hi = min(items), max(items)
            for item in items:
                key[item] = lo if lo == hi else f"{lo}_{hi}"
        return key
