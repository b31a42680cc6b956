"""Face crops: found on the demo's real photographs, stable, cached, honest fallbacks; the same
with either detector (YuNet, the default, and MTCNN) wherever the behaviour must not depend on it."""

import concurrent.futures
import json

import cv2
import numpy as np
import pytest

import util
from vidseq.data import face_detectors, faces
from vidseq.data import sampling
from vidseq.data.config import DataConfig
from vidseq.data.demo_data import FACE_BOXES, load_photo, plan_clip, render_clip
from vidseq.data.face_detectors import DETECTORS, FaceModelError
from vidseq.data.faces import FaceCrop, crop_face, iou, track_face, track_faces
from vidseq.data.video_io import VideoReadError, write_video

SEED = (0, 1, 3)  # a fake demo clip: a swapped face must still be found


@pytest.fixture(params=list(DETECTORS))
def detector(request) -> str:
    """Each face detector in turn: tests taking it must hold for both."""
    return request.param


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
def test_demo_face_is_found_and_tracked(face_video, tmp_path, detect_size, detector):
    settings = FaceCrop(detector=detector, detect_size=detect_size)
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


def test_cache_hit_skips_detection(face_video, tmp_path, monkeypatch, detector):
    face = FaceCrop(detector=detector)
    first, _ = util.read_frames(face_video, 6, face_crop=face, cache_dir=tmp_path)
    monkeypatch.setattr(sampling, "detect_faces", lambda *a, **k: pytest.fail("detected again despite the cache"))
    again, _ = util.read_frames(face_video, 6, face_crop=face, cache_dir=tmp_path)
    np.testing.assert_array_equal(first, again)


def test_boxes_of_one_detector_never_stand_for_the_others(face_video, tmp_path, monkeypatch):
    """The detector and its version are in every face cache key: boxes, crops, embeddings."""
    util.read_frames(face_video, 6, face_crop=FaceCrop(detector="mtcnn"), cache_dir=tmp_path)
    detected = []
    detect = sampling.detect_faces
    monkeypatch.setattr(sampling, "detect_faces", lambda frames, face: detected.append(face.detector) or
                        detect(frames, face))
    util.read_frames(face_video, 6, face_crop=FaceCrop(detector="yunet"), cache_dir=tmp_path)
    assert detected == ["yunet"] and len(list((tmp_path / "faces").rglob("*.json"))) == 2
    yunet, mtcnn = FaceCrop(), FaceCrop(detector="mtcnn")
    assert yunet.crop_key()["detector"] == "yunet-2023mar" and yunet.detection_key()["detector"] == "yunet-2023mar"
    # MTCNN's keys are those of the code before detectors were a setting (recorded from it): warm caches stay warm.
    assert mtcnn.crop_key() == {"detect_size": 640, "first_pass": 320, "margin": 1.3, "min_confidence": 0.9,
                                "min_face_size": 20, "no_face": "full_frame", "tracker": 2}
    assert mtcnn.detection_key() == {"detect_size": 640, "first_pass": 320, "min_confidence": 0.9, "min_face_size": 20}
    monkeypatch.setitem(DETECTORS, "yunet", DETECTORS["yunet"].__class__(
        **{**vars(DETECTORS["yunet"]), "version": "yunet-next"}))  # a new model version: detected again
    util.read_frames(face_video, 6, face_crop=FaceCrop(detector="yunet"), cache_dir=tmp_path)
    assert detected == ["yunet", "yunet"]


