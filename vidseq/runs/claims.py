"""Claims: which worker of a search trains which configuration, as small files beside the run folders.

Before a worker trains a configuration it claims it: `save_dir/.claims/<run name>.json`,
made with `os.link` (atomic, and refused when the file exists, on local disks and on
NFSv3+), holding who claimed it. While the worker trains, a thread touches the file every
`heartbeat` seconds; the worker removes it once the run folder is finished (metrics.json
written) or when it gives the configuration up. A claim whose worker died does not block its
configuration for ever: it is stale, and the next worker that meets it takes it over, when

- its worker ran on this machine and that process is gone (at once), or
- its file has not been touched for `stale_after` seconds (any machine: a crash, a power cut;
  the machines' clocks must agree to well within that, as NTP keeps them).

A worker that finds a live claim leaves the configuration to its holder. Claims need no
database, so grid and random searches share work without Optuna too; the leaderboard skips
the hidden `.claims` folder, which a search removes when it is left empty.

    >>> claims = ClaimBoard("saved_models")  # doctest: +SKIP
    >>> with claims.take("demo_MobileNetV2_f16_gru64_0123456789") as claim:  # doctest: +SKIP
    ...     ...  # train it; None instead of a claim: another worker holds it
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CLAIMS_FOLDER = ".claims"
HEARTBEAT_SECONDS = 30
STALE_AFTER_SECONDS = 600  # twenty missed heartbeats: a busy machine or a slow file server is not a dead worker


@dataclass
class Claim:
    """A claim this process holds: released on `release()` or at the end of a `with` block.

    `evicted`: what the stale claim it replaced said (its worker, its Optuna trial), else None.
    """

    path: Path
    info: dict
    evicted: dict | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def start_heartbeat(self, seconds: float) -> None:
        def beat():
            while not self._stop.wait(seconds):
                try:
                    os.utime(self.path)
                except FileNotFoundError:  # taken over as stale (this process stalled for minutes)
                    return

        threading.Thread(target=beat, name=f"claim {self.path.stem}", daemon=True).start()

    def update(self, **info) -> None:
        """Add to what the claim says (e.g. the Optuna trial, once it exists)."""
        self.info.update(info)
        _write_new(self.path, self.info, replace=True)

    def release(self) -> None:
        self._stop.set()
        if _read(self.path).get("token") == self.info["token"]:  # never someone else's claim
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class ClaimBoard:
    """The claims of one save dir."""

    def __init__(self, save_dir: str | os.PathLike, stale_after: float = STALE_AFTER_SECONDS,
                 heartbeat: float = HEARTBEAT_SECONDS):
        self.folder = Path(save_dir) / CLAIMS_FOLDER
        self.stale_after, self.heartbeat = stale_after, heartbeat

    def take(self, name: str, **info) -> Claim | None:
        """Claim `name` (a stale claim is taken over); None when a live worker holds it."""
        path = self.folder / f"{name}.json"
        info = dict(host=socket.gethostname(), pid=os.getpid(), started=time.strftime("%Y-%m-%dT%H:%M:%S"),
                    token=uuid.uuid4().hex, **info)
        evicted = None
        for _ in range(3):  # another worker may release or take it over between two steps
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                made = _write_new(path, info)
            except FileNotFoundError:  # the folder was tidied away meanwhile
                continue
            if made:
                claim = Claim(path, info, evicted)
                claim.start_heartbeat(self.heartbeat)
                return claim
            held = self.holder(name, live_only=False)
            if held is None:
                continue  # released meanwhile: try again
            if not held["stale"]:
                return None
            evicted = _evict(path, held) or evicted
        return None

    def holder(self, name: str, live_only: bool = True) -> dict | None:
        """What the claim on `name` says (with `stale`: True or False); None when there is none
        (or, with `live_only`, when it is stale)."""
        path = self.folder / f"{name}.json"
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
        held = _read(path)
        if not held:  # vanished, or unreadable (written by hand?): judged by its age alone
            held = {"token": None}
        dead = held.get("host") == socket.gethostname() and not _process_alive(held.get("pid"))
        held["stale"] = dead or age > self.stale_after
        return None if live_only and held["stale"] else held

    def tidy(self) -> None:
        """Remove the claims folder when no claim is left in it (a save dir keeps only run folders)."""
        try:
            self.folder.rmdir()
        except OSError:  # not empty (another worker's claim), or gone
            pass

    def names(self) -> set[str]:
        """The configurations with a claim file (live or stale)."""
        return {p.stem for p in self.folder.glob("*.json")} if self.folder.is_dir() else set()


def _write_new(path: Path, info: dict, replace: bool = False) -> bool:
    """Write `info` to `path` whole: the file appears complete or not at all. Without `replace`,
    only where no file is (False otherwise)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(info))
    try:
        if replace:
            os.replace(tmp, path)
            return True
        os.link(tmp, path)  # atomic and exclusive: exactly one worker's link succeeds
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _evict(path: Path, stale: dict) -> dict | None:
    """Remove the stale claim at `path`; what it said, or None when another worker got there first.

    The file is moved aside first and checked: if it is not the claim judged stale (another
    worker took that over meanwhile and claimed afresh), it is put back.
    """
    aside = path.with_name(f".{path.name}.evicted.{uuid.uuid4().hex}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    moved = _read(aside)
    if moved.get("token") != stale.get("token"):
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        aside.unlink(missing_ok=True)
        return None
    aside.unlink(missing_ok=True)
    return stale


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _process_alive(pid) -> bool:
    if not isinstance(pid, int):
        return True  # unknown: the claim's age decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


__all__ = ["Claim", "ClaimBoard", "CLAIMS_FOLDER", "HEARTBEAT_SECONDS", "STALE_AFTER_SECONDS"]
