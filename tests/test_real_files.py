"""Real files: variable frame rate, other containers, timestamp gaps, and partial downloads.

The bundled FFmpeg (imageio-ffmpeg) writes what phones, browsers and screen recorders write:
frames at irregular times (kept with `-fps_mode passthrough`), WebM, Matroska and MJPEG AVI,
audio longer than the video, a video track starting late, and files recorded live.
"""

from __future__ import annotations

import subprocess
import warnings

import imageio_ffmpeg
import numpy as np
import pytest

from conftest import decode_all
from util import TruncatedVideoError, VideoReadError, check_truncation, read_frames, sample_indices
from vidseq.data.containers import declared_size

SOURCE = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=30:duration=6"]
TONE = ["-f", "lavfi", "-i", "sine=duration=6.5"]
# A 6 s clip at 30 fps keeping 94 of its 180 frames, at their own times (frames 0, 1, 4, 5, 8, ..., 172-179).
VFR = ["-vf", r"select='lt(mod(n\,4)\,2)+gte(n\,172)'", "-fps_mode", "passthrough"]
H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
WHOLE = {  # name: (ffmpeg arguments, frames that decode)
    "vfr.mp4": (SOURCE + VFR + H264, 94),
    "vfr.mkv": (SOURCE + VFR + H264, 94),
    "vfr.webm": (SOURCE + VFR + ["-c:v", "libvpx", "-b:v", "200k"], 94),
    # MJPEG AVI whose frames are at 0, then 26, 27, ..., 149 (1/30 s): one gap at the start.
    "gap.avi": (["-f", "lavfi", "-i", "testsrc=size=64x48:rate=30:duration=5", "-vf",
                 r"select='eq(n\,0)+gte(n\,26)'", "-fps_mode", "passthrough", "-c:v", "mjpeg"], 125),
    "longer_audio.mkv": (SOURCE + TONE + H264 + ["-c:a", "aac"], 180),  # the container says 6.5 s
    "late_video.mkv": (SOURCE + TONE + ["-vf", "setpts=PTS+0.85/TB"] + H264 + ["-c:a", "aac"], 180),
    "index_first.mp4": (SOURCE + TONE + H264 + ["-c:a", "aac", "-movflags", "+faststart"], 180),
    "index_last.mp4": (SOURCE + TONE + H264 + ["-c:a", "aac"], 180),
    "plain.avi": (SOURCE + ["-c:v", "mjpeg"], 180),
}


def ffmpeg(*args: str, out=None) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", *args], check=True, stdout=out)


@pytest.fixture(scope="session")
def real_files(tmp_path_factory):
    """Every file of WHOLE, a live-recorded WebM (written to a pipe: no size, no duration) and
    an MP4 whose media box runs "to the end of the file" (size 0), as written live."""
    root = tmp_path_factory.mktemp("real_files")
    for name, (args, _) in WHOLE.items():
        ffmpeg(*args, str(root / name))
    with open(root / "live.webm", "wb") as out:
        ffmpeg(*SOURCE, *VFR, "-c:v", "libvpx", "-f", "webm", "-", out=out)
    data = bytearray((root / "index_first.mp4").read_bytes())
    mdat = data.index(b"mdat") - 4
    data[mdat : mdat + 4] = bytes(4)  # size 0: the box runs to the end of the file
    (root / "open_ended.mp4").write_bytes(bytes(data))
    return root


def cut(path, fraction: float = 0.6):
    """A partial download of `path`: its first `fraction` of bytes, next to it."""
    short = path.with_name(f"cut{int(fraction * 100)}_{path.name}")
    data = path.read_bytes()
    short.write_bytes(data[: int(len(data) * fraction)])
    return short


@pytest.mark.parametrize("name", [*WHOLE, "live.webm", "open_ended.mp4"])
def test_whole_files_load_with_every_frame(real_files, name):
    path = real_files / name
    frames_there = len(decode_all(path))
    assert frames_there == WHOLE.get(name, (None, 94 if name == "live.webm" else 180))[1]
    assert check_truncation(path) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even "kept" as truncated
        frames, mask = read_frames(path, 256)
    assert mask.sum() == frames_there
    np.testing.assert_array_equal(frames[:frames_there], decode_all(path))


@pytest.mark.parametrize("name", ["vfr.webm", "gap.avi"])
def test_variable_frame_rate_is_sampled_in_decoding_order(real_files, name):
    """Evenly over the frames as they decode, not over time: 16 distinct frames."""
    path = real_files / name
    reference = decode_all(path)
    frames, mask = read_frames(path, 16)
    assert mask.all()
    np.testing.assert_array_equal(frames, reference[sample_indices(len(reference), 16)])


@pytest.mark.parametrize("name", ["index_first.mp4", "index_last.mp4", "vfr.mkv", "vfr.webm", "plain.avi",
                                  "gap.avi", "longer_audio.mkv"])
def test_partial_downloads_are_reported_in_every_container(real_files, name):
    short = cut(real_files / name)
    if name == "index_last.mp4":  # cut before its index: nothing decodes, so there is nothing to score
        with pytest.raises(TruncatedVideoError, match="nothing of it decodes") as raised:
            check_truncation(short)
        error = raised.value
    else:
        error = check_truncation(short)
    assert isinstance(error, TruncatedVideoError) and error.unit == "bytes"
    # What the parts that start inside the cut file declare: all of it, or (index last) up to the index.
    assert error.have == short.stat().st_size < error.declared <= (real_files / name).stat().st_size
    with pytest.raises(TruncatedVideoError, match=r"Truncated video: the file holds \d+% of the [\d,]+ bytes"):
        read_frames(short, 8)


def test_mp4_cut_before_its_index_is_truncated_and_unreadable(real_files):
    short = cut(real_files / "index_last.mp4")
    with pytest.raises(TruncatedVideoError, match="nothing of it decodes"):
        read_frames(short, 8, on_truncated="keep")


def test_cut_file_kept_on_request_samples_what_decodes(real_files):
    short = cut(real_files / "vfr.mkv")
    decodable = decode_all(short)
    assert 0 < len(decodable) < 94
    with pytest.warns(UserWarning, match="Truncated video.*kept: sampling what decodes"):
        frames, mask = read_frames(short, 8, on_truncated="keep")
    np.testing.assert_array_equal(frames, decodable[sample_indices(len(decodable), 8)])


def test_file_declaring_no_size_is_cut_where_decoding_stops_before_its_duration(real_files):
    """An MP4 written live declares no size; its index still says 6 s: decoding stopping at
    about 60% of that is a cut."""
    assert declared_size(real_files / "open_ended.mp4") is None
    error = check_truncation(cut(real_files / "open_ended.mp4"))
    assert error.unit == "seconds" and error.declared == pytest.approx(6.0, abs=0.05) and 2 < error.have < 5
    assert "decoding stops at" in str(error)
    with pytest.raises(TruncatedVideoError, match="decoding stops at"):
        read_frames(cut(real_files / "open_ended.mp4"), 8)


def test_live_webm_declares_nothing_so_a_cut_cannot_be_told(real_files):
    short = cut(real_files / "live.webm")
    assert declared_size(short) is None and check_truncation(short) is None
    assert read_frames(short, 8)[1].all()


def test_not_a_container_declares_no_size(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video at all")
    assert declared_size(tmp_path / "notes.mp4") is None
    with pytest.raises(VideoReadError, match="Cannot open video"):
        read_frames(tmp_path / "notes.mp4", 4)
