"""Fine-tuning throughput: training images/s of MobileNetV2 and EfficientNetB0, against ResNet50 in the same run.

Each model is the frame classifier `train_test_classifier(..., fine_tune=True)` trains
(`vidseq.models.finetune.build_frame_classifier`: preprocessing layer, backbone at its own input
size, dropout + sigmoid head) in both phases: "head" (backbone frozen, the warm-up) and
"fine-tune" (every layer but BatchNormalization unfrozen), with Adam and binary
cross-entropy on one fixed batch of random 0-255 images. Steps are timed after two warm-up
steps (graph tracing), round-robin so that drift hits every model alike. ResNet50 (the
baseline bench_coatnet.py also uses) is fine-tuned the same way.

    python bench/bench_finetune.py [--steps 3] [--batch-size 16] [--repeats 3]
    KERAS_BACKEND=jax python bench/bench_finetune.py --steps 50 --batch-size 128 --bf16   # on a GPU
"""

from __future__ import annotations

import statistics
import warnings

import keras
import numpy as np

from clips import interleaved_times, parse_training_arguments, table, training_arguments, training_steps
from vidseq.features.backbones import BACKBONES
from vidseq.models.finetune import build_frame_classifier, set_phase

MODELS = ("MobileNetV2", "EfficientNetB0", "ResNet50")


def trainer(name: str, phase: str, batch_size: int, steps: int):
    """A function running `steps` training steps of `name`'s frame classifier in `phase`."""
    with warnings.catch_warnings():  # weights=None warns of dead features: speed does not depend on weights
        warnings.simplefilter("ignore")
        model = build_frame_classifier(name, weights=None)
    set_phase(model, phase)
    model.compile(keras.optimizers.Adam(1e-4), "binary_crossentropy")
    run = training_steps(model, BACKBONES[name].input_size, batch_size, steps)
    return run, sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def main() -> None:
    args = parse_training_arguments(training_arguments(__doc__.splitlines()[0], steps=3, batch_size=16))
    fns, params = {}, {}
    for name in MODELS:
        for phase in ("head", "fine_tune"):
            fns[name, phase], params[name, phase] = trainer(name, phase, args.batch_size, args.steps)
    times, _ = interleaved_times(fns, repeats=args.repeats)
    rate = {key: args.steps * args.batch_size / statistics.median(t) for key, t in times.items()}

    print(f"backend {keras.backend.backend()}, policy {keras.mixed_precision.dtype_policy().name}, "
          f"batch {args.batch_size}, median of {args.repeats} x {args.steps} steps")
    print(table(["model", "input", "phase", "trainable params", "train images/s", "vs ResNet50 (same phase)"], [
        [name, f"{BACKBONES[name].input_size[0]} px", phase.replace("_", "-"), f"{params[name, phase]:,}",
         f"{rate[name, phase]:.1f}", f"{rate[name, phase] / rate['ResNet50', phase]:.2f}x"]
        for name in MODELS for phase in ("head", "fine_tune")
    ]))


if __name__ == "__main__":
    main()
