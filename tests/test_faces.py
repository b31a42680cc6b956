"""Face crops: found on the demo's real photographs, stable, cached, honest fallbacks."""

import json

import numpy as np
import pytest

import util
from vidseq import faces
from vidseq.demo_data import plan_clip, render_clip
from vidseq.faces import FaceCrop, crop_face, iou, track_face
from vidseq.video_io import write_video

SEED = (0, 1, 3)  # a fake demo clip: a swapped face must still be found


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("faces") / "fake.mp4"
    write_video(path, render_clip(SEED, fake=True, num_frames=20), fps=15)
    return path


@pytest.fixture(scope="module")
def blank_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("faces") / "blank.mp4"
    frames = np.random.default_rng(0).integers(60, 120, (12, 96, 128, 3), dtype=np.uint8)
    write_video(path, frames, fps=15)
    return path


@pytest.mark.parametrize("detect_size", [640, 200])  # 200: detected at 0.62x, boxes scaled back
def test_demo_face_is_found_and_tracked(face_video, tmp_path, detect_size):
    settings = FaceCrop(detect_size=detect_size)
    frames, mask, found = util.read_frames_and_face(face_video, 8, face_crop=settings, cache_dir=tmp_path)
    assert found is True and mask.all() and frames.shape == (8, 224, 224, 3)
    (entry,) = list((tmp_path / "faces").rglob("*.json"))  # the cached boxes follow the planted face
    cached = json.loads(entry.read_text())
    truth = plan_clip(SEED, 20).face_boxes()[cached["indices"]]
    overlaps = [iou(np.array(b), t) for b, t in zip(cached["tracks"][0], truth)]
    assert min(overlaps) > 0.5, overlaps


def test_crop_is_centred_on_the_face_not_the_frame(face_video):
    crops, _ = util.read_frames(face_video, 4, face_crop=True)
    full, _ = util.read_frames(face_video, 4, size=(224, 224))
    assert crops.std() > 10 and not np.array_equal(crops, full)


def test_cache_hit_skips_detection(face_video, tmp_path, monkeypatch):
    first, _ = util.read_frames(face_video, 6, face_crop=True, cache_dir=tmp_path)
    monkeypatch.setattr(util, "detect_faces", lambda *a, **k: pytest.fail("detected again despite the cache"))
    again, _ = util.read_frames(face_video, 6, face_crop=True, cache_dir=tmp_path)
    np.testing.assert_array_equal(first, again)


def test_no_face_falls_back_to_full_frames_or_skips(blank_video):
    frames, mask, found = util.read_frames_and_face(blank_video, 4, face_crop=True)
    full, _ = util.read_frames(blank_video, 4, size=(224, 224))
    assert found is False and mask.all()
    np.testing.assert_array_equal(frames, full)
    with pytest.raises(util.NoFaceError, match="blank.mp4"):
        util.read_frames(blank_video, 4, face_crop=FaceCrop(no_face="skip"))


def test_tracking_stays_on_one_face_and_fills_gaps():
    big, small = np.array([100, 100, 80, 80, 0.99]), np.array([300, 50, 40, 40, 0.99])
    moved = big + [6, 4, 0, 0, 0]
    detections = [np.empty((0, 5)), np.stack([small, big]), np.stack([small]), np.stack([moved, small]), np.empty((0, 5))]
    track = track_face(detections)  # the big face: larger summed over the frames it is in
    np.testing.assert_array_equal(track[0], big[:4])  # before the first detection: the first box
    np.testing.assert_array_equal(track[1], big[:4])  # both in view: the same person, not the other
    np.testing.assert_array_equal(track[2], small[:4])  # only the other face seen: a face, not background
    np.testing.assert_array_equal(track[3], moved[:4])
    np.testing.assert_array_equal(track[4], moved[:4])
    assert track_face([np.empty((0, 5))] * 3) is None


def test_crop_square_inside_frame():
    frame = np.arange(100 * 160 * 3, dtype=np.uint32).reshape(100, 160, 3).astype(np.uint8)
    crop = crop_face(frame, (140, 80, 30, 30), (32, 32), margin=1.3)  # near the corner: shifted inside
    assert crop.shape == (32, 32, 3)
    huge = crop_face(frame, (0, 0, 160, 100), (16, 16), margin=2.0)  # larger than the frame: clipped
    assert huge.shape == (16, 16, 3)


@pytest.mark.parametrize("kwargs,match", [
    (dict(min_face_size=40), "min_face_size=40"), (dict(margin=0.5), "margin=0.5"),
    (dict(no_face="drop"), "no_face='drop'"), (dict(detect_size=10), "detect_size=10"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FaceCrop(**kwargs)


def test_bad_face_crop_argument(face_video):
    with pytest.raises(ValueError, match="face_crop='yes'"):
        util.read_frames(face_video, 4, face_crop="yes")
    with pytest.raises(ValueError, match="crop='center' with face_crop"):
        util.read_frames(face_video, 4, size=(64, 64), crop="center", face_crop=True)


def test_detector_boxes_in_original_pixels(face_video):
    """Detection on a downscaled copy gives boxes in the original frame's pixels."""
    frame = util.read_frames(face_video, 1)[0][0]
    big = np.repeat(np.repeat(frame, 3, axis=0), 3, axis=1)  # 720x960
    (small_faces,), (big_faces,) = faces.detect_faces([frame]), faces.detect_faces([big], FaceCrop(detect_size=320))
    assert len(small_faces) and len(big_faces)
    assert iou(big_faces[0][:4] / 3, small_faces[0][:4]) > 0.8
