"""A tool's web UI as a person sees it: Debian's headless Chromium renders the page (scripts
run, the single-page app fetches its data) and hands back the DOM's text and a screenshot.
Every stage's UI probe uses it: a plain GET cannot see a page that fills itself from API calls
(trackio's, Prefect's, Dagster's). Worker side: standard library only; Chromium is a system
package (system-packages.txt)."""

from __future__ import annotations

import html
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bakeoff.worker.processes import ProcessTree

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,900"]
# Virtual time lets the page's scripts and their fetches settle before the DOM is taken.
BUDGET_MS = 20_000


@dataclass
class Rendered:
    text: str  # the rendered DOM's visible text (tags stripped)
    screenshot: Path | None  # None when not asked for
    seconds: float


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    if not found:
        raise RuntimeError("Debian's chromium is not installed (system-packages.txt; ./bootstrap installs it)")
    return found


def _run(argv: list[str], out: Path, limit: float, tmp: Path) -> None:
    """Chromium with its stdout (the dumped DOM) into `out` and its stderr (D-Bus and GPU
    chatter) into a file beside it."""
    out.unlink(missing_ok=True)  # a ProcessTree appends to its log
    shell = ["sh", "-c", 'exec "$@" 2>>"$0"', str(out.with_suffix(".stderr")), *argv]
    # Its temp dir short too: Chromium puts its singleton socket there.
    with ProcessTree(shell, log=out, new_session=True, env={"TMPDIR": str(tmp)}) as browser:
        deadline = time.perf_counter() + limit
        while browser.running() and time.perf_counter() < deadline:
            time.sleep(0.1)
        if browser.running():
            raise RuntimeError(f"Chromium did not finish within {limit:.0f} s")


def render(url: str, folder: Path, *, screenshot: bool = True) -> Rendered:
    """The page at `url` rendered; `screenshot=False` saves the second Chromium launch where a
    probe reads only the text."""
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # Chromium's profile holds its singleton Unix socket, whose path may not exceed 107 bytes: a
    # trial's scratch folder is deeper, so the profile lives in a short folder of /tmp, removed after.
    profile = Path(tempfile.mkdtemp(prefix="bk-chromium-", dir="/tmp"))
    try:
        return _render(url, folder, profile, start, screenshot)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _render(url: str, folder: Path, profile: Path, start: float, screenshot: bool) -> Rendered:
    base = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={BUDGET_MS}"]
    dom = folder / "dom.html"  # the tree's log is Chromium's stdout: the dumped DOM (and its stderr)
    _run([*base, "--dump-dom", url], dom, 90, profile)
    picture = folder / "page.png" if screenshot else None
    if picture is not None:
        _run([*base, f"--screenshot={picture}", url], folder / "screenshot.log", 90, profile)
    body = dom.read_text(errors="replace")
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(script|style)[^>]*>.*?</\1>", " ", body)))
    return Rendered(text=" ".join(text.split()), screenshot=picture, seconds=time.perf_counter() - start)
