"""A small synthetic deepfake dataset that needs no download: `vidseq demo` trains on it.

Every clip is a face photograph that ships with the installed dependencies (scikit-image's
astronaut, matplotlib's Grace Hopper) filmed by a virtual camera: smooth pan, zoom and roll,
drifting lighting and sensor noise. A fake clip is the same kind of clip with the OTHER
photo's face swapped onto the head: warped onto the face box, blended through a feathered
elliptical mask, colour only partly matched, slightly blurred, and flickering from frame to
frame. The swap is done in photo coordinates, before the camera, so it moves with the head.
Strengths are drawn per video, so some fakes are subtle.

Frame synthesis (`plan_clip`, `render_clip`) is pure numpy/OpenCV and separate from encoding
(`make_demo_dataset`), so frames can be checked without writing files.
"""

from __future__ import annotations

import functools
import json
import numbers
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from vidseq.utils.atomic import write_json
from vidseq.utils.checks import check_int, is_int
from vidseq.data.video_io import write_video

# Bump when the rendering changes, so that existing demo datasets are regenerated.
GENERATOR_VERSION = 3  # 2: stronger blur and colour mismatch; heads balanced per class. 3: blur relative to the face
MANIFEST = "demo.json"
CLASSES = ("real", "fake")  # index = label

# Face boxes (x, y, w, h) in each photo's own pixels, found once with
# `mtcnn.MTCNN().detect_faces(photo)` (confidence 0.999 and 0.989) and hard-coded here so
# that generating the dataset needs neither TensorFlow nor a network.
FACE_BOXES = {
    "astronaut": (182, 64, 83, 107),
    "grace_hopper": (178, 110, 173, 220),
}
PHOTOS = tuple(FACE_BOXES)

Seed = int | Sequence[int]


