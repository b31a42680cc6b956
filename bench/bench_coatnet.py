"""CoAtNet training throughput: images/s of full training steps, against ResNet50 in the same run.

Both models train from scratch on random 0-255 images with AdamW and binary cross-entropy,
as `train_test_classifier(img_model_name="CoAtNet-0")` does; steps are timed after two
warm-up steps (graph tracing), round-robin so that drift hits both alike. ResNet50
(25.6M parameters, 4.1 GFLOPs at 224) is the baseline: a convnet of CoAtNet-0's size
(17.8M, 4.2 GFLOPs) whose speed every backend has long been tuned for. Also measured:
`augment_faces` (the albumentations pipeline) on one thread, to show the data loader keeps up.

    python bench/bench_coatnet.py [--steps 5] [--batch-size 32] [--image-size 224] [--bf16]
    KERAS_BACKEND=jax python bench/bench_coatnet.py --steps 50 --batch-size 128 --bf16   # on a GPU
"""

from __future__ import annotations

import statistics
import time

import keras
import numpy as np

from clips import interleaved_times, parse_training_arguments, table, training_arguments, training_steps
from vidseq.training.augment import augment_faces
from vidseq.models.coatnet import build_coatnet


def resnet50(image_size: int) -> keras.Model:
    return keras.applications.ResNet50(weights=None, input_shape=(image_size, image_size, 3), classes=1,
                                       classifier_activation="sigmoid")


def trainer(model: keras.Model, batch_size: int, image_size: int, steps: int):
    """A function running `steps` training steps on one fixed random batch."""
    model.compile(keras.optimizers.AdamW(1e-4), "binary_crossentropy")
    return training_steps(model, (image_size, image_size), batch_size, steps)


def main() -> None:
    parser = training_arguments(__doc__.splitlines()[0], steps=5, batch_size=32)
    parser.add_argument("--image-size", type=int, default=224)
    args = parse_training_arguments(parser)
    models = {"CoAtNet-0": build_coatnet("CoAtNet-0", args.image_size, num_classes=1, classifier_activation="sigmoid"),
              "ResNet50": resnet50(args.image_size)}
    fns = {name: trainer(m, args.batch_size, args.image_size, args.steps) for name, m in models.items()}
    times, _ = interleaved_times(fns, repeats=args.repeats)
    rate = {name: args.steps * args.batch_size / statistics.median(t) for name, t in times.items()}

    faces = np.random.default_rng(1).integers(0, 256, (64, args.image_size, args.image_size, 3), dtype=np.uint8)
    augment_faces(faces[:1], 0)  # albumentations imported and its pipeline built: not timed
    start = time.perf_counter()
    augment_faces(faces, (2, 0, 0))
    augment_rate = len(faces) / (time.perf_counter() - start)

    print(f"backend {keras.backend.backend()}, policy {keras.mixed_precision.dtype_policy().name}, "
          f"batch {args.batch_size}, {args.image_size} px, median of {args.repeats} x {args.steps} steps")
    print(table(["model", "trainable params", "train images/s", "vs ResNet50"], [
        [name, f"{sum(int(np.prod(w.shape)) for w in m.trainable_weights):,}", f"{rate[name]:.1f}",
         f"{rate[name] / rate['ResNet50']:.2f}x"] for name, m in models.items()
    ]))
    print(f"augment_faces: {augment_rate:.0f} images/s on one thread")


if __name__ == "__main__":
    main()
