"""Video-level binary metrics (label 1 = fake, score = P(fake))."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def eer_point(fpr: np.ndarray, tpr: np.ndarray) -> tuple:
    """Where the ROC curve (straight segments between its points, as it is drawn) crosses the
    line on which false-positive and false-negative rates are equal: `(fpr, tpr)` there.

    One curve gives two floats; curves along the last axis of 2-D arrays give two arrays.

    >>> [round(v, 3) for v in eer_point(np.array([0.0, 0.0, 1 / 6, 1.0]), np.array([0.0, 5 / 6, 1.0, 1.0]))]
    [0.083, 0.917]
    """
    fpr, tpr = np.asarray(fpr, float), np.asarray(tpr, float)
    gap = fpr + tpr - 1  # < 0 before the crossing, >= 0 from it on (the curve only rises)
    j = np.argmax(gap >= 0, axis=-1)[..., None]
    i = np.maximum(j - 1, 0)

    def at(values, k):
        return np.take_along_axis(values, k, axis=-1)[..., 0]

    g0, g1 = at(gap, i), at(gap, j)
    t = np.divide(-g0, g1 - g0, out=np.zeros_like(g0), where=g1 != g0)
    x = at(fpr, i) + t * (at(fpr, j) - at(fpr, i))
    y = np.where(j[..., 0] == 0, at(tpr, j), 1 - x)  # a curve that starts past the line: its first point
    return (float(x), float(y)) if x.ndim == 0 else (x, y)


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    """The error rate where false-positive and false-negative rates are equal (on the ROC curve)."""
    fpr, tpr, _ = skm.roc_curve(labels, scores)
    return eer_point(fpr, tpr)[0]


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy, balanced accuracy, ROC AUC, log loss, EER and the confusion matrix.

    AUC and EER are None when only one class is present (they are undefined then).
    """
    labels = np.asarray(labels, int)
    scores = _clipped(scores)
    predicted = (scores >= threshold).astype(int)
    both = len(np.unique(labels)) == 2
    return {
        "videos": int(len(labels)),
        "real": int((labels == 0).sum()),
        "fake": int((labels == 1).sum()),
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(labels, predicted)) if both else None,
        "auc": float(skm.roc_auc_score(labels, scores)) if both else None,
        "log_loss": float(skm.log_loss(labels, scores, labels=[0, 1])),
        "eer": equal_error_rate(labels, scores) if both else None,
        # rows: true real/fake, columns: predicted real/fake
        "confusion_matrix": skm.confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "threshold": threshold,
    }


def weighted_metrics(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray,
                     threshold: float = 0.5) -> dict[str, np.ndarray]:
    """`binary_metrics`' AUC, accuracy, balanced accuracy, EER and log loss for many weightings
    of the same videos at once: row b of `weights` (B, videos) counts each video's copies in
    weighting b (a bootstrap resample), and metric[b] equals `binary_metrics` on the videos
    repeated that many times. Every row must weigh both classes.

    >>> w = weighted_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], [[1, 1, 1, 1], [0, 2, 1, 1]])
    >>> w["auc"].tolist(), w["accuracy"].tolist()
    ([0.75, 0.5], [0.5, 0.25])
    """
    # Videos by score, highest first: the ROC curve has a point per distinct score, after (0, 0),
    # and trapezoids give ties half credit, as roc_auc_score does.
    scores = _clipped(scores)
    order = np.argsort(-scores, kind="stable")
    scores, is_fake = scores[order], np.asarray(labels, int)[order] == 1
    weights = np.atleast_2d(np.asarray(weights, float))[:, order]
    called = scores >= threshold
    hits, rejections = weights @ (is_fake & called), weights @ (~is_fake & ~called)
    log_likelihood = weights @ np.where(is_fake, np.log(scores), np.log(1 - scores))
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # each distinct score's last video
    fake = weights * is_fake
    tp, fp = np.cumsum(fake, axis=-1)[:, last], np.cumsum(np.subtract(weights, fake, out=fake), axis=-1)[:, last]
    fakes, reals = tp[:, -1], fp[:, -1]
    origin = np.zeros((len(weights), 1))
    tpr, fpr = np.concatenate([origin, tp / fakes[:, None]], -1), np.concatenate([origin, fp / reals[:, None]], -1)
    return {
        "auc": np.trapezoid(tpr, fpr, axis=-1),
        "accuracy": (hits + rejections) / (fakes + reals),
        "balanced_accuracy": (hits / fakes + rejections / reals) / 2,
        "eer": eer_point(fpr, tpr)[0],
        "log_loss": -log_likelihood / (fakes + reals),
    }


def _clipped(scores: np.ndarray) -> np.ndarray:
    """Scores kept off 0 and 1, where the log loss is infinite."""
    return np.clip(np.asarray(scores, float), 1e-7, 1 - 1e-7)