@functools.lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 photo by name (one of `PHOTOS`), read from files installed with the deps."""
    if name == "astronaut":
        from skimage import data

        photo = data.astronaut()
    elif name == "grace_hopper":
        from matplotlib import cbook

        bgr = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
        photo = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    else:
        raise ValueError(f"Received: name={name!r}. Expected one of {PHOTOS}.")
    photo.setflags(write=False)  # cached and shared: nobody may modify it
    return photo


@dataclass(frozen=True)
class ClipPlan:
    """Everything random about one clip, drawn up front so real and fake renderings share it."""

    size: tuple[int, int]  # frame (height, width)
    photo: str  # the head
    flip: bool
    pad: int  # backdrop margin around the photo in the scene: wider than any camera view
    face_box: tuple[int, int, int, int]  # the head's face (x, y, w, h) in scene pixels
    transforms: np.ndarray  # (T, 2, 3) affine maps from scene to frame pixels
    background: np.ndarray  # (4, 4, 3) colours, upsampled into a blurry backdrop
    gains: np.ndarray  # (T, 3) per-channel lighting gain
    offsets: np.ndarray  # (T,) brightness offset
    noise_sigma: float
    noise_seed: int
    # The face swap, used only when rendering a fake.
    source_flip: bool
    misalign: np.ndarray  # (4,) box jitter (dx, dy, dw, dh) as fractions of the face box
    alphas: np.ndarray  # (T,) blend opacity per frame (base opacity + flicker)
    colour_match: float  # 0 = source colours kept, 1 = fully matched to the target skin
    casts: np.ndarray  # (T, 3) colour offset of the patch per frame (a cast + flicker)
    feather: float  # mask edge blur, as a fraction of the face width
    blur: float  # patch blur sigma, as a fraction of the face width

    def face_boxes(self) -> np.ndarray:
        """(T, 4) float face boxes (x, y, w, h) in frame pixels, one per frame."""
        x, y, w, h = self.face_box
        corners = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], float)
        mapped = np.einsum("tij,kj->tki", self.transforms, corners)
        low, high = mapped.min(axis=1), mapped.max(axis=1)
        return np.concatenate([low, high - low], axis=1)


def plan_clip(
    seed: Seed, num_frames: int = 45, size: tuple[int, int] = (240, 320), photo: str | None = None
) -> ClipPlan:
    """Draw a clip's randomness from `np.random.default_rng(seed)`; real or fake, same draws.

    `photo` fixes the head (one of `PHOTOS`) instead of drawing it.
    """
    rng = np.random.default_rng(seed)
    frame_h, frame_w = size
    drawn = PHOTOS[rng.integers(len(PHOTOS))]
    photo = photo or drawn
    flip = bool(rng.random() < 0.5)
    _, _, box_w, box_h = FACE_BOXES[photo]
    t = np.linspace(0.0, 1.0, num_frames)

    # Camera: the face starts at 38-52% of the frame height (MTCNN needs >= ~60 px) and
    # zooms in or out by up to 15% along a smooth ease.
    zoom = np.exp(rng.uniform(-0.15, 0.15) * (1 - np.cos(np.pi * t)) / 2)
    scales = rng.uniform(0.38, 0.52) * frame_h / box_h * zoom
    roll = np.deg2rad(rng.uniform(-4, 4) + rng.uniform(-3, 3) * _waves(rng, t, 1)[:, 0])

    # Pan: the face centre wanders on slow sines, kept so the whole face box stays in frame.
    amplitude = rng.uniform(0, 0.06, 2) * (frame_w, frame_h)
    half_extent = scales.max() * np.hypot(box_w, box_h) / 2 + 4  # room for any roll
    low, high = half_extent + amplitude, np.array([frame_w, frame_h]) - half_extent - amplitude
    centres = rng.uniform(low, high) + amplitude * _waves(rng, t, 2)  # (T, 2)

    # Scene = the photo (flipped as planned) on a backdrop wide enough for the widest view.
    pad = int(np.ceil(np.hypot(frame_h, frame_w) / scales.min()))
    x, y, w, h = FACE_BOXES[photo]
    if flip:
        x = load_photo(photo).shape[1] - x - w
    face_box = (x + pad, y + pad, w, h)

    # Scene -> frame: rotate and scale about the face centre, then move it to `centres[t]`.
    cos, sin = np.cos(roll) * scales, np.sin(roll) * scales
    linear = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)  # (T, 2, 2)
    shift = centres - linear @ np.array([face_box[0] + w / 2, face_box[1] + h / 2])

    return ClipPlan(
        size=(frame_h, frame_w),
        photo=photo,
        flip=flip,
        pad=pad,
        face_box=face_box,
        transforms=np.concatenate([linear, shift[:, :, None]], axis=2),
        background=rng.uniform(40, 210, (4, 4, 1)) + rng.uniform(-35, 35, (4, 4, 3)),  # muted blobs
        # Lighting: a fixed colour balance plus slow drifts in brightness and white balance.
        gains=np.float32(rng.uniform(0.85, 1.15, 3) * (1 + rng.uniform(0, 0.12) * _waves(rng, t, 1))
                         * (1 + rng.uniform(0, 0.05, 3) * _waves(rng, t, 3))),
        offsets=np.float32(rng.uniform(-15, 15) + rng.uniform(0, 8) * _waves(rng, t, 1)[:, 0]),
        noise_sigma=float(rng.uniform(1.5, 5.0)),
        noise_seed=int(rng.integers(2**32)),
        source_flip=bool(rng.random() < 0.5),
        misalign=rng.uniform(-0.04, 0.04, 4),
        alphas=np.float32(rng.uniform(0.75, 1.0) - rng.uniform(0, 0.12) * rng.random(num_frames)),
        colour_match=float(rng.uniform(0.1, 0.6)),
        casts=np.float32(rng.uniform(-16, 16, 3) + rng.uniform(0, 6) * rng.standard_normal((num_frames, 3))),
        feather=float(rng.uniform(0.06, 0.14)),
        blur=float(rng.uniform(0.019, 0.036)),
    )


def _waves(rng: np.random.Generator, t: np.ndarray, n: int) -> np.ndarray:
    """(T, n) slow sines in [-1, 1]: 0.2-1 cycles per clip, random phases."""
    return np.sin(2 * np.pi * rng.uniform(0.2, 1.0, n) * t[:, None] + rng.uniform(0, 2 * np.pi, n))


def render_clip(
    seed: Seed, fake: bool, num_frames: int = 45, size: tuple[int, int] = (240, 320), photo: str | None = None
) -> np.ndarray:
    """Render one clip as RGB uint8 frames `(num_frames, H, W, 3)`.

    The same `seed` gives the same camera, lighting and noise with `fake=True` or False:
    the two renderings differ only by the face swap.
    """
    plan = plan_clip(seed, num_frames, size, photo)
    scene = _scene(plan)
    if fake:
        roi, patch, mask = _swap_layers(plan, scene)
        base = scene[roi].astype(np.float32)
        delta = patch - base
    noise_rng = np.random.default_rng(plan.noise_seed)
    frame_h, frame_w = plan.size
    frames = np.empty((num_frames, frame_h, frame_w, 3), np.uint8)
    for i in range(num_frames):
        if fake:
            # Flicker: opacity and colour cast of the blend change a little every frame.
            blended = base + (plan.alphas[i] * mask) * (delta + plan.casts[i])
            scene[roi] = np.clip(blended, 0, 255)
        view = cv2.warpAffine(scene, plan.transforms[i], (frame_w, frame_h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        view = (view * plan.gains[i] + plan.offsets[i]
                + noise_rng.standard_normal(view.shape, dtype=np.float32) * plan.noise_sigma)
        frames[i] = np.clip(view, 0, 255)
    return frames


def _scene(plan: ClipPlan) -> np.ndarray:
    """The head photo (flipped as planned) on a blurry backdrop, with feathered edges."""
    photo = load_photo(plan.photo)
    photo = photo[:, ::-1] if plan.flip else photo
    ph, pw = photo.shape[:2]
    pad = plan.pad
    scene = cv2.resize(plan.background.astype(np.uint8), (pw + 2 * pad, ph + 2 * pad),
                       interpolation=cv2.INTER_CUBIC)
    # A soft 12 px ramp hides the photo's rectangular border.
    ramp_y = np.clip(np.minimum(np.arange(ph), np.arange(ph)[::-1]) / 12, 0, 1)
    ramp_x = np.clip(np.minimum(np.arange(pw), np.arange(pw)[::-1]) / 12, 0, 1)
    alpha = np.minimum.outer(ramp_y, ramp_x)[:, :, None].astype(np.float32)
    inner = scene[pad : pad + ph, pad : pad + pw].astype(np.float32)
    scene[pad : pad + ph, pad : pad + pw] = np.clip(inner + alpha * (photo - inner), 0, 255)
    return scene


def _swap_layers(plan: ClipPlan, scene: np.ndarray) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """The swapped face for `scene`: (region slices, colour-shifted patch, feathered mask)."""
    x, y, w, h = plan.face_box
    margin = int(0.3 * max(w, h))
    roi = (slice(y - margin, y + h + margin), slice(x - margin, x + w + margin))
    roi_h, roi_w = h + 2 * margin, w + 2 * margin

    # True swap: the other photo's face box, jittered a little, mapped onto this face box.
    source_name = next(name for name in PHOTOS if name != plan.photo)
    source = load_photo(source_name)
    sx, sy, sw, sh = FACE_BOXES[source_name]
    if plan.source_flip:
        source, sx = source[:, ::-1], source.shape[1] - sx - sw
    dx, dy, dw, dh = plan.misalign
    tw, th = w * (1 + dw), h * (1 + dh)
    tx, ty = margin + dx * w + (w - tw) / 2, margin + dy * h + (h - th) / 2
    affine = np.array([[tw / sw, 0, tx - sx * tw / sw], [0, th / sh, ty - sy * th / sh]])
    patch = cv2.warpAffine(np.ascontiguousarray(source), affine, (roi_w, roi_h),
                           flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    # Swapped faces come out soft: a face-swap model renders the face at a fixed size, so the
    # blur scales with the face, whatever the photo's resolution.
    patch = cv2.GaussianBlur(patch, (0, 0), plan.blur * w)

    # Elliptical mask over brows, eyes, nose and mouth; its edge feathered.
    mask = np.zeros((roi_h, roi_w), np.float32)
    centre = (round(margin + w / 2), round(margin + 0.55 * h))
    cv2.ellipse(mask, centre, (round(0.4 * w), round(0.5 * h)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), plan.feather * w)[:, :, None]

    # Colour transfer (mean/std per channel under the mask), only partly applied: the mismatch.
    target = scene[roi].astype(np.float32)
    weights = mask / mask.sum()
    mean_p, mean_t = (patch * weights).sum((0, 1)), (target * weights).sum((0, 1))
    std_p = np.sqrt(((patch - mean_p) ** 2 * weights).sum((0, 1))) + 1e-3
    std_t = np.sqrt(((target - mean_t) ** 2 * weights).sum((0, 1)))
    matched = (patch - mean_p) * (std_t / std_p) + mean_t
    patch = patch + plan.colour_match * (matched - patch)
    return roi, patch, mask


def make_demo_dataset(
    out_dir: str | os.PathLike = "data/demo",
    num_videos: int = 40,
    seed: int = 0,
    *,
    num_frames: int = 45,
    fps: float = 15.0,
    size: tuple[int, int] = (240, 320),
) -> dict:
    """Write `out_dir/real/real_NNN.mp4` and `out_dir/fake/fake_NNN.mp4`, half each.

    Video k of a class depends only on (seed, class, k), not on `num_videos`. The manifest
    `out_dir/demo.json` is written last; when it records the same parameters and every
    video exists, nothing is regenerated.

    Returns a summary: {"path", "real", "fake", "seconds", "reused"}.

    Example:
        >>> from vidseq.data.demo_data import make_demo_dataset
        >>> summary = make_demo_dataset("/tmp/vidseq_demo", num_videos=4)
        >>> summary["real"], summary["fake"]
        (2, 2)
    """
    check_int("num_videos", num_videos, 4, 1000, even=True)
    check_int("seed", seed, 0, 2**63 - 1)
    check_int("num_frames", num_frames, 8, 1000)
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 1 <= fps <= 120:
        raise ValueError(f"Received: fps={fps!r}. Expected a number in [1, 120].")
    if not (isinstance(size, (tuple, list)) and len(size) == 2
            and all(is_int(s) and s % 2 == 0 and 96 <= s <= 2160 for s in size)):
        raise ValueError(f"Received: size={size!r}. Expected (height, width): two even ints in [96, 2160].")

    start = time.perf_counter()
    out_dir = Path(out_dir)
    params = dict(version=GENERATOR_VERSION, num_videos=num_videos, seed=seed,
                  num_frames=num_frames, fps=float(fps), size=list(size))
    per_class = num_videos // 2
    paths = {label: [out_dir / name / f"{name}_{k:03d}.mp4" for k in range(per_class)]
             for label, name in enumerate(CLASSES)}
    manifest = out_dir / MANIFEST

    reused = _read_params(manifest) == params and all(p.is_file() for ps in paths.values() for p in ps)
    if not reused:
        manifest.unlink(missing_ok=True)  # an interrupted run must not look complete
        _remove_stale_videos(out_dir, {p for ps in paths.values() for p in ps})
        for label, class_paths in paths.items():
            for k, path in enumerate(class_paths):
                # Heads alternate, so each class holds both photos equally: the head is
                # never a shortcut to the label.
                frames = render_clip((seed, label, k), bool(label), num_frames, tuple(size), PHOTOS[k % len(PHOTOS)])
                write_video(path, frames, fps=fps)
        write_json(manifest, params)
    return dict(path=str(out_dir), real=per_class, fake=per_class,
                seconds=round(time.perf_counter() - start, 3), reused=reused)


def _read_params(manifest: Path) -> dict | None:
    try:
        return json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None


def _remove_stale_videos(out_dir: Path, keep: set[Path]) -> None:
    """Delete our own videos left by a larger earlier run, so they do not join the dataset."""
    for name in CLASSES:
        for path in (out_dir / name).glob(f"{name}_*.mp4"):
            if re.fullmatch(rf"{name}_\d+\.mp4", path.name) and path not in keep:
                path.unlink()
