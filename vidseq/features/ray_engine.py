"""Per-video work on a Ray cluster through Ray Data: a pool of actors, each holding its model.

Generic plumbing only: the caller passes a callable class whose instances build their
model once and turn a batch of rows into result rows (writing any big result to a shared
cache themselves). Ray retries a batch whose actor dies (Ray Data restarts the actor).

    >>> rows = [{"index": 0, "path": "/shared/videos/a.mp4"}]
    >>> for row in map_rows(rows, Worker, (settings,), batch_size=4):  # doctest: +SKIP
    ...     print(row["index"], row["status"])
"""

from __future__ import annotations

import math
import os
import socket
from typing import Any, Iterator, Sequence

INSTALL_HINT = 'pip install "vidseq[ray]"'
# Test-only fault injection: the first worker to see this variable creates the named file
# and exits abruptly, once, so that tests can prove Ray's retry loses nothing.
FAULT_ONCE_ENV = "VIDSEQ_TEST_RAY_EXIT_ONCE"


def check_ray() -> None:
    """Raise a ValueError that says how to install Ray when it is missing."""
    try:
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ValueError(f"Received: engine='ray', but Ray is not installed ({err}). Expected: {INSTALL_HINT}.") from err


def check_address(address: str | None, timeout: float = 5.0) -> None:
    """Fail fast when nothing answers at a "host:port" (or "ray://host:port") address: `ray.init`
    would retry it for minutes. None, "auto" and other forms go to Ray unchecked."""
    if address is None:
        return
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not (sep and host and port.isdigit()):
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        raise ValueError(f"Received: address={address!r}, but nothing answers at {host}:{port} ({err}). Expected "
                         "the address of a running Ray cluster's head (`ray start --head` prints it), or 'auto' "
                         "on one of its nodes.") from err


def connect(address: str | None = None) -> None:
    """Join the cluster at `address` ("auto": the one `ray start` made here), or start a local
    one; a session already connected (e.g. `ray.init(num_cpus=2)` in a notebook) is kept."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level="warning")


def actor_resources(workers: int | None) -> dict[str, Any]:
    """Ray Data actor options: one GPU per actor when the cluster has GPUs (one actor per GPU);
    else CPU actors, by default one per node holding all its CPUs (the backbone's inference
    uses them all, as the local engine does), or `workers` actors sharing the CPUs."""
    import ray

    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return {"concurrency": workers or gpus, "num_gpus": 1}
    node_cpus = [node["Resources"].get("CPU", 0) for node in ray.nodes() if node["Alive"]]
    per_node = max(1, int(min(node_cpus)))
    if workers is None:
        return {"concurrency": len(node_cpus), "num_cpus": per_node}
    return {"concurrency": workers, "num_cpus": max(1, min(per_node, int(sum(node_cpus)) // workers))}


def map_rows(rows: Sequence[dict], worker_class: type, worker_args: tuple, batch_size: int = 4,
             workers: int | None = None, address: str | None = None) -> Iterator[dict]:
    """Yield the result rows of `worker_class(*worker_args)(batch)` over `rows`, as they finish."""
    import ray

    connect(address)
    resources = actor_resources(workers)
    # Smaller batches when there are few rows, so that every actor gets some.
    batch_size = max(1, min(batch_size, math.ceil(len(rows) / resources["concurrency"])))
    dataset = ray.data.from_items(list(rows), override_num_blocks=math.ceil(len(rows) / batch_size))
    results = dataset.map_batches(worker_class, fn_constructor_args=worker_args, batch_size=batch_size,
                                  batch_format="numpy", **resources)
    for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
        columns = list(batch)
        for values in zip(*(batch[c] for c in columns)):
            yield dict(zip(columns, values))


def fault_hook() -> None:
    """Exit this worker process once when the test-only FAULT_ONCE_ENV asks for it."""
    marker = os.environ.get(FAULT_ONCE_ENV)
    if marker and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
