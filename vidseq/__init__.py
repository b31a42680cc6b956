"""vidseq: video-sequence classification baselines, in packages by stage, in the order data flows.

    utils     atomic writes, argument checks, config fields, the disk cache, progress, quiet imports
    data      find videos (layouts, identities), split them, sample and decode frames, crop faces
    features  frozen backbones, embeddings and face crops into the cache
    models    sequence heads, CoAtNet, the fine-tuned frame classifier, and their settings
    training  the run config, the registry of model families and their recipes (fit, score)
    runs      train_test_classifier, run folders, the leaderboard, scoring, explanations, search
    cli, app  the `vidseq` command and the web app

Each package imports only its own stage and earlier ones (tests/test_architecture.py checks
it). `util.py` and `model_builder.py` (repo root) re-export the public names. Importing the
package, the config, discovery, splits or sampling loads no TensorFlow.
"""

__version__ = "0.1.0"


def check_facades() -> dict[str, str]:
    """Where `import util` and `import model_builder` load from; ImportError if either is not vidseq's.

    Python looks in the script's or notebook's own folder first, so the seed toolkit's
    `util.py` / `model_builder.py` lying there shadow vidseq's (its calls then fail with
    TypeErrors about `weights=` and the like). Checked without importing TensorFlow.

    >>> import vidseq
    >>> sorted(vidseq.check_facades())
    ['model_builder', 'util']
    """
    import importlib.util
    import sys
    from pathlib import Path

    home = Path(__file__).resolve().parent.parent
    found = {}
    for name in ("util", "model_builder"):
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None)
        if origin is None:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
        if origin is None:
            raise ImportError(f"No module named {name!r}. Expected vidseq's {name}.py: reinstall vidseq (pip install -e .).")
        path = Path(origin).resolve()
        if path != home / f"{name}.py" and "vidseq" not in path.read_text(errors="replace"):
            raise ImportError(f"`import {name}` loads {path}, not vidseq's {home / (name + '.py')}: a {name}.py in "
                              "your working folder (the seed toolkit's?) shadows it. Rename or move that file, "
                              "then restart the kernel.")
        found[name] = str(path)
    return found
