"""The command line's flags: one per run option, generated from `vidseq.training.config`'s fields, and
library errors said in flag terms. No TensorFlow here: `vidseq --help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Sequence

from vidseq.training.config import family_options, option_fields
from vidseq.training.families import FAMILIES
from vidseq.data.face_detectors import DEFAULT_DETECTOR, DETECTORS
from vidseq.data.faces import FaceCrop


def parse_weights(value: str) -> str | None:
    return None if value.lower() == "none" else value


def parse_json_object(value: str) -> dict:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"Received: {value!r}, which is not JSON ({err}).") from err
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError(f"Received: {value!r}. Expected a JSON object of settings.")
    return parsed


def parse_pruner(value: str) -> str | dict:
    """--pruner: a pruner's name, or a JSON object of its settings (checked with the search's other settings)."""
    return parse_json_object(value) if value.lstrip().startswith("{") else value


def parse_rnn(value: str) -> str | None:
    if value.lower() not in ("gru", "lstm", "attention", "none"):
        raise argparse.ArgumentTypeError(f"Received: {value!r}. Expected gru, lstm, attention or none.")
    return None if value.lower() == "none" else value.lower()


# Help-text groups of `vidseq train`'s flags, by the config class an option belongs to.
_GROUPS = {"RunConfig": None, "DataConfig": "videos, frames and splits", "TrainConfig": "optimizer and training",
           "HeadConfig": "sequence head (backbone models)",
           "ImageConfig": "frame classifiers (CoAtNet, MesoNet, --fine-tune)"}
_PARSERS = {"rnn": parse_rnn, "weights": parse_weights, "json": parse_json_object}  # option(type=...) names


def _family_defaults(name: str, default, families: dict[str, dict]) -> str:
    """"; default 100 (CoAtNet 25, fine-tune 10)": the option's default in each model family
    that takes it (`families`: label -> `family_options`; `default`: the field's, for options
    every family shares)."""
    shown = {label: _shown(options[name]) for label, options in families.items() if name in options}
    first = shown.pop("", _shown(default))
    others = [f"{label} {value}" for label, value in shown.items() if value != first]
    return f"; default {first}" + (f" ({', '.join(others)})" if others else "")


def _shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return " ".join(map(str, value)) or "none"
    return "none" if value is None else str(value)


def add_option_flags(p: argparse.ArgumentParser, names: Sequence[str] | None = None, suppress: bool = True,
                     **changes: dict) -> None:
    """One flag per run option (`vidseq.training.config.RunConfig`'s fields; `names`: only those).

    With `suppress`, an option not given is left out, so that the library's default for the
    model family applies (the help says each family's); else the sequence family's default is
    the flag's. `changes`: argparse settings that replace the generated ones, by option name.
    """
    families = {family.label: family_options(family) for family in FAMILIES.values()}
    groups: dict = {}
    for name, (kind, field) in option_fields().items():
        meta = dict(field.metadata)
        flag = meta.pop("flag", "--" + name.replace("_", "-"))
        if flag in (None, "--verbose") or (names is not None and name not in names):
            continue  # --verbose: every command's, below
        default = field.default
        settings = dict(dest=name, help=meta.pop("help"), **meta)
        if "type" in settings:
            settings["type"] = _PARSERS.get(settings["type"], settings["type"])
        elif "action" not in settings and isinstance(default, bool):
            settings["action"] = argparse.BooleanOptionalAction
        elif "action" not in settings and isinstance(default, (int, float)):
            settings["type"] = type(default)
        if "choices" in settings:
            settings["choices"] = [c for c in settings["choices"] if c is not None]
        if suppress:
            settings["default"] = argparse.SUPPRESS
            if "default" not in settings["help"] and default is not None and "action" not in meta:
                settings["help"] += _family_defaults(name, default, families)
        else:
            settings["default"] = default
        settings.update(changes.get(name, {}))
        flags = settings.pop("flags", (flag,))
        group = _GROUPS[kind.__name__]
        if group not in groups:
            groups[group] = p if group is None else p.add_argument_group(group)
        groups[group].add_argument(*flags, **settings)


# The `FaceCrop` fields that --face-crop's companion flags set, by flag destination.
FACE_FLAGS = {"face_detector": "detector", "face_margin": "margin", "no_face": "no_face", "max_faces": "max_faces"}


def add_face_detector_flag(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--face-detector", default=None, choices=list(DETECTORS), help=help)


def add_face_flags(p: argparse.ArgumentParser) -> None:
    """--face-detector, --face-margin, --no-face, --max-faces: the `FaceCrop` settings that --face-crop uses."""
    add_face_detector_flag(p, f"face detector (default {DEFAULT_DETECTOR}; mtcnn: about 6x slower, the detector of "
                              "runs saved before yunet)")
    p.add_argument("--face-margin", type=float, default=None, help="face crop side / face box side (default 1.3)")
    p.add_argument("--no-face", default=None, choices=["full_frame", "skip"],
                   help="for a video without any face: use full frames (default), or skip it")
    p.add_argument("--max-faces", type=int, default=None,
                   help="face tracks scored per video; the highest score counts (default 1; training uses the main face)")


def add_scoring_face_flags(p: argparse.ArgumentParser) -> None:
    """--max-faces, --no-face and --face-detector of a saved run's scoring: which faces it scores,
    its model unchanged."""
    p.add_argument("--max-faces", type=int, default=None,
                   help="face tracks scored per video, the highest score counts (default: the run's)")
    p.add_argument("--no-face", default=None, choices=["full_frame", "skip"],
                   help="a video without any face: score full frames, or skip it (default: the run's)")
    add_face_detector_flag(p, "find faces with this detector instead of the run's own")


def face_flags_given(args: argparse.Namespace) -> bool:
    """Whether any of --face-crop's companion flags (`FACE_FLAGS`) was given."""
    return any(getattr(args, dest) is not None for dest in FACE_FLAGS)


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" to an option's help, except where there is nothing to say (None, off)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.help is None:  # not 0: "(default: 0)"
            return action.help or ""
        return super()._get_help_string(action)


class ParserWithDefaults(argparse.ArgumentParser):
    """A parser whose --help shows defaults and whose errors are one line, as vidseq's own:
    "vidseq train: error: Received: --epochs abc. Expected an int. See vidseq train --help."."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, formatter_class=DefaultsFormatter, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {usage_error(message)} See {self.prog} --help.\n")


_A = {"int": "an int", "float": "a float"}


def usage_error(message: str) -> str:
    """argparse's message about a bad value in vidseq's words; other messages as argparse says them.

    >>> usage_error("argument --epochs: invalid int value: 'abc'")
    'Received: --epochs abc. Expected an int.'
    >>> usage_error("argument --split: invalid choice: 'dev' (choose from 'train', 'test')")
    "Received: --split dev. Expected one of 'train', 'test'."
    >>> usage_error("argument --rnn: Received: 'transformer'. Expected gru, lstm or none.")
    'Received: --rnn transformer. Expected gru, lstm or none.'
    """
    match = re.fullmatch(r"argument (?P<flag>\S+?): (?:invalid (?P<type>\w+) value|invalid choice|Received): "
                         r"'(?P<value>.*?)'(?:\.? ?\(choose from (?P<choices>.*)\)|\. (?P<expected>Expected .*))?",
                         message)
    if match is None:
        return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
    expected = (match["expected"] or (f"Expected one of {match['choices']}." if match["choices"] else
                                      f"Expected {_A.get(match['type'], match['type'])}."))
    return f"Received: {match['flag'].split('/')[0]} {match['value']}. {expected}"


def in_cli_terms(message: str, parser: argparse.ArgumentParser) -> str:
    """A library error in the command line's terms: `weights='random'` -> `--weights random`
    for every keyword the command has a flag for."""
    flags = {a.dest: next((o for o in a.option_strings if o.startswith("--") and not o.startswith("--no-")),
                          a.option_strings[-1])
             for a in parser._actions if a.option_strings and a.dest != "help"}

    def flag(match: re.Match) -> str:
        name, value = match["name"], match["value"]
        if name not in flags:
            return match[0]
        value = value.strip("'\"") if value[:1] in "'\"" else value
        return f"{flags[name]} {value}" if value not in ("True", "False") else (
            flags[name] if value == "True" else f"--no-{flags[name][2:]}")

    def setting(match: re.Match) -> str:  # reduce_lr['factor']=2 -> --reduce-lr {"factor": 2}
        name, key, value = match["name"], match["key"], match["value"]
        if name not in flags:
            return match[0]
        value = {"True": "true", "False": "false", "None": "null"}.get(value, value.replace("'", '"'))
        return f'{flags[name]} {{"{key}": {value}}}'

    value = r"(?P<value>'[^']*'|\"[^\"]*\"|[\w+\-/]+(?:\.[\w+\-/]+)*)"
    message = re.sub(r"\b(?P<name>[a-z_]+)\['(?P<key>\w+)'\]=" + value, setting, message)
    return re.sub(r"\b(?P<name>[a-z_]+)=" + value, flag, message)


def face_crop_from_flags(args: argparse.Namespace):
    """The `FaceCrop` (or False) that --face-crop and its companion flags (`FACE_FLAGS`) ask for."""
    given = {field: getattr(args, dest) for dest, field in FACE_FLAGS.items() if getattr(args, dest) is not None}
    if given and not getattr(args, "face_crop", False):
        raise ValueError("Received: --face-detector, --face-margin, --no-face or --max-faces without --face-crop. "
                         "Expected --face-crop with them.")
    return FaceCrop(**given) if getattr(args, "face_crop", False) else False
