"""Video-level binary metrics (label 1 = fake, score = P(fake))."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def eer_point(fpr: np.ndarray, tpr: np.ndarray) -> tuple[float, float]:
    """Where the ROC curve (straight segments between its points, as it is drawn) crosses the
    line on which false-positive and false-negative rates are equal: `(fpr, tpr)` there.

    >>> [round(v, 3) for v in eer_point(np.array([0.0, 0.0, 1 / 6, 1.0]), np.array([0.0, 5 / 6, 1.0, 1.0]))]
    [0.083, 0.917]
    """
    gap = fpr + tpr - 1  # < 0 before the crossing, >= 0 from it on (the curve only rises)
    j = int(np.argmax(gap >= 0))
    if j == 0:
        return float(fpr[0]), float(tpr[0])
    t = -gap[j - 1] / (gap[j] - gap[j - 1])
    x = fpr[j - 1] + t * (fpr[j] - fpr[j - 1])
    return float(x), float(1 - x)


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    """The error rate where false-positive and false-negative rates are equal (on the ROC curve)."""
    fpr, tpr, _ = skm.roc_curve(labels, scores)
    return eer_point(fpr, tpr)[0]


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy, balanced accuracy, ROC AUC, log loss, EER and the confusion matrix.

    AUC and EER are None when only one class is present (they are undefined then).
    """
    labels = np.asarray(labels, int)
    scores = np.clip(np.asarray(scores, float), 1e-7, 1 - 1e-7)
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
