"""Config fields: every option of a run is a field of a frozen dataclass, declared with `option`.

Each stage declares the settings it reads (`vidseq.data.config.DataConfig`,
`vidseq.models.config.HeadConfig`, ..., `vidseq.training.config.RunConfig` holds them all);
the CLI makes one flag per field from its default and help.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any


def option(default: Any, help: str, **flag: Any) -> Any:
    """A config field: its default, the help its CLI flag shows, and how the flag parses where
    the default's type does not say it (`type`, `choices`, `nargs`, `metavar`; `flag`: another
    flag name, or None for no flag: say why in `help`)."""
    return field(default=default, metadata={"help": help, **flag})


def set_frozen(obj: Any, **values: Any) -> None:
    """Normalize fields of a frozen dataclass in its own __post_init__."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)
