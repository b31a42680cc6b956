"""The models stage: Keras models and the settings that describe them.

`heads` (sequence heads over cached embeddings; `attention`: the temporal attention head's
layers), `coatnet` (with `coatnet_variants`, its table without Keras), `finetune` (a
backbone as a frame classifier), `mesonet` (Meso4, MesoInception4; `mesonet_weights`: their
published weights, without Keras), `frame_scores` (frame scores -> a video score), `config`
(`HeadConfig`, `ImageConfig`, checked without TensorFlow).
"""