def test_no_face_falls_back_to_full_frames_or_skips(blank_video, detector):
    frames, mask, found = util.read_frames_and_face(blank_video, 4, face_crop=FaceCrop(detector=detector))
    full, _ = util.read_frames(blank_video, 4, size=(224, 224))
    assert found is False and mask.all()
    np.testing.assert_array_equal(frames, full)
    with pytest.raises(util.NoFaceError, match="blank.mp4"):
        util.read_frames(blank_video, 4, face_crop=FaceCrop(detector=detector, no_face="skip"))


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
    (dict(detector="mtcnn", min_face_size=40), r"min_face_size=40. Expected an int in \[4, 24\] \(mtcnn crashes"),
    (dict(margin=0.5), "margin=0.5"), (dict(no_face="drop"), "no_face='drop'"), (dict(detect_size=10), "detect_size=10"),
    (dict(detector="dlib"), r"detector='dlib'. Expected one of \['yunet', 'mtcnn'\]"),
    (dict(detector=None), "detector=None"), (dict(min_confidence=1.5), "min_confidence=1.5"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FaceCrop(**kwargs)


def test_settings_by_detector_and_saved_runs():
    """Each detector's own confidence floor; a run saved before `detector` existed is MTCNN's."""
    assert (FaceCrop().detector, FaceCrop().min_confidence) == ("yunet", DETECTORS["yunet"].min_confidence)
    assert FaceCrop(detector="mtcnn").min_confidence == 0.9 and FaceCrop(min_face_size=40).min_face_size == 40
    assert FaceCrop.from_key(FaceCrop().key()) == FaceCrop()  # new runs record "yunet" and its floor
    old = {k: v for k, v in FaceCrop(detector="mtcnn").key().items() if k not in ("detector", "max_faces")}
    assert FaceCrop.from_key(old) == FaceCrop(detector="mtcnn")
    assert FaceCrop().with_detector("mtcnn") == FaceCrop(detector="mtcnn")  # the floor follows the detector ...
    assert FaceCrop(min_confidence=0.8).with_detector("mtcnn").min_confidence == 0.8  # ... unless set by hand


def test_docstring_examples_run():
    import doctest

    for module in (faces, face_detectors):
        failures, tried = doctest.testmod(module)
        assert tried > 0 and failures == 0, module.__name__


@pytest.fixture
def model_file(tmp_path, monkeypatch):
    """Point YuNet at a copy of its model in tmp_path (to damage), forgetting the checked bytes."""
    copy = tmp_path / "yunet.onnx"
    copy.write_bytes(face_detectors.YUNET_FILE.read_bytes())
    monkeypatch.setattr(face_detectors, "YUNET_FILE", copy)
    monkeypatch.setattr(face_detectors, "_YUNET_BYTES", None)
    monkeypatch.setattr(face_detectors, "_YUNET_LOCAL", __import__("threading").local())
    return copy


def test_missing_or_corrupted_model_fails_before_any_video_is_read(model_file, face_video):
    data = bytearray(model_file.read_bytes())
    data[1000] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(FaceModelError, match=r"sha256 .*Expected sha256 8f2383e4dd3c.*reinstall vidseq") as error:
        util.read_frames(face_video, 4, face_crop=True)
    assert "\n" not in str(error.value)
    model_file.unlink()
    with pytest.raises(FaceModelError, match="no YuNet model file at .*yunet.onnx"):
        DataConfig(face_crop=True)  # a run's settings: checked before anything is read
    util.read_frames(face_video, 4, face_crop=FaceCrop(detector="mtcnn"))  # MTCNN needs no YuNet file


def test_model_ships_inside_the_package():
    """The package carries YuNet and its licence (package data): nothing outside it is needed."""
    folder = face_detectors.YUNET_FILE.parent
    assert folder.parent == __import__("pathlib").Path(faces.__file__).parent
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert face_detectors.yunet_model().nbytes == 232_589


@pytest.mark.parametrize("size", [(24, 24), (200, 20)])
def test_frames_too_small_for_the_detector(tmp_path, size, detector):
    path = tmp_path / "tiny.mp4"
    write_video(path, np.full((4, *size, 3), 90, np.uint8), fps=4)
    with pytest.raises(VideoReadError, match=rf"{size[1]}x{size[0]} frames for face detection. Expected frames at "
                                             r"least 32 pixels high and wide: .*tiny.mp4"):
        util.read_frames(path, 4, face_crop=FaceCrop(detector=detector))
    with pytest.raises(VideoReadError, match="at least 32 pixels"):
        faces.detect_faces([np.zeros((20, 64, 3), np.uint8)])


def test_bad_face_crop_argument(face_video):
    with pytest.raises(ValueError, match="face_crop='yes'"):
        util.read_frames(face_video, 4, face_crop="yes")
    with pytest.raises(ValueError, match="crop='center' with face_crop"):
        util.read_frames(face_video, 4, size=(64, 64), crop="center", face_crop=True)


def test_detector_boxes_in_original_pixels(face_video, detector):
    """Detection on a downscaled copy gives boxes in the original frame's pixels."""
    frame = util.read_frames(face_video, 1)[0][0]
    big = np.repeat(np.repeat(frame, 3, axis=0), 3, axis=1)  # 720x960
    settings = FaceCrop(detector=detector)
    (small_faces,) = faces.detect_faces([frame], settings)
    (big_faces,) = faces.detect_faces([big], FaceCrop(detector=detector, detect_size=320))
    assert len(small_faces) and len(big_faces)
    assert iou(big_faces[0][:4] / 3, small_faces[0][:4]) > 0.8


def test_both_detectors_find_the_same_face(face_video):
    """YuNet's box and MTCNN's agree (YuNet's are a few percent larger: docs/faces.md)."""
    frames = util.read_frames(face_video, 4)[0]
    yunet, mtcnn = (faces.detect_faces(frames, FaceCrop(detector=d)) for d in ("yunet", "mtcnn"))
    assert all(len(a) == len(b) == 1 and iou(a[0], b[0]) > 0.75 for a, b in zip(yunet, mtcnn)), (yunet, mtcnn)


def test_yunet_detects_in_threads_as_alone(face_video):
    """Each thread has its own YuNet (it keeps the input size): threads give the same boxes."""
    frames = util.read_frames(face_video, 4)[0]
    small = np.ascontiguousarray(frames[:, ::2, ::2])  # another input size, in the same threads
    alone = [faces.detect_faces(f, FaceCrop()) for f in (frames, small) * 3]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(lambda f: faces.detect_faces(f, FaceCrop()), (frames, small) * 3))
    for a, b in zip(alone, threaded):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, atol=1e-3)


