"""vidseq building blocks: video I/O, dataset layouts, demo data, CLI.

Kept free of TensorFlow at import time so `vidseq --help` and frame sampling stay cheap.
"""

__version__ = "0.1.0"
