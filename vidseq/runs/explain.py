"""Why a run called a video fake: per-frame evidence and Grad-CAM heatmaps on the crops.

Evidence (`occlusion_evidence`, `frame_classifier_evidence`): for each sampled frame, the
video's P(fake) with every frame minus its P(fake) with that frame taken out. Positive: the
frame pushes the video towards FAKE; negative: towards REAL; zero: the model never saw it
(padding). Sequence heads take a frame out through their own Masking (its embedding row set
to zero, i.e. mask False), all frames in one batched call of the small head; frame
classifiers (CoAtNet) recompute the video score from the other frames' scores. A video's
only frame is compared with 0.5 (no evidence either way).

Heatmaps (`gradcam_frames`, `gradcam_sequence`): Grad-CAM (Selvaraju et al. 2017) of the
video's P(fake) at a convolutional feature map: channel weights = the gradient averaged over
the map, heatmap = ReLU of the weighted sum of channels, resized to the crop, scaled by the
video's largest value so that frames compare (the brightest frame reaches 1). Sequence
heads: the gradient runs from P(fake) through the head, each frame's pooled feature and the
frozen backbone's last convolutional block (`BackboneSpec.gradcam_layer`). Frame
classifiers: each frame's own P(fake) at the model's last 4-D feature map
(`find_gradcam_layer`). TensorFlow (a traced `tf.GradientTape` step per model) and JAX
(`jax.grad`, eager) backends.
"""

from __future__ import annotations

import contextlib
import os
from typing import Sequence

import numpy as np

from vidseq.models.frame_scores import video_scores
from vidseq.utils.checks import check_mask


# --------------------------------------------------------------------------- evidence


