"""Rehearsal recordings: the cast writer makes a valid asciicast v2 file (header, times that never
go back, one marker per step in order, output timed as it arrives from a real process), and the
page embeds that very cast, lists a chapter per marker and loads nothing from the network."""

import json
import re
import sys
import threading

import pytest

from bakeoff.host import demo, recording

STEPS = ["The question", "The baseline meets the contract", "A real tool"]


def parse(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def test_the_cast_is_asciicast_v2_with_a_marker_per_step_in_order(tmp_path):
    cast = recording.CastWriter(tmp_path / "rehearsal.cast", title="bakeoff rehearse tracking: rehearsal x")
    say = cast.tee(lambda text: None)
    for number, title in enumerate(STEPS, 1):
        with cast.marker(f"step {number}: {title}"):
            say(f"[bold cyan]step {number}/3[/] [bold]{title}[/]")
        # Output lines come from a reader thread while the main thread writes: times must stay ordered.
        writers = [threading.Thread(target=lambda n=n: [say(f"line {n}.{i}") for i in range(50)]) for n in range(3)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    path = cast.close()

    assert not (tmp_path / "rehearsal.cast.partial").exists()
    header, events = parse(path)
    assert header["version"] == 2 and header["title"] == "bakeoff rehearse tracking: rehearsal x"
    assert (header["width"], header["height"]) == (recording.WIDTH, recording.HEIGHT)
    assert isinstance(header["timestamp"], int) and header["timestamp"] > 1_600_000_000
    assert all(len(event) == 3 and event[1] in ("o", "m") for event in events)
    times = [event[0] for event in events]
    assert times == sorted(times) and times[0] >= 0
    assert [e[2] for e in events if e[1] == "m"] == [f"step {n}: {t}" for n, t in enumerate(STEPS, 1)]
    output = [e[2] for e in events if e[1] == "o"]
    assert len(output) == 3 * (1 + 150)
    assert all(text.endswith("\r\n") and text.count("\n") == text.count("\r\n") for text in output)  # a terminal's line ends
    assert "\x1b[1;36mstep 1/3\x1b[0m" in output[0]  # the console's colours, as a terminal shows them
    for index, event in enumerate(events):  # a step's heading has its marker's time: going there shows it
        if event[1] == "m":
            assert events[index + 1][0] == event[0] and events[index + 1][2].startswith("\x1b[1;36mstep ")
            assert all(later[0] > event[0] for later in events[index + 2:index + 52])


def test_a_step_s_output_is_timed_as_it_arrives(tmp_path):
    """A real process prints, waits, prints: the cast keeps the pause between the two lines."""
    program = "import time; print('first', flush=True); time.sleep(0.6); print('second', flush=True)"
    step = demo.Step("two lines, a pause between", [sys.executable, "-c", program], "the pause", 20, "second")
    cast = recording.CastWriter(tmp_path / "c.cast", title="t")
    with cast.marker("step 1: two lines"):
        pass
    outcome = demo.perform(step, tmp_path, budget=20, echo=cast.tee(lambda text: None))
    _, events = parse(cast.close())
    assert outcome.ok
    arrived = {e[2].strip(): e[0] for e in events if e[1] == "o"}
    assert arrived["second"] - arrived["first"] >= 0.5


def test_partial_rehearsals_do_not_replace_the_whole_one():
    assert recording.names([1, 2, 3, 4], 4) == ("rehearsal.cast", recording.WHOLE_PAGE)
    assert recording.names([1, 2], 4) == ("rehearsal-steps-1-2.cast", "rehearsal-steps-1-2.html")


@pytest.fixture
def page(tmp_path):
    cast = recording.CastWriter(tmp_path / "rehearsal.cast", title="bakeoff rehearse tracking: rehearsal y")
    for number, title in enumerate(STEPS, 1):
        with cast.marker(f"step {number}: {title}"):
            cast.show(f"output of step {number}")
    cast.show("a tool printed </script><script>alert(1)</script> & <b>")  # must stay text
    path = cast.close()
    return path, recording.write_page(path, tmp_path / "rehearsal.html", command="bakeoff rehearse tracking")


def test_the_page_embeds_the_cast_and_lists_its_chapters(page):
    cast, html_path = page
    html = html_path.read_text(encoding="utf-8")
    embedded = re.search(r'<script type="application/json" id="cast-data">(.*?)</script>', html, re.S)
    assert embedded and json.loads(embedded.group(1)) == cast.read_text(encoding="utf-8")
    assert html.count("</script>") == 3  # the data, the player, the page's own script: the output closed none
    chapters = re.findall(r'<li data-marker="(\d+)" data-time="([\d.]+)"><button type="button">([^<]+)<br>', html)
    assert [(int(i), label) for i, _, label in chapters] == [(n - 1, f"step {n}: {t}") for n, t in enumerate(STEPS, 1)]
    _, events = parse(cast)
    assert [float(t) for _, t, _ in chapters] == pytest.approx([e[0] for e in events if e[1] == "m"], abs=1e-6)
    assert "AsciinemaPlayer" in html and "ap-wrapper" in html  # player script and stylesheet inlined


def test_the_page_loads_nothing_from_the_network(page):
    html = page[1].read_text(encoding="utf-8")
    loads = re.findall(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    loads += re.findall(r"""url\(\s*["']?\s*(?:https?:)?//|@import""", html, re.I)
    assert loads == []
    assert not re.search(r"<(?:link|iframe|img)\b", html, re.I)
    assert not re.search(r"""<script[^>]*\bsrc\s*=""", html, re.I)
