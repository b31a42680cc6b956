"""Degradations of a video's sampled frames, as uploads suffer them: JPEG, an H.264 re-encode,
resizing, blur and noise. They act on the frames as decoded, before face detection, so the
detector sees the degraded video as it would see a user's.

A `Perturbation` is a kind and a level (`jpeg:50`); levels, from mild to severe:

- `jpeg:Q`: each frame JPEG-encoded at quality Q (1-100, OpenCV's libjpeg, 4:2:0 chroma) and
  decoded back.
- `h264:CRF`: the sampled frames re-encoded together as one H.264 clip at constant rate factor
  CRF (0-51; libx264 through imageio-ffmpeg's FFmpeg, preset medium, yuv420p, 25 fps, one
  thread) and decoded back. Sampled frames are far apart in time, so the encoder predicts
  less from one frame to the next than it would in the whole video; CRF fixes the quantizer
  all the same, so each frame's artefacts are those of that CRF.
- `resize:S`: each frame shrunk by the factor S (0-1, INTER_AREA) and kept small, as a
  lower-resolution upload is: detection and cropping see S times fewer pixels a side.
- `blur:SIGMA`: Gaussian blur of standard deviation SIGMA pixels (of the frame as decoded).
- `noise:SIGMA`: additive Gaussian noise of standard deviation SIGMA (0-255 scale) on every
  pixel and channel, clipped; drawn from `(seed, the video's content, the frame's index)`.

Every level is deterministic: the same video, frames and level give the same pixels (noise
from its seed), so a perturbed evaluation is reproducible and its results cacheable under a
key that includes `Perturbation.key()`.

    >>> from vidseq.data.perturb import parse_perturbations
    >>> [p.label for p in parse_perturbations(["jpeg:90,50", "resize:0.5"])]
    ['jpeg:90', 'jpeg:50', 'resize:0.5']
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import cv2
import numpy as np

from vidseq.utils.cache import content_fingerprint
from vidseq.utils.checks import check_int

# Bump when a degradation's pixels change: part of every perturbed cache key.
PERTURB_VERSION = 1


@dataclass(frozen=True)
class Kind:
    """One kind of degradation: what its level means, its valid range, which way is worse."""

    level: str  # what the level is, in words
    low: float
    high: float
    worse: str  # "lower" or "higher" levels degrade more
    integer: bool = False


KINDS = {
    "jpeg": Kind("JPEG quality", 1, 100, "lower", integer=True),
    "h264": Kind("H.264 CRF", 0, 51, "higher", integer=True),
    "resize": Kind("scale factor", 0.01, 1.0, "lower"),
    "blur": Kind("Gaussian sigma (px)", 0.1, 50.0, "higher"),
    "noise": Kind("noise sigma (0-255)", 0.1, 128.0, "higher"),
}


@dataclass(frozen=True)
class Perturbation:
    """A degradation of sampled frames: `kind` (one of KINDS) at `level`; `seed` draws the noise."""

    kind: str
    level: float
    seed: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Received: perturbation {self.kind!r}. Expected one of {sorted(KINDS)}.")
        spec = KINDS[self.kind]
        level = self.level
        if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)) \
                or not spec.low <= level <= spec.high or (spec.integer and float(level) != int(level)):
            kind = "an int" if spec.integer else "a number"
            shown = f"{level:g}" if isinstance(level, (int, float)) and not isinstance(level, bool) else repr(level)
            raise ValueError(f"Received: {self.kind}:{shown}. Expected {kind} in [{spec.low:g}, {spec.high:g}] "
                             f"({spec.level}).")
        object.__setattr__(self, "level", int(level) if spec.integer else float(level))

    @property
    def label(self) -> str:
        """`kind:level`, as the command line writes it."""
        return f"{self.kind}:{self.level:g}"

    def key(self) -> dict:
        """What the degraded pixels depend on: part of the cache keys of everything made from them."""
        return {**asdict(self), "version": PERTURB_VERSION}

    def apply(self, frames: np.ndarray, indices: Sequence[int], video: str | os.PathLike) -> list[np.ndarray]:
        """The RGB uint8 `frames` (sampled at `indices` of `video`) degraded, in order."""
        return APPLY[self.kind](np.asarray(frames), self.level, _rng_of(self, indices, video))


def parse_perturbations(spec: str | Sequence[str] | Mapping[str, Sequence[float]] | None,
                        seed: int = 0) -> list[Perturbation]:
    """Perturbations from `"jpeg:90,70"` strings (the CLI's `--perturb`), a list of them, or a
    `{"jpeg": [90, 70]}` mapping; checked, in the order given. `seed` draws the noise.

    >>> [p.label for p in parse_perturbations({"blur": [1, 2]})]
    ['blur:1', 'blur:2']
    """
    check_int("perturb_seed", seed, 0)
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        pairs = [(kind, levels) for kind, levels in spec.items()]
    else:
        pairs = []
        for text in [spec] if isinstance(spec, str) else spec:
            kind, _, levels = str(text).partition(":")
            if not levels:
                raise ValueError(f"Received: perturb={text!r}. Expected KIND:LEVEL[,LEVEL...] with KIND one of "
                                 f"{sorted(KINDS)}, e.g. 'jpeg:90,70,50'.")
            try:
                values = [float(v) for v in levels.split(",")]
            except ValueError as err:
                raise ValueError(f"Received: perturb={text!r}. Expected numbers after '{kind}:'.") from err
            pairs.append((kind.strip().lower(), values))
    out = [Perturbation(kind, level, seed) for kind, levels in pairs
           for level in ([levels] if np.isscalar(levels) else levels)]
    labels = [p.label for p in out]
    if len(set(labels)) < len(labels):
        raise ValueError(f"Received: perturbations {labels}. Expected each level once.")
    return out


def _rng_of(p: Perturbation, indices: Sequence[int], video) -> Callable[[int], np.random.Generator]:
    """A generator per frame: from the seed, the video's content (not its path) and the frame's index."""
    if p.kind != "noise":
        return lambda k: None
    stream = zlib.crc32(content_fingerprint(video).encode())
    return lambda k: np.random.default_rng((p.seed, stream, int(indices[k])))


def _jpeg(frames, quality, rng) -> list[np.ndarray]:
    out = []
    for frame in frames:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        out.append(cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return out


def _resize(frames, scale, rng) -> list[np.ndarray]:
    h, w = frames.shape[1:3]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return [cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in frames]


def _blur(frames, sigma, rng) -> list[np.ndarray]:
    return [cv2.GaussianBlur(frame, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101) for frame in frames]


def _noise(frames, sigma, rng) -> list[np.ndarray]:
    return [np.clip(frame + rng(k).normal(0, sigma, frame.shape), 0, 255).round().astype(np.uint8)
            for k, frame in enumerate(frames)]


def _h264(frames, crf, rng) -> list[np.ndarray]:
    """The frames as one H.264 clip at `crf`, decoded back (odd sides padded by one edge pixel)."""
    import imageio_ffmpeg  # the bundled FFmpeg, as write_video uses it

    h, w = frames.shape[1:3]
    even = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    with tempfile.TemporaryDirectory(prefix="vidseq-h264-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                   "-s", f"{even.shape[2]}x{even.shape[1]}", "-r", "25", "-i", "-", "-c:v", "libx264",
                   "-preset", "medium", "-crf", str(crf), "-pix_fmt", "yuv420p", "-threads", "1", str(clip)]
        subprocess.run(command, input=np.ascontiguousarray(even).tobytes(), check=True, capture_output=True)
        cap = cv2.VideoCapture(str(clip), cv2.CAP_FFMPEG)
        out = []
        while len(out) < len(frames):
            ok, bgr = cap.read()
            if not ok:
                break
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[:h, :w])
        cap.release()
    if len(out) != len(frames):
        raise RuntimeError(f"H.264 re-encode at crf {crf} gave {len(out)} of {len(frames)} frames back")
    return out


APPLY = {"jpeg": _jpeg, "h264": _h264, "resize": _resize, "blur": _blur, "noise": _noise}

__all__ = ["KINDS", "Perturbation", "parse_perturbations", "PERTURB_VERSION"]
