"""Every option's own check runs before TensorFlow loads: a bad value of any config field fails,
in Python and on the command line, naming what it received, with TensorFlow never imported.

The fields are walked (`option_fields`), so a new option is covered the day it is declared:
its bad values come from its type, or from BAD below when the type does not say them.
"""

import subprocess
import sys
import textwrap

# Options whose range the type does not tell: a value outside it, in Python and on the command line.
BAD = {
    "img_model_name": ("VGG16", "VGG16"), "weights": ("nonsense", "nonsense"),
    "identities": ("nowhere.csv", "nowhere.csv"), "run_name": ("a/b", "a/b"), "compression": ("c99", "c99"),
    "face_crop": ("yes", None), "early_stopping": ("yes", None), "callbacks": ("print", None),
    "reduce_lr": ({"factor": 2.0}, '{"factor": 2}'), "rnn": ("transformer", "transformer"),
    "rnn_units": ((0,), "0"), "dense_units": ((0,), "0"), "image_size": (100, "100"), "verbose": (3, None),
    "cache_dir": (5, None), "save_dir": (5, None),  # any folder name is valid on the command line
    "fold": (0, None),  # set by folds, never a flag
}

SCRIPT = textwrap.dedent('''
    import dataclasses, json, sys
    from vidseq.cli import commands as cli
    from vidseq.training.config import RunConfig, family_options, option_fields
    from vidseq.training.families import FAMILIES

    BAD = json.loads(sys.argv[1])
    data_dir = sys.argv[2]
    failures = []

    def bad_values(name, field):
        """(Python value, command-line value or None) pairs outside the option's range."""
        if name in BAD:
            python, flag = BAD[name]
            return [(tuple(python) if isinstance(python, list) else python, flag)]
        meta, default = field.metadata, field.default
        if "choices" in meta:
            return [("nonsense", "nonsense")]
        kind = meta.get("type", type(default))
        if kind is bool:
            return [("yes", None)]  # a flag without a value on the command line: only Python can be wrong
        if kind is int:
            return [(-1, "-1"), (2.5, None)]
        if kind is float:
            return [(2.0, "2"), (-1.0, "-1")]
        raise AssertionError(f"no bad value for option {name!r} ({kind}): add one to BAD")

    def model_for(name):
        """A model whose runs take the option (num_frames and the model name: every one)."""
        family = next((f for f in FAMILIES.values() if name in family_options(f)), FAMILIES["sequence"])
        return {"sequence": ("MobileNetV2", {}), "coatnet": ("CoAtNet-0", {}),
                "finetune": ("MobileNetV2", {"fine_tune": True})}[family.name]

    for name, (kind, field) in option_fields().items():
        model, extra = model_for(name)
        flag = field.metadata.get("flag", "--" + name.replace("_", "-"))
        for python, given in bad_values(name, field):
            options = {**extra, name: python}
            positional = {k: options.pop(k, default) for k, default in (("num_frames", 8), ("img_model_name", model))}
            try:
                RunConfig.from_options(positional["num_frames"], positional["img_model_name"], **options)
                failures.append(f"{name}={python!r} passed")
            except ValueError as err:
                if name not in str(err):
                    failures.append(f"{name}={python!r}: the error does not name it: {err}")
            if "tensorflow" in sys.modules or "keras" in sys.modules:
                failures.append(f"{name}={python!r}: TensorFlow imported")
                break
            if given is None or flag is None:
                continue
            argv = ["train", data_dir, flag, *given.split(" ")]
            if model != "MobileNetV2" or extra:
                argv += ["--model", model] + (["--fine-tune"] if extra else [])
            try:
                code = cli.main(argv)
            except SystemExit as exit:  # argparse's own checks (a type, a choice)
                code = exit.code
            if code != 2:
                failures.append(f"vidseq {' '.join(argv)}: exit {code}")
            if "tensorflow" in sys.modules or "keras" in sys.modules:
                failures.append(f"vidseq {' '.join(argv)}: TensorFlow imported")
                break
    print(json.dumps(failures))
''')


def test_every_bad_option_value_fails_before_tensorflow_loads(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT, __import__("json").dumps(BAD), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    failures = __import__("json").loads(result.stdout.strip().splitlines()[-1])
    assert failures == [], "\n".join(failures)
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidseq train: error:")]
    assert errors and all("Traceback" not in line for line in result.stderr.splitlines())
    for flag in ("--epochs -1", "--dropout 2", "--batch-size -1", "--val-size 2", "--reduce-lr"):
        assert any(flag in line for line in errors), (flag, errors)  # said in the command line's terms