def occlusion_evidence(head, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`(T,)` signed evidence of each frame of one video for a sequence head over `(T, D)`
    `features`: P(fake) with all valid frames minus P(fake) with that frame masked out.
    Frames with `mask` False get 0; a mask without any True is refused. One call of the head on
    a `(valid + 1, T, D)` batch."""
    import keras

    mask = check_mask(mask)
    features = np.asarray(features, np.float32) * mask[:, None]
    valid = np.flatnonzero(mask)
    evidence = np.zeros(len(features), np.float32)
    batch = np.repeat(features[None], len(valid) + 1, axis=0)
    for row, t in enumerate(valid, start=1):
        batch[row, t] = 0.0  # an all-zero row is what the head's Masking skips
    # An eager call (~120 ms for a GRU(64) over 32 frames): predict_on_batch would be ~15 ms once
    # traced, but each head traced again for this batch shape, and with a few heads in one
    # process (the demo, a search drawing explain.png) TensorFlow warns of excessive retracing.
    scores = np.asarray(keras.ops.convert_to_numpy(head(batch, training=False))).reshape(-1)
    if len(valid) == 1:
        evidence[valid] = scores[0] - 0.5
    else:
        evidence[valid] = scores[0] - scores[1:]
    return evidence


def frame_classifier_evidence(frame_scores: np.ndarray, how: str = "mean", num_frames: int | None = None) -> np.ndarray:
    """Evidence for a frame classifier: the video score (`video_scores(..., how)`) minus the
    score without each frame; padded to `num_frames` with zeros (frames never scored).
    With "mean" it is (frame score - video score) / (n - 1)."""
    scores = np.asarray(frame_scores, np.float64)
    n = len(scores)
    evidence = np.zeros(num_frames or n, np.float32)
    if n == 0:
        return evidence
    full = video_scores(scores, np.zeros(n, int), 1, how)[0]
    if n == 1:
        evidence[0] = full - 0.5
        return evidence
    for t in range(n):
        evidence[t] = full - video_scores(np.delete(scores, t), np.zeros(n - 1, int), 1, how)[0]
    return evidence


# --------------------------------------------------------------------------- Grad-CAM


def _backend() -> str:
    import keras

    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        raise NotImplementedError(f"Heatmaps need the TensorFlow or JAX backend (KERAS_BACKEND={backend!r}); "
                                  "scores and per-frame evidence work on every backend.")
    return backend


def _tensorflow():
    import tensorflow as tf

    return tf


def _layer_at(model, path: str):
    """The layer `path` names: "name", or "outer/inner" inside a nested model (a backbone
    inside a fine-tuned frame classifier)."""
    for name in path.split("/"):
        model = model.get_layer(name)
    return model


@contextlib.contextmanager
def _hooked(target, change=lambda out: out):
    """While inside: `target`'s output passes through `change`, and the last one is kept in the
    yielded dict under "maps" (works for nested layers and under tf.function or jax.grad)."""
    box: dict = {}
    original = target.call

    def call(*args, **kwargs):
        box["maps"] = original(*args, **kwargs)
        return change(box["maps"])

    target.call = call
    try:
        yield box
    finally:
        del target.call  # back to the class's own method


def _jax_gradients(target, forward):
    """JAX: `(feature maps of layer `target`, d forward() / d maps)`. The layer's output gets a
    zero tensor added while `forward()` runs under `jax.grad`: the gradient with respect to
    that tensor is the gradient with respect to the maps."""
    import jax
    import jax.numpy as jnp

    with _hooked(target) as box:
        forward()
    maps = box["maps"]

    def shifted(delta):
        with _hooked(target, lambda out: out + delta):
            return forward()

    return np.asarray(maps), np.asarray(jax.grad(shifted)(jnp.zeros_like(maps)))


def find_gradcam_layer(model) -> str:
    """The name of `model`'s last layer with a 4-D (batch, height, width, channels) output:
    the feature map a global pooling reads (CoAtNet: its last stage). Inside a nested model
    (a fine-tuned frame classifier's backbone) it is "backbone/<layer>"."""
    for layer in reversed(model.layers):
        if hasattr(layer, "layers"):  # a nested model: its own last feature map
            try:
                return f"{layer.name}/{find_gradcam_layer(layer)}"
            except ValueError:
                continue
        shape = getattr(layer, "output", None) is not None and tuple(layer.output.shape)
        if shape and len(shape) == 4:
            return layer.name
    raise ValueError(f"Model {model.name!r} has no layer with a 4-D output: no convolutional feature map for Grad-CAM.")


_GRAD_MODELS: dict = {}


def _cached(key: tuple, models: tuple, build):
    """`build()` once per `key` (ids of `models` and names), kept with the models it was built
    for (an id can be reused once a model is gone); the latest 8 only: a server or a search
    meets many models."""
    entry = _GRAD_MODELS.get(key)
    if entry is None or any(a is not b for a, b in zip(entry[0], models)):
        if len(_GRAD_MODELS) >= 8:
            _GRAD_MODELS.pop(next(iter(_GRAD_MODELS)))
        entry = _GRAD_MODELS[key] = (models, build())
    return entry[1]


def _grad_model(model, layer: str):
    """`model` with two outputs, the feature map of `layer` and the model's own output; built once."""
    import keras

    return _cached((id(model), layer), (model,),
                   lambda: keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs,
                                       [model.get_layer(layer).output, model.output]))


def _frames_step(model, layer: str):
    """A traced `(images) -> (feature maps, d sum(P(fake)) / d maps)`, any batch size: traced once
    (about 2 s for MobileNetV2), then about 8x faster than eager per call."""
    tf = _tensorflow()
    target = _layer_at(model, layer)

    def build():
        @tf.function(reduce_retracing=True, autograph=False)  # no Python control flow to convert
        def step(x):
            with tf.GradientTape() as tape, _hooked(target) as box:
                tape.watch(x)
                total = tf.reduce_sum(model(x, training=False))  # frames are independent: each map gets its own
            return box["maps"], tape.gradient(total, box["maps"])
        return step

    return _cached((id(model), layer, "frames"), (model,), build)


def _sequence_step(head, backbone, layer: str):
    """A traced `(images of some frames, all rows, their row indices) -> (maps, d P(fake) / d maps)`."""
    tf = _tensorflow()
    grad_model = _grad_model(backbone, layer)

    def build():
        @tf.function(reduce_retracing=True, autograph=False)  # no Python control flow to convert
        def step(x, rows, index):
            with tf.GradientTape() as tape:
                tape.watch(x)
                maps, pooled = grad_model(x, training=False)
                sequence = tf.tensor_scatter_nd_update(rows, index[:, None], tf.cast(pooled, rows.dtype))
                score = tf.reduce_sum(head(sequence[None], training=False))
            return maps, tape.gradient(score, maps)
        return step

    return _cached((id(head), id(backbone), layer, "sequence"), (head, backbone), build)


def _cams(maps, grads, size: tuple[int, int]) -> np.ndarray:
    """Grad-CAM maps `(k, H, W)` from feature maps and their gradients `(k, h, w, C)`, not yet scaled."""
    import cv2

    maps, grads = np.asarray(maps, np.float32), np.asarray(grads, np.float32)
    weights = grads.mean(axis=(1, 2))  # (k, C)
    cams = np.maximum(np.einsum("khwc,kc->khw", maps, weights), 0.0)
    return np.stack([cv2.resize(c, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) for c in cams]) if len(cams) \
        else np.zeros((0, *size), np.float32)


def _scale(heatmaps: np.ndarray) -> np.ndarray:
    """Non-negative maps divided by their largest value (all zero stays zero), in [0, 1]."""
    heatmaps = np.maximum(heatmaps, 0.0).astype(np.float32)
    top = float(heatmaps.max()) if heatmaps.size else 0.0
    return np.clip(heatmaps / top, 0.0, 1.0) if top > 0 else heatmaps


def gradcam_frames(model, images: np.ndarray, layer: str | None = None, batch_size: int = 8) -> np.ndarray:
    """Grad-CAM `(n, H, W)` in [0, 1] of a frame classifier's P(fake) on each of `images`
    `(n, H, W, 3)` (as the model takes them), at `layer` (default `find_gradcam_layer`; "a/b"
    names layer b of a nested model a, e.g. a fine-tuned classifier's backbone)."""
    import keras

    layer = layer or find_gradcam_layer(model)
    backend = _backend()
    size = images.shape[1:3]
    out = []
    for start in range(0, len(images), batch_size):
        x = np.asarray(images[start : start + batch_size], np.float32)
        if backend == "jax":
            out.append(_cams(*_jax_gradients(_layer_at(model, layer), lambda: keras.ops.sum(model(x, training=False))),
                             size))
        else:
            out.append(_cams(*_frames_step(model, layer)(_tensorflow().constant(x)), size))
    return _scale(np.concatenate(out) if out else np.zeros((0, *size), np.float32))


def gradcam_sequence(head, backbone, layer: str, images: np.ndarray, features: np.ndarray, mask: np.ndarray,
                     frames: Sequence[int] | None = None) -> np.ndarray:
    """Grad-CAM `(T, H, W)` in [0, 1] of a sequence head's P(fake) for one video.

    `images` `(T, H, W, 3)`: the backbone's preprocessed input per sampled frame; `features`
    `(T, D)` and `mask` `(T,)`: the video's embeddings as the head scored them. The frames
    listed in `frames` (default: every valid one) go through `backbone` under a gradient
    tape, their pooled features replacing their rows, so the gradient of P(fake) reaches
    `layer`'s feature map; the other rows stay constant. Masked frames and frames not
    listed get zero maps.
    """
    mask = np.asarray(mask, bool)
    size = images.shape[1:3]
    chosen = np.flatnonzero(mask) if frames is None else np.array([t for t in frames if mask[t]], int)
    heatmaps = np.zeros((len(images), *size), np.float32)
    if not len(chosen):
        return heatmaps
    rows = np.asarray(features, np.float32) * mask[:, None]
    x = np.asarray(images[chosen], np.float32)
    if _backend() == "jax":
        import keras

        def forward():
            pooled = backbone(x, training=False)
            sequence = keras.ops.scatter_update(rows, chosen[:, None], pooled)
            return keras.ops.sum(head(sequence[None], training=False))

        maps, grads = _jax_gradients(backbone.get_layer(layer), forward)
    else:
        tf = _tensorflow()
        maps, grads = _sequence_step(head, backbone, layer)(tf.constant(x), tf.constant(rows),
                                                           tf.constant(chosen.astype(np.int32)))
    heatmaps[chosen] = _cams(maps, grads, size)
    return _scale(heatmaps)


# --------------------------------------------------------------------------- pictures


HEATMAP_COLOURS = "jet"  # matplotlib's name of the map `overlay` paints with (OpenCV's COLORMAP_JET)


def overlay(crop: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """A uint8 RGB crop with its heatmap (in [0, 1]) blended on top in the JET colour map."""
    import cv2

    heat = cv2.applyColorMap(np.uint8(np.clip(heatmap, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    if heat.shape[:2] != crop.shape[:2]:
        heat = cv2.resize(heat, (crop.shape[1], crop.shape[0]))
    return np.uint8(np.clip((1 - alpha) * crop.astype(np.float32) + alpha * heat, 0, 255))


def shown_frames(mask_or_count, limit: int = 8) -> np.ndarray:
    """Up to `limit` evenly spaced indices of the valid frames (a bool mask or a frame count)."""
    valid = np.arange(mask_or_count) if np.ndim(mask_or_count) == 0 else np.flatnonzero(mask_or_count)
    if len(valid) <= limit:
        return valid
    return valid[np.unique(np.linspace(0, len(valid) - 1, limit).round().astype(int))]


def plot_explanations(items: Sequence[tuple[str, dict]], path: str | os.PathLike | None = None, limit: int = 8):
    """One block per `(title, explain_video result)`: the crops (the frames when the result has
    none), their heatmap overlays (when it has heatmaps) and the per-frame evidence as a bar
    strip (red: towards FAKE)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from vidseq.runs.plots import new_figure, save_figure

    blocks = []
    for title, result in items:
        shown = shown_frames(len(result["frame_evidence"]), limit)  # as explain_video's heatmap_frames
        if result.get("mask") is not None:
            shown = shown[np.asarray(result["mask"], bool)[shown]]
        rows = 2 + (result.get("heatmaps") is not None)
        blocks.append((title, result, shown, rows))
    total = sum(rows for *_, rows in blocks) or 1
    fig = new_figure((2 * limit, 2.1 * total + 0.4 * len(blocks)))
    grid = fig.add_gridspec(total, limit)
    row = 0
    for title, result, shown, rows in blocks:
        crops = result["frames"] if result.get("crops") is None else result["crops"]
        heatmaps, evidence = result.get("heatmaps"), result["frame_evidence"]
        pictures = [("crop" if result.get("crops") is not None else "frame", crops[shown])]
        if heatmaps is not None:
            pictures.append(("Grad-CAM", [overlay(crops[t], heatmaps[t]) for t in shown]))
        for kind, images in pictures:
            for k, image in enumerate(images):
                ax = fig.add_subplot(grid[row, k])
                ax.imshow(image)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"#{shown[k]}" + (f"  {evidence[shown[k]]:+.3f}" if kind == "crop" else ""), fontsize=8)
                if k == 0:
                    ax.set_ylabel(kind, fontsize=8)
            if kind == "Grad-CAM" and len(images):  # what the overlay's colours mean, beside the row's last image
                bar = fig.colorbar(ScalarMappable(Normalize(0, 1), HEATMAP_COLOURS), cax=ax.inset_axes([1.04, 0, 0.06, 1]))
                bar.set_ticks([0, 0.5, 1], labels=["0", "", "max"])  # max: the video's strongest value
                bar.set_label("Grad-CAM", fontsize=7, labelpad=-2)
                bar.ax.tick_params(labelsize=7)
            row += 1
        ax = fig.add_subplot(grid[row, :])
        colours = np.where(np.asarray(evidence) >= 0, "tab:red", "tab:blue")
        ax.bar(np.arange(len(evidence)), evidence, color=colours)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("sampled frame")
        ax.set_ylabel("evidence")
        ax.set_title(f"{title}: P(fake) {result['score']:.3f} {result['label']}; evidence = P(fake) - P(fake) "
                     "without the frame", fontsize=9)
        row += 1
    return save_figure(fig, path)
