"""Frame sampling: strategies, exact frames, padding, and every bad-file case."""

import subprocess
import sys
import warnings

import cv2
import numpy as np
import pytest

import util
from conftest import decode_all
from util import TruncatedVideoError, VideoReadError, read_frames, sample_indices


@pytest.mark.parametrize("strategy", util.STRATEGIES)
@pytest.mark.parametrize("total,num", [(300, 16), (300, 256), (100, 100), (1000, 1024), (10, 16), (1, 1)])
def test_indices_sorted_unique_in_range(strategy, total, num):
    idx = sample_indices(total, num, strategy, seed=3)
    assert idx.dtype == np.int64
    assert len(idx) == min(total, num) or (strategy == "stride" and len(idx) == min(num, -(-total // 2)))
    assert np.all(np.diff(idx) > 0)
    assert idx.min() >= 0 and idx.max() < total


def test_uniform_spreads_over_whole_video():
    idx = sample_indices(300, 16)
    assert idx[0] < 300 / 16 and idx[-1] >= 300 - 300 / 16
    assert np.ptp(np.diff(idx)) <= 1  # evenly spaced


def test_random_reproducible_with_seed():
    a, b, c = (sample_indices(500, 32, "random", seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_clip_is_contiguous_and_centred_without_seed():
    idx = sample_indices(100, 10, "clip")
    np.testing.assert_array_equal(idx, np.arange(45, 55))
    assert np.all(np.diff(sample_indices(100, 10, "clip", seed=5)) == 1)


def test_stride_every_kth():
    np.testing.assert_array_equal(sample_indices(20, 4, "stride", stride=5), [0, 5, 10, 15])
    np.testing.assert_array_equal(sample_indices(20, 8, "stride", stride=5), [0, 5, 10, 15])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(total_frames=10, num_frames=0), "num_frames=0"),
        (dict(total_frames=10, num_frames=1025), r"\[1, 1024\]"),
        (dict(total_frames=10, num_frames=2.5), "num_frames=2.5"),
        (dict(total_frames=-1, num_frames=4), "total_frames=-1"),
        (dict(total_frames=10, num_frames=4, strategy="middle"), "strategy='middle'.*uniform"),
        (dict(total_frames=10, num_frames=4, strategy="stride", stride=0), "stride=0"),
    ],
)
def test_sample_indices_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_indices(**kwargs)


@pytest.mark.parametrize("strategy", util.STRATEGIES)
@pytest.mark.parametrize("num", [1, 7, 16])
def test_read_frames_pixel_identical_to_decode_all(video_factory, strategy, num):
    path = video_factory(40)
    reference = decode_all(path)
    frames, mask = read_frames(path, num, strategy=strategy, seed=0)
    idx = sample_indices(len(reference), num, strategy, seed=0)
    assert frames.dtype == np.uint8 and frames.shape == (num, 48, 64, 3)
    assert mask.all()
    np.testing.assert_array_equal(frames, reference[idx])
    assert len({f.tobytes() for f in frames}) == num  # distinct frames: the comparison is meaningful


def test_short_video_zero_padded_with_mask(video_factory):
    path = video_factory(10)
    frames, mask = read_frames(path, 16)
    np.testing.assert_array_equal(mask, np.arange(16) < 10)
    np.testing.assert_array_equal(frames[:10], decode_all(path))
    assert not frames[10:].any()


def test_resize_and_center_crop(video_factory):
    path = video_factory(12)
    frames, _ = read_frames(path, 4, size=(32, 32))
    assert frames.shape == (4, 32, 32, 3)
    ref = decode_all(path)[sample_indices(12, 4)]
    # Centre crop of a 48x64 frame to a square keeps the middle 48x48 before resizing.
    cropped, _ = read_frames(path, 4, size=(48, 48), crop="center")
    np.testing.assert_array_equal(cropped, ref[:, :, 8:56])
    enlarged, _ = read_frames(path, 4, size=(96, 128))
    assert enlarged.shape == (4, 96, 128, 3)


def test_truncated_file_is_an_error_or_kept_on_request(video_factory, tmp_path):
    """A cut-off file whose header still promises every frame (index first, as web video is
    written) is refused by default, naming how much of it there is; on_truncated="keep"
    samples what decodes."""
    path = video_factory(60, height=96, width=128, seed=4)
    truncated = tmp_path / "truncated.mp4"
    data = path.read_bytes()
    truncated.write_bytes(data[: int(len(data) * 0.5)])
    cap = cv2.VideoCapture(str(truncated))
    promised = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    decodable = len(decode_all(truncated))
    assert promised == 60 and 0 < decodable < 60
    with pytest.raises(TruncatedVideoError, match=rf"the file holds 50% of the {len(data):,} bytes its container") as error:
        read_frames(truncated, 16)
    assert isinstance(error.value, VideoReadError)
    assert (error.value.have, error.value.declared, error.value.unit) == (len(data) // 2, len(data), "bytes")
    with pytest.warns(UserWarning, match="Truncated video"):
        frames, mask = read_frames(truncated, 16, on_truncated="keep")
    assert mask.all()
    reference = decode_all(truncated)
    np.testing.assert_array_equal(frames, reference[sample_indices(decodable, 16)])
    with pytest.warns(UserWarning, match="Truncated video"):
        frames, mask = read_frames(truncated, 60, on_truncated="keep")
    assert mask.sum() == decodable
    with pytest.raises(ValueError, match="on_truncated='skip'"):
        read_frames(truncated, 16, on_truncated="skip")


def test_a_file_cut_before_its_frames_is_one_error_and_leaves_nothing_cached(video_factory, tmp_path):
    """The first 2 KB of an mp4: its header declares frames, none decodes. Kept or not, one
    error (no "truncated, kept" warning before it) and no empty face-box entry in the cache."""
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video_factory(45, height=96, width=128, seed=5).read_bytes()[:2048])
    for keep in ("raise", "keep"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(VideoReadError, match="No decodable frames of the 45 its container declares"):
                read_frames(cut, 8, face_crop=True, cache_dir=tmp_path / "cache", on_truncated=keep)
    with pytest.raises(VideoReadError, match="No decodable frames"):
        util.check_truncation(cut)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


@pytest.mark.parametrize("case", ["missing", "empty", "text", "garbage", "headless"])
def test_bad_files_raise_video_read_error(video_factory, tmp_path, case):
    path = tmp_path / f"{case}.mp4"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is not a video\n" * 50)
    elif case == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(20000))
    elif case == "headless":  # moov atom at the end, cut off: nothing to decode
        data = video_factory(30, faststart=False).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match=path.name) as info:
        read_frames(path, 8)
    assert isinstance(info.value, ValueError)


def test_read_frames_bad_arguments_before_opening(tmp_path):
    missing = tmp_path / "missing.mp4"  # arguments are checked first: no VideoReadError
    for kwargs, match in [
        (dict(num_frames=0), "num_frames=0"),
        (dict(num_frames=8, strategy="x"), "strategy='x'"),
        (dict(num_frames=8, size=(0, 10)), "size="),
        (dict(num_frames=8, size=(10, 10), crop="left"), "crop='left'"),
        (dict(num_frames=8, crop="center"), "size=None"),
    ]:
        with pytest.raises(ValueError, match=match) as info:
            read_frames(missing, **kwargs)
        assert not isinstance(info.value, VideoReadError)


def test_util_import_does_not_load_tensorflow():
    code = "import sys, util; util.sample_indices(10, 4); assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
