"""Navigable rehearsal recordings. A rehearsal's screen (each step's heading and the output its
command printed, timed as each line arrived) is written as an asciicast v2 file with a marker
per step; a self-contained HTML page beside it plays it with the vendored asciinema-player,
lists the steps as chapters and finds text in the output. The page needs no network: the player
(its WebAssembly included), its stylesheet and the recording are all inside it, since a browser
does not let a page opened from file:// fetch even a file beside it. Host side.

asciicast v2 (docs.asciinema.org/manual/asciicast/v2): a JSON header line, then one JSON array
per event, [seconds since the start, "o", text] for output and [seconds, "m", label] for a marker.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

ASSETS = Path(__file__).with_name("recording_assets")
PLAYER_VERSION = "3.18.0"  # of the vendored asciinema-player (recording_assets/README.md)
WIDTH, HEIGHT = 110, 36  # WIDTH is the COLUMNS each step's command runs with (demo.perform)


WHOLE_PAGE = "rehearsal.html"  # of a rehearsal of every step


def names(numbers: list[int], total: int) -> tuple[str, str]:
    """The cast and page names: a rehearsal of some steps only (`--steps`) gets names of its own,
    so it does not replace the recording of the whole rehearsal."""
    stem = "rehearsal" if numbers == list(range(1, total + 1)) else "rehearsal-steps-" + "-".join(map(str, numbers))
    return f"{stem}.cast", f"{stem}.html"


class CastWriter:
    """Writes the cast as the rehearsal goes (to a .partial file, put in place on close, so a
    rehearsal cut short leaves the previous recording whole). Lines may come from a step's
    reader thread while the main thread writes headings: one lock orders them, and each event's
    time is taken under it, so times never go backwards."""

    def __init__(self, path: Path, *, title: str, width: int = WIDTH, height: int = HEIGHT) -> None:
        from rich.console import Console

        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.partial.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._held: float | None = None  # the time of a marker whose heading is being shown
        # Rich turns the markup the console shows into the ANSI colours a terminal would get.
        self._screen = io.StringIO()
        self._console = Console(file=self._screen, force_terminal=True, color_system="standard", width=width,
                                soft_wrap=True, highlight=False, emoji=False)
        header = {"version": 2, "width": width, "height": height, "timestamp": int(time.time()), "title": title,
                  "env": {"TERM": "xterm-256color"}}
        self._write(header)

    def _write(self, item: object) -> None:
        self._file.write(json.dumps(item, ensure_ascii=False) + "\n")
        self._file.flush()  # a rehearsal stopped by Ctrl-C still leaves what it saw in the .partial

    def _event(self, code: str, data: str) -> None:
        seconds = self._held if self._held is not None else round(time.monotonic() - self._start, 6)
        self._write([seconds, code, data])

    @contextmanager
    def marker(self, label: str) -> Iterator[None]:
        """A marker; what is shown inside the block (the step's heading) gets the marker's own
        time, so the player, which shows every event up to the time it is at, shows the heading
        when it goes to the marker (rather than the end of the step before)."""
        with self._lock:
            self._held = round(time.monotonic() - self._start, 6)
            self._event("m", label)
        try:
            yield
        finally:
            self._held = None

    def show(self, markup: str) -> None:
        """One line of console markup, as the terminal showed it (colours as ANSI, CR LF ends)."""
        with self._lock:
            self._screen.seek(0)
            self._screen.truncate()
            self._console.print(markup)
            self._event("o", self._screen.getvalue().replace("\r\n", "\n").replace("\n", "\r\n"))

    def tee(self, say: Callable[[str], None]) -> Callable[[str], None]:
        """`say` that also records: every line the rehearsal prints goes into the cast too."""

        def both(markup: str) -> None:
            say(markup)
            self.show(markup)

        return both

    def close(self) -> Path:
        with self._lock:
            self._file.close()
            os.replace(self.partial, self.path)
        return self.path


@dataclass(frozen=True)
class Chapter:
    index: int  # the marker's index, as the player's seek({marker: index}) takes it
    time: float
    label: str
    seconds: float  # until the next marker, or the end


def read_cast(text: str) -> tuple[dict, list[list]]:
    lines = [line for line in text.splitlines() if line.strip()]
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def chapters(events: list[list]) -> list[Chapter]:
    markers = [(event[0], event[2]) for event in events if event[1] == "m"]
    end = events[-1][0] if events else 0.0
    ends = [t for t, _ in markers[1:]] + [end]
    return [Chapter(i, t, label, round(stop - t, 1)) for i, ((t, label), stop) in enumerate(zip(markers, ends))]


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def script_data(value: object) -> Markup:
    """JSON to put inside <script type="application/json">: `</` escaped so no text in the
    recording can close the script element."""
    return Markup(json.dumps(value, ensure_ascii=False).replace("</", "<\\/"))


def write_page(cast: Path, page: Path, *, command: str) -> Path:
    """The player page for a cast, written beside it; everything it needs is inside it."""
    text = cast.read_text(encoding="utf-8")
    header, events = read_cast(text)
    env = Environment(loader=FileSystemLoader(ASSETS), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["clock"] = clock
    html = env.get_template("rehearsal.html.j2").render(
        title=header.get("title", cast.stem), command=command, chapters=chapters(events),
        recorded_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(header.get("timestamp", 0))),
        duration=clock(events[-1][0] if events else 0), cast_name=cast.name, cast_json=script_data(text),
        player_js=Markup((ASSETS / "asciinema-player.min.js").read_text(encoding="utf-8")),
        player_css=Markup((ASSETS / "asciinema-player.css").read_text(encoding="utf-8")),
        player_version=PLAYER_VERSION)
    partial = page.with_name(page.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, page)
    return page
