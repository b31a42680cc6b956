"""Small tools every stage uses: atomic writes, argument checks, config fields (`option`), the
content-keyed disk cache, progress bars, and importing Keras without TensorFlow's start-up noise.

No TensorFlow here; nothing here imports another vidseq package.
"""
