"""The features stage: frames -> embeddings, cached on disk.

`backbones` is the table of frozen backbones and the weights they can start from (no
Keras); `backbone_models` builds them; `fine_tuned` holds the preprocessing layer of a
backbone fine-tuned end to end and takes it back out of a run folder (here rather than
with the fine-tuning model, because embedding with a fine-tuned backbone comes before the
models trained on the embeddings); `extract` embeds videos and caches face crops;
`ray_engine` runs the same extraction on a Ray cluster.
"""
