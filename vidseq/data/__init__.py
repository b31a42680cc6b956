"""The data stage: videos in, frames out.

`layouts` finds a dataset's videos and labels (with `layout_readers` per dataset and
`identities` for who each video shows), `splits` splits them so that no identity is in two
splits, `sampling` picks and decodes frames (`video_io`), `faces` detects, tracks and crops
faces, `demo_data` writes the offline demo dataset, `config` holds a run's data settings.
No TensorFlow here.
"""
