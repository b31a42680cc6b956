"""The runs stage: a run as a whole, from training to comparison.

`train` (`train_test_classifier`: a recipe's fit saved as a run folder), `folders` (writing
and reading run folders), `metrics` and `plots`, `scoring` (predict, evaluate,
`classifier`), `explain_video` and `explain` (why a video was called fake),
`stats` (intervals from a bootstrap over identities, paired tests), `leaderboard`
(`compare_saved_models`, `compare_runs`), `search` (many runs).
"""
