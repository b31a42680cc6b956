"""The data settings of a run: which videos go where, and which frames of them are read.

    >>> DataConfig(val_size=0.2).split_by
    'identities'
"""

from __future__ import annotations

from dataclasses import dataclass

from vidseq.data.faces import FaceCrop, face_settings
from vidseq.data.sampling import STRATEGIES
from vidseq.data.layout_readers import COMPRESSIONS
from vidseq.data.splits import SPLIT_BY, TOLERANCE, check_split_sizes, check_tolerance
from vidseq.utils.checks import check_choice, check_int
from vidseq.utils.options import option

TRUNCATED = ("skip", "keep")  # a video whose frames stop short of its container's count: skipped, or kept


@dataclass(frozen=True)
class DataConfig:
    """Which videos go where, and which frames of them are read."""

    strategy: str = option("uniform", "which frames to sample", choices=STRATEGIES)
    face_crop: bool | FaceCrop = option(False, "crop around each video's face (found by YuNet; see --face-detector)")
    val_size: float = option(0.15, "share of the videos for validation (model selection)", type=float)
    test_size: float = option(0.15, "share of the videos for the test", type=float)
    split_by: str = option("identities", "identities: no person in two splits, fakes that straddle left out; "
                                         "group: only each video's main (target) identity kept apart",
                           choices=SPLIT_BY)
    split_tolerance: float = option(TOLERANCE, "how far (a share: 0.05 = 5 points) each val/test split's (or fold's) "
                                               "shares of the real videos and of the kept fakes may stray from its "
                                               "size, where fakes that link identities force a trade-off",
                                    type=float)
    folds: int | None = option(None, "identity k-fold cross-validation: k runs, each testing on a fold of identities "
                                     "(validation from the other folds), out-of-fold scores pooled in one folder",
                               type=int)
    fold: int | None = option(None, "the fold a cross-validation's run tests on (set by folds; not a flag)", flag=None)
    identities: str | None = option(None, "a CSV file,identities saying who each video shows (overrides what file "
                                          "names say)", metavar="CSV")
    truncated: str = option("skip", "a video whose frames stop short of what its container declares: skip it or "
                                    "keep the frames that decode", choices=TRUNCATED)
    compression: str = option("c23", "FaceForensics++/DFD quality folder: raw, c23 or c40")

    def __post_init__(self):
        check_choice("strategy", self.strategy, STRATEGIES)
        face_settings(self.face_crop)
        check_split_sizes(self.val_size, self.test_size)
        check_choice("split_by", self.split_by, SPLIT_BY)
        check_choice("truncated", self.truncated, TRUNCATED)
        check_choice("compression", self.compression, COMPRESSIONS)
        check_tolerance(self.split_tolerance)
        if self.folds is not None:
            check_int("folds", self.folds, 2)
        if self.fold is not None:
            check_int("fold", self.fold, 1, self.folds or 1)

    @property
    def face(self) -> FaceCrop | None:
        """The face-crop settings (None: whole frames)."""
        return face_settings(self.face_crop)

    @property
    def on_truncated(self) -> str:
        """How reads treat a truncated file: refuse it ("raise"; the run skips it) or "keep" its frames."""
        return "keep" if self.truncated == "keep" else "raise"
