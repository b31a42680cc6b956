"""Regenerate docs/app.png, the screenshot of the web app in docs/app.md: offline, in one command.

    .venv/bin/python docs/make_app_png.py        # about 2.5 minutes on 2 CPU cores

It runs `vidseq demo --weights random` in a scratch folder (the demo videos and the demo's two
runs), serves `vidseq app` there on a free port, opens the page in Debian's chromium through
Playwright (never a downloaded browser), picks the demo's GRU run on the Predict tab, uploads the
first fake and the first real video of that run's test split (videos it never trained on), waits
until both results are drawn, and writes the page atomically to docs/app.png. The scratch folder
is removed unless `--work-dir` names one to keep: a rerun there reuses the demo's videos, cache
and finished runs, so only the browser part runs again.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image  # installed with matplotlib

from vidseq.app.serving import chromium_missing, headless_chromium, serve_app, vidseq_command
from vidseq.utils.atomic import atomic_path

OUT = Path(__file__).with_name("app.png")
RUN = "gru64"  # the demo's GRU head (mean of its states over the frames): the run docs/app.md shows
PAGE_TIMEOUT_MS = 300_000  # 2 shared cores: TensorFlow loads on the first page view, the face detector on the first video
MARGIN = 24  # pixels of page around the content
# Streamlit is done when its "Running..." widget and every spinner are gone, and every image has loaded.
PAGE_IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSpinner"]')
                     && [...document.images].every(image => image.complete)"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="the PNG written")
    parser.add_argument("--width", type=int, default=1280, help="the browser window's width in pixels")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="keep the demo's videos, cache, runs and logs here (default: a temp folder, removed)")
    args = parser.parse_args(argv)
    if problem := chromium_missing():  # before minutes of training
        print(f"make_app_png: error: {problem}", file=sys.stderr)
        return 2
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        work = (args.work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vidseq-app-png-"))))
        work = work.resolve()  # the server runs in it: paths given to it must not be relative to here
        work.mkdir(parents=True, exist_ok=True)
        try:
            run = train_demo(work)
            videos = first_fake_and_real(run)
            with serve_app(run.parent, "data/demo", log=work / "server.log", cwd=work) as url:
                screenshot(url, run.name, videos, args.out, args.width, work / "server.log")
        except (RuntimeError, ValueError) as err:
            print(f"make_app_png: error: {err}", file=sys.stderr)
            return 1
    print(f"{args.out}: {', '.join(v.name for v in videos)} scored by {run.name} "
          f"({time.monotonic() - start:.0f} s)")
    return 0


def train_demo(work: Path) -> Path:
    """`vidseq demo` in `work` (output in work/demo.log); the GRU run's folder."""
    with open(work / "demo.log", "w") as log:
        status = subprocess.run(vidseq_command("demo", "--data-dir", "data/demo", "--save-dir", "saved_models",
                                               "--cache-dir", "cache", "--weights", "random"),
                                cwd=work, stdout=log, stderr=subprocess.STDOUT).returncode
    if status:
        raise RuntimeError(f"vidseq demo exited with status {status}; its log ends:\n"
                           f"{(work / 'demo.log').read_text()[-3000:]}")
    runs = sorted((work / "saved_models").glob(f"*_{RUN}*"))
    if len(runs) != 1:
        raise RuntimeError(f"Received: {len(runs)} runs named *_{RUN}* in {work / 'saved_models'}. Expected one.")
    return runs[0]


def first_fake_and_real(run: Path) -> list[Path]:
    """The run's first fake and first real test video, from its scores.csv."""
    with open(run / "scores.csv", newline="") as f:
        test = [row for row in csv.DictReader(f) if row["split"] == "test"]
    return [Path(next(row["path"] for row in test if row["label"] == label)) for label in ("1", "0")]


def screenshot(url: str, run: str, videos: list[Path], out: Path, width: int, log: Path) -> None:
    """Score `videos` with `run` on the Predict tab and write the page, once drawn, to `out`."""
    from playwright.sync_api import Error as PlaywrightError

    with headless_chromium() as browser:
        try:
            png = photograph(browser.new_page(viewport={"width": width, "height": 900}), url, run, videos)
        except PlaywrightError as err:
            raise RuntimeError(f"{err.message.splitlines()[0]} (the server's log: {log})") from err
    # 256 colours: a third of the size in git for every regeneration, and no visible change on a page
    with atomic_path(out) as tmp:
        Image.open(io.BytesIO(png)).quantize(256, method=Image.Quantize.FASTOCTREE).save(tmp, optimize=True)


def photograph(page, url: str, run: str, videos: list[Path]) -> bytes:
    """The Predict tab's PNG once `run` has scored `videos` and everything is drawn."""
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("combobox", name="Run", exact=True).click()
    page.get_by_role("option").filter(has_text=run).click()
    page.get_by_text(f"head {RUN}").wait_for()  # the run's caption: the page has rerun with it
    page.locator("input[type=file]").set_input_files([str(v) for v in videos])
    # Each video ends in a score or an error box; an error box is not a picture for the docs.
    page.locator('[data-testid="stMetricValue"], [data-testid="stAlert"]').nth(len(videos) - 1).wait_for()
    if alerts := page.locator('[data-testid="stAlert"]').all_inner_texts():
        raise RuntimeError(f"the page shows an error: {alerts[0]!r}")
    page.locator('[data-testid="stVegaLiteChart"] svg').nth(len(videos) - 1).wait_for()  # the evidence strips
    page.evaluate("document.activeElement.blur()")  # no focus ring on the last widget used
    # The page scrolls inside stMain, not the document: grow the window to all of it, then
    # photograph the content with a margin.
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
    page.wait_for_function(PAGE_IDLE)
    box = page.locator('[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]').bounding_box()
    clip = {"x": box["x"] - MARGIN, "y": box["y"] - MARGIN, "width": box["width"] + 2 * MARGIN,
            "height": box["height"] + 2 * MARGIN}
    return page.screenshot(clip=clip, animations="disabled")


if __name__ == "__main__":
    sys.exit(main())
