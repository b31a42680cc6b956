"""vidseq's own warnings: one category, so that they can be told apart from other libraries'.

In a notebook they are ordinary Python warnings (filter them with
`warnings.filterwarnings("ignore", category=VidseqWarning)`); the `vidseq` command prints
each as one line in its own voice (`vidseq.cli.output`).

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("Skipped unreadable video x.mp4", SkippedVideoWarning)
    >>> issubclass(caught[0].category, UserWarning)
    True
"""


class VidseqWarning(UserWarning):
    """A warning vidseq gives: something the user should know, said in one line."""


class SkippedVideoWarning(VidseqWarning):
    """A video left out of a run or a scoring call (unreadable, truncated, or without a face)."""
