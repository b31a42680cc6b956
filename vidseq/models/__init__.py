"""The models stage: Keras models and the settings that describe them.

`heads` (sequence heads over cached embeddings), `coatnet` (with `coatnet_variants`, its
table without Keras), `finetune` (a backbone as a frame classifier), `frame_scores` (frame
scores -> a video score), `config` (`HeadConfig`, `ImageConfig`, checked without TensorFlow).
"""
