"""The training stage: how a model of each family is fitted and scores videos.

`config` holds every setting of a run (`RunConfig`, with `train_config.TrainConfig`);
`families` is the registry of model families (sequence head, CoAtNet, fine-tuned backbone),
each naming its recipe: `sequence` and `frames` (fit and score), built on `fit`, `callbacks`,
`frame_dataset`, `augment` and `distribution`. `videos` is a run's split videos;
`seed_compat` translates the seed toolkit's keywords. Nothing here writes a run folder:
that is the next stage.
"""
