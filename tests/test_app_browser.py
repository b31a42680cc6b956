"""Tier 2: `vidseq app` served on localhost and used in a real headless browser.

The browser is Debian's chromium driven by Playwright (never a downloaded one); screenshots
go to $VIDSEQ_TEST_ARTIFACTS (default tests/artifacts/, git-ignored).
"""

import os
import warnings
from pathlib import Path

import pytest

from vidseq.app.serving import chromium_missing, headless_chromium, serve_app

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("VIDSEQ_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))
PAGE_TIMEOUT_MS = 180_000  # the first page loads TensorFlow, the first video MTCNN and the backbone


@pytest.fixture(scope="module")
def browser():
    if problem := chromium_missing():  # CI installs chromium and Playwright: missing there is a failure
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    with headless_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo dataset (real faces) and a face-crop run trained on it."""
    import model_builder
    from vidseq.data.demo_data import make_demo_dataset

    root = tmp_path_factory.mktemp("app_demo")
    make_demo_dataset(root / "data", num_videos=12, num_frames=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model_builder.train_test_classifier(
            root / "data", 8, "MobileNetV2", weights="random", face_crop=True, rnn=None, epochs=5, learning_rate=1e-3,
            val_size=0.25, test_size=0.25, cache_dir=root / "cache", save_dir=root / "runs", run_name="demo", verbose=0)
    return root


@pytest.fixture(scope="module")
def server(demo):
    """`vidseq app` on a free localhost port; yields its URL and the temp folder it may write to."""
    tmp = demo / "server_tmp"
    tmp.mkdir()
    with serve_app(demo / "runs", demo / "data", log=demo / "server.log",
                   env={**os.environ, "TMPDIR": str(tmp)}) as url:
        yield url, tmp


def test_upload_videos_and_read_the_scores(browser, server, demo):
    import model_builder

    url, tmp = server
    video = demo / "data" / "fake" / "fake_000.mp4"
    expected = model_builder.predict_video(video, demo / "runs" / "demo")
    not_a_video = demo / "notes.mp4"
    not_a_video.write_text("not a video")

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url)
    uploader = page.locator("input[type=file]")
    uploader.wait_for(state="attached")
    uploader.set_input_files(str(video))
    score = page.locator('[data-testid="stMetricValue"]').first
    score.wait_for()
    assert float(score.inner_text()) == pytest.approx(expected, abs=5e-4)
    page.get_by_text("FAKE" if expected >= 0.5 else "REAL", exact=True).wait_for()
    assert page.locator('[data-testid="stImageContainer"]').count() >= 8  # the sampled frames, face boxes drawn
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "app_predict.png", full_page=True)

    uploader.set_input_files(str(not_a_video))  # the next video, no refresh: a bad one
    page.get_by_text("notes.mp4: Cannot open video").wait_for()
    assert page.locator('[data-testid="stMetricValue"]').count() == 1  # the first result stays
    assert not list(tmp.glob("vidseq-app-*"))  # uploads are removed once scored

    page.get_by_role("tab", name="Runs").click()
    page.get_by_text("Learning curves").wait_for()
    page.screenshot(path=ARTIFACTS / "app_runs.png", full_page=True)
    page.close()
