"""Video-level binary metrics (label 1 = fake, score = P(fake))."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    """The error rate where false-positive and false-negative rates are equal."""
    fpr, tpr, _ = skm.roc_curve(labels, scores)
    fnr = 1 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


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