# ----------------------------------------------------------------- face tracks on real footage's troubles

FRAME = (360, 640)


def backdrop(t: int) -> np.ndarray:
    """A blurred, drifting colour texture: no face, some detail for the detector to look at."""
    rng = np.random.default_rng(7)
    small = rng.integers(40, 200, (FRAME[0] // 40, FRAME[1] // 40 + 4, 3)).astype(np.uint8)
    wide = cv2.resize(small, (FRAME[1] + 160, FRAME[0]), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(wide[:, 10 * t : 10 * t + FRAME[1]])


def paste_face(frame: np.ndarray, photo: str, face_w: int, x: int, y: int) -> np.ndarray:
    """Paste `photo`'s head so that its face box is `face_w` wide with its top-left at (x, y);
    returns that face box `x, y, w, h` in the frame."""
    bx, by, bw, bh = FACE_BOXES[photo]
    image = load_photo(photo)
    scale = face_w / bw
    # The head with some hair and neck around the face, as a person in a frame shows it.
    left, top = max(0, int(bx - 0.45 * bw)), max(0, int(by - 0.45 * bh))
    right, bottom = min(image.shape[1], int(bx + 1.45 * bw)), min(image.shape[0], int(by + 1.45 * bh))
    patch = cv2.resize(image[top:bottom, left:right], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    px, py = int(round(x - (bx - left) * scale)), int(round(y - (by - top) * scale))
    h, w = patch.shape[:2]
    frame[max(0, py) : py + h, max(0, px) : px + w] = patch[max(0, -py) : FRAME[0] - py, max(0, -px) : FRAME[1] - px]
    return np.array([x, y, face_w, bh * scale])


def film(path, scenes) -> np.ndarray:
    """Write one frame per scene (a list of `(photo, face_w, x, y)`), all frames sampled by
    `read_frames(path, len(scenes))`; returns the pasted face boxes, `(T, faces, 4)` (NaN where absent)."""
    frames, truth = [], np.full((len(scenes), 2, 4), np.nan)
    for t, faces_in_view in enumerate(scenes):
        frame = backdrop(t)
        for k, (photo, face_w, x, y) in enumerate(faces_in_view):
            truth[t, k] = paste_face(frame, photo, face_w, x, y)
        frames.append(frame)
    write_video(path, np.stack(frames), fps=4)
    return truth


def centre_inside(box, truth) -> bool:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return truth[0] <= cx <= truth[0] + truth[2] and truth[1] <= cy <= truth[1] + truth[3]


def crop_boxes(path, num_frames, cache_dir, track=0, **settings) -> np.ndarray:
    """The boxes the crops of `read_frames(..., face_crop=FaceCrop(**settings), track=track)` use."""
    face = FaceCrop(**settings)
    util.read_frames(path, num_frames, face_crop=face, cache_dir=cache_dir, track=track)  # fills the cache
    _, boxes = util.read_frames_and_boxes(path, num_frames, face_crop=face, cache_dir=cache_dir, max_side=FRAME[1],
                                          track=track)
    return boxes


def test_face_moving_faster_than_its_width_is_followed(tmp_path, detector):
    """Between sampled frames the face jumps 1.5-2 of its widths: IoU association lost it."""
    scenes = [[("astronaut", 70, 20 + 75 * t, 60 + 120 * (t % 2))] for t in range(8)]
    truth = film(tmp_path / "fast.mp4", scenes)
    boxes = crop_boxes(tmp_path / "fast.mp4", 8, tmp_path, detector=detector)
    assert all(centre_inside(box, face) for box, face in zip(boxes, truth[:, 0])), (boxes, truth[:, 0])


def test_cut_to_another_face_is_reacquired(tmp_path, detector):
    """A cut from the astronaut (left) to Grace Hopper (right): every crop shows that frame's face."""
    scenes = [[("astronaut", 80, 40 + 4 * t, 50)] for t in range(4)] + \
             [[("grace_hopper", 110, 420 - 4 * t, 160)] for t in range(4)]
    truth = film(tmp_path / "cut.mp4", scenes)
    boxes = crop_boxes(tmp_path / "cut.mp4", 8, tmp_path, detector=detector)
    assert all(centre_inside(box, face) for box, face in zip(boxes, truth[:, 0])), (boxes, truth[:, 0])


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    """The astronaut (left) leaves after frame 5; Grace Hopper (right) stays, coming closer to the
    camera in frames 2-3, where her face is the larger one. Summed over the frames, his face is
    the more present by about 10% (at 70 px, hers would tie with his in YuNet's boxes, which
    are relatively larger around small faces)."""
    path = tmp_path_factory.mktemp("two") / "two.mp4"
    grace = [60, 60, 120, 120, 60, 60, 60, 60]
    scenes = [([("astronaut", 110, 40 + 6 * t, 60)] if t < 6 else []) + [("grace_hopper", grace[t], 430, 90)]
              for t in range(8)]
    return path, film(path, [list(reversed(s)) if t % 2 else s for t, s in enumerate(scenes)])


def test_followed_face_stays_the_same_person_while_present(two_people, tmp_path, detector):
    path, truth = two_people
    astronaut = [face[0] if t % 2 == 0 or t >= 6 else face[1] for t, face in enumerate(truth)]
    astronaut = [np.nan * face if t >= 6 else face for t, face in enumerate(astronaut)]
    grace = [face[1] if t % 2 == 0 and t < 6 else face[0] for t, face in enumerate(truth)]
    boxes = crop_boxes(path, 8, tmp_path, detector=detector)
    # The astronaut is followed while in view (not Grace Hopper where her face is larger), then the
    # crop moves to the face still in view rather than showing the empty place he left.
    assert all(centre_inside(boxes[t], astronaut[t]) for t in range(6)), boxes
    assert all(centre_inside(boxes[t], grace[t]) for t in (6, 7)), boxes
    one, two, three = (FaceCrop(detector=detector, max_faces=k) for k in (1, 2, 3))
    assert util.count_face_tracks(path, 8, face_crop=one, cache_dir=tmp_path) == 1  # max_faces=1: one is read
    assert util.count_face_tracks(path, 8, face_crop=two, cache_dir=tmp_path) == 2
    second = crop_boxes(path, 8, tmp_path, track=1, max_faces=2, detector=detector)
    assert all(centre_inside(box, face) for box, face in zip(second, grace)), second
    frames, mask = util.read_frames(path, 8, face_crop=two, cache_dir=tmp_path, track=1)
    assert frames.shape == (8, 224, 224, 3) and mask.all()
    with pytest.raises(ValueError, match="track=2"):
        util.read_frames(path, 8, face_crop=two, track=2)
    with pytest.raises(util.NoFaceError, match="track=2 for a video with 2"):
        util.read_frames(path, 8, face_crop=three, track=2, cache_dir=tmp_path)


@pytest.mark.parametrize("texture", ["noise", "stripes", "blurred"])
def test_face_free_textures_have_no_track(tmp_path, texture, detector):
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0 : FRAME[0], 0 : FRAME[1]]
    make = {
        "noise": lambda t: rng.integers(0, 256, (*FRAME, 3), dtype=np.uint8),
        "stripes": lambda t: np.repeat((np.sin((xx + 9 * t) / 7 + yy / 13) > 0).astype(np.uint8)[..., None] * 200 + 30,
                                       3, axis=2),
        "blurred": lambda t: cv2.GaussianBlur(backdrop(t), (0, 0), 4),
    }[texture]
    path = tmp_path / f"{texture}.mp4"
    write_video(path, np.stack([make(t) for t in range(8)]), fps=4)
    assert util.count_face_tracks(path, 8, face_crop=FaceCrop(detector=detector), cache_dir=tmp_path) == 0
    with pytest.raises(util.NoFaceError, match=texture):
        util.read_frames(path, 8, face_crop=FaceCrop(detector=detector, no_face="skip"), cache_dir=tmp_path)


def rows(*boxes) -> np.ndarray:
    return np.array(boxes, float).reshape(-1, 5)


def test_sporadic_false_faces_give_no_track(detector):
    """False faces in face-free clips: once, or twice at a middling confidence; the same rules on
    each detector's own confidence scale (MTCNN's levels were set on its false faces first)."""
    d = DETECTORS[detector]
    floor, dim, unsure = d.min_confidence, (d.persistent + d.sure) / 2, (d.min_confidence + d.persistent) / 2
    sure, certain = (d.sure + d.strict) / 2, (d.strict + 1) / 2
    none = rows()

    def tracks(detections, frame_size=None):
        return track_faces(detections, frame_size, detector=detector)

    assert tracks([none, rows([50, 50, 40, 50, (floor + d.strict) / 2]), none, none]) == []
    assert tracks([rows([50, 50, 40, 50, unsure]), none, rows([55, 52, 40, 50, dim])] + [none] * 5) == []
    assert tracks([none, rows([0, 0, 340, 400, certain]), rows([0, 0, 340, 400, certain])], (360, 640)) == []  # too big
    assert tracks([rows([50, 50, 90, 30, certain])] * 3) == []  # not a face's shape
    assert tracks([rows([50, 50, 40, 50, sure])] * 2 + [none] * 14) == []  # on screen too briefly
    # A real face: recurring and confident, or seen once with no doubt (a shot of its own).
    assert len(tracks([rows([50, 50, 40, 50, sure]), none, rows([60, 50, 40, 50, d.sure])])) == 1
    assert len(tracks([none, rows([50, 50, 40, 50, certain]), none])) == 1
    assert len(tracks([rows([50, 50, 40, 50, dim])] * 3 + [none] * 3)) == 1  # dim, but in half the frames


def test_tracks_link_by_position_and_size_not_overlap():
    """One face jumps 3 of its widths per frame while another stays: each track keeps its person."""
    mover = [rows([20 + 150 * t, 100, 50, 60, 0.99]) for t in range(4)]
    stayer = rows([500, 300, 45, 55, 0.99])
    detections = [np.concatenate([stayer, m] if t % 2 else [m, stayer]) for t, m in enumerate(mover)]
    first, second = track_faces(detections)
    np.testing.assert_array_equal(first, np.concatenate(mover)[:, :4])
    np.testing.assert_array_equal(second, np.repeat(stayer[:, :4], 4, axis=0))


def test_predict_and_explain_score_every_face_and_keep_the_highest(two_people, tmp_path, capsys):
    """With max_faces=2 a video's score is its most fake-looking face's (DFDC's winners' rule)."""
    import keras

    import model_builder
    from vidseq.cli import commands as cli
    from vidseq.features import backbones
    from vidseq.features import extract

    path, _ = two_people
    face = FaceCrop(max_faces=2)
    config = dict(img_model_name="MobileNetV2", weights="random", weights_identity=backbones.weights_identity("random"),
                  num_frames=8, strategy="uniform", seed=42, face_crop=face.key(), cache_dir=str(tmp_path / "cache"))
    features = [extract.embed_with_skips([path], 8, "MobileNetV2", "random", tmp_path / "cache", face, 8, "raise",
                                         "uniform", 42, 1, quiet=True, track=k)[0][0].mean(axis=0) for k in (0, 1)]
    # A linear head that, by construction, finds the second face (track 1) the more fake one.
    inputs = keras.Input((8, features[0].size))
    head = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, head(keras.layers.GlobalAveragePooling1D()(inputs)))
    direction = (features[1] - features[0]) / np.linalg.norm(features[1] - features[0]) ** 2
    head.set_weights([direction[:, None].astype(np.float32), -np.array([direction @ features[0] + 0.5], np.float32)])
    expected = [float(model.predict(f[None, None].repeat(8, axis=1), verbose=0)[0, 0]) for f in features]
    assert expected[1] > expected[0] + 0.1, expected
    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps(config))
    (run / "metrics.json").write_text(json.dumps({"test": {"threshold": 0.5}}))

    assert model_builder.predict_video(path, run) == pytest.approx(expected[1], rel=1e-4)
    result = model_builder.explain_video(path, run)
    assert result["track"] == 1 and result["score"] == pytest.approx(expected[1], rel=1e-4)
    _, second = util.read_frames_and_boxes(path, 8, face_crop=face, cache_dir=tmp_path / "cache", track=1)
    np.testing.assert_allclose(result["boxes"], second)  # the boxes of the face that gave the score
    (run / "config.json").write_text(json.dumps({**config, "face_crop": FaceCrop().key()}))  # max_faces=1: main face
    assert model_builder.predict_video(path, run) == pytest.approx(expected[0], rel=1e-4)
    # A one-face run scoring every face of the two-person clip, chosen at scoring time, as the CLI does.
    assert model_builder.score_video(path, run, max_faces=3) == {"score": pytest.approx(expected[1], rel=1e-4),
                                                                 "track": 1, "max_faces": 3}
    assert model_builder.explain_video(path, run, max_faces=3)["track"] == 1
    assert cli.main(["predict", str(path), "--run", str(run), "--max-faces", "3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["track"], printed["max_faces"]) == (1, 3) and printed["p_fake"] == pytest.approx(expected[1], abs=1e-4)
    assert cli.main(["predict", str(path), "--run", str(run), "--max-faces", "3"]) == 0
    assert "face track 1 of up to 3" in capsys.readouterr().out
    assert cli.main(["predict", str(path), "--run", str(run), "--max-faces", "9"]) == 2
    assert "--max-faces 9" in capsys.readouterr().err
    # A run saved before max_faces and detector existed: MTCNN's crops, as when it was trained.
    old = {k: v for k, v in FaceCrop(detector="mtcnn").key().items() if k not in ("max_faces", "detector")}
    (run / "config.json").write_text(json.dumps({**config, "face_crop": old}))
    by_mtcnn = model_builder.predict_video(path, run)
    assert model_builder.predict_video(path, run, face_detector="yunet") == pytest.approx(expected[0], rel=1e-4)
    (run / "config.json").write_text(json.dumps({**config, "face_crop": FaceCrop(detector="mtcnn").key()}))
    assert model_builder.predict_video(path, run) == by_mtcnn != pytest.approx(expected[0], rel=1e-4)
    with pytest.raises(ValueError, match="detector='dlib'"):
        model_builder.predict_video(path, run, face_detector="dlib")


def test_first_pass_settles_sure_faces_and_searches_the_rest_again(monkeypatch, detector):
    """A frame with a sure face is settled by the cheap 320 px pass; one without is searched at 640 px."""
    face, empty = backdrop(0), backdrop(1)
    truth = paste_face(face, "astronaut", 90, 100, 80)
    sizes = []
    detect = faces.detect_at_size
    monkeypatch.setattr(faces, "detect_at_size", lambda frames, settings, size: (
        sizes.append((size, len(frames))), detect(frames, settings, size))[1])
    found = faces.detect_faces([face, empty], FaceCrop(detector=detector))
    assert sizes == [(320, 2), (640, 1)]  # only the frame without a sure face is searched again
    assert len(found[0]) == 1 and iou(found[0][0, :4], truth) > 0.7 and len(found[1]) == 0
    sizes.clear()
    one_pass = faces.detect_faces([face, empty], FaceCrop(detector=detector, first_pass=None))
    assert sizes == [(640, 2)] and iou(one_pass[0][0, :4], found[0][0, :4]) > 0.8


def test_a_detecting_read_decodes_once_and_crops_as_a_cached_read(face_video, tmp_path, monkeypatch):
    """Cold, the frames decoded for detection are cropped (one pass); warm, the video is decoded for
    the crops alone; the crops are identical. Past `HOLD_BYTES`, cold reads decode twice."""
    passes = []
    grab = sampling.grab_frames
    monkeypatch.setattr(sampling, "grab_frames", lambda *a, **k: passes.append(1) or grab(*a, **k))
    cold = util.read_frames_and_face(face_video, 6, face_crop=True, cache_dir=tmp_path / "a")
    assert len(passes) == 1
    warm = util.read_frames_and_face(face_video, 6, face_crop=True, cache_dir=tmp_path / "a")
    assert len(passes) == 2 and cold[2] is warm[2] is True
    np.testing.assert_array_equal(cold[0], warm[0])
    monkeypatch.setattr(sampling, "HOLD_BYTES", 0)
    again = util.read_frames_and_face(face_video, 6, face_crop=True, cache_dir=tmp_path / "b")
    assert len(passes) == 4
    np.testing.assert_array_equal(cold[0], again[0])
