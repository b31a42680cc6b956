"""Run plots say what the run did: the kept epoch, the EER where it lies on the ROC curve."""

import numpy as np
import pandas as pd

from vidseq.runs.metrics import eer_point, equal_error_rate
from vidseq.runs.plots import plot_learning_curves, plot_roc


def test_eer_lies_on_the_roc_curve_where_misses_equal_false_alarms():
    labels = np.array([0] * 6 + [1] * 6)
    scores = np.array([.1, .2, .3, .4, .5, .55, .6, .7, .8, .9, .96, .5])  # one fake scored with the reals
    fpr, tpr = np.array([0.0, 0.0, 1 / 6, 1.0]), np.array([0.0, 5 / 6, 1.0, 1.0])
    x, y = eer_point(fpr, tpr)
    assert np.isclose(x, 1 - y)  # false-positive rate = false-negative rate
    assert np.isclose(y, np.interp(x, fpr[1:], tpr[1:]))  # on the drawn segment, not at a corner (0, 0.83)
    assert x > 0
    assert 0 < equal_error_rate(labels, scores) < 0.5
    fig = plot_roc(pd.DataFrame({"split": "test", "label": labels, "score": scores}))
    marker = next(line for line in fig.axes[0].lines if line.get_marker() == "o")
    mx, my = marker.get_xdata()[0], marker.get_ydata()[0]
    assert np.isclose(mx, 1 - my) and f"EER {equal_error_rate(labels, scores):.3f}" in marker.get_label()


def test_learning_curves_mark_the_epoch_kept():
    history = pd.DataFrame({"epoch": range(6), "loss": [.9, .7, .5, .4, .3, .2], "val_loss": [.8, .6, .5, .55, .6, .7],
                            "accuracy": np.linspace(.5, 1, 6), "val_accuracy": np.linspace(.5, .8, 6)})
    fig = plot_learning_curves(history)
    for ax in fig.axes:
        kept = [line for line in ax.lines if "best epoch" in line.get_label()]
        assert len(kept) == 1 and list(kept[0].get_xdata()) == [3, 3]  # epoch 3 (1-based) has the lowest val loss
