"""`vidseq app` served in the background and a headless browser to look at it: for scripts and tests.

The browser is Debian's chromium (`apt-get install chromium`) driven by Playwright (the `test`
extra); Playwright's own browser downloads are never used, so this works offline.

    >>> with serve_app("saved_models") as url, headless_chromium() as browser:  # doctest: +SKIP
    ...     page = browser.new_page()
    ...     page.goto(url)
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
LOG_TAIL = 3000  # characters of the server's log quoted when it fails to start


def vidseq_command(*args: str) -> list[str]:
    """`vidseq ARGS...` run by this interpreter: no need for the console script to be on PATH.

    >>> vidseq_command("app", "--port", "8502")[-3:]
    ['app', '--port', '8502']
    """
    return [sys.executable, "-c", "import sys; from vidseq.cli import main; sys.exit(main())", *args]


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(save_dir: str | os.PathLike, data_dir: str | os.PathLike | None = None, *,
              log: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None,
              env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[str]:
    """Run `vidseq app` on a free localhost port until the block ends; yield its URL once it answers.

    Its output goes to `log` (default: a temporary file, removed afterwards). A server that exits
    or does not answer within `timeout` seconds raises RuntimeError quoting the log's end.
    """
    command = vidseq_command("app", "--save-dir", str(save_dir), "--port", str(port := free_port()),
                             *(["--data-dir", str(data_dir)] if data_dir is not None else []))
    url = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        if log is None:
            log = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vidseq-app-log-"))) / "server.log"
        with open(log, "w") as out, subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                                     env=env) as process:
            try:
                _wait_until_healthy(url, process, Path(log), timeout)
                yield url
            finally:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vidseq app exited with status {process.returncode} before answering; "
                               f"its log ends:\n{log.read_text()[-LOG_TAIL:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"vidseq app did not answer at {url} within {timeout} s; its log ends:\n"
                       f"{log.read_text()[-LOG_TAIL:]}")


def chromium_missing(executable: str = CHROMIUM) -> str | None:
    """Why `headless_chromium` cannot start (one line), or None when it can."""
    if not Path(executable).is_file():
        return f"Received: no browser at {executable}. Expected Debian's chromium: apt-get install chromium."
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return 'Received: no Playwright in this Python. Expected it: pip install "vidseq[test]".'
    return None


@contextlib.contextmanager
def headless_chromium(executable: str = CHROMIUM) -> Iterator:
    """A headless Playwright `Browser` on the chromium at `executable`; ValueError (one line) if it cannot start."""
    if problem := chromium_missing(executable):
        raise ValueError(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()
