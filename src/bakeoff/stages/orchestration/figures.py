"""The orchestration stage's figure data: what the trials measure for the stage's own figures
(time against N with the fitted line, one pipeline run as a timeline). Filled in the worker,
read by section.py on the host; the same classes on both sides."""

from __future__ import annotations

from dataclasses import dataclass, field

from bakeoff.worker.figure_data import FigureData


@dataclass
class FanOutPoint:
    n: int  # no-op tasks in the run
    seconds: float  # trigger to the run's end, wall clock


@dataclass
class FanOutFit(FigureData):
    """One trial's fan-out timings and the line a + b * N through them."""

    KIND = "orchestration.fanout"
    VERSION = 1
    points: list[FanOutPoint] = field(default_factory=list)
    a_seconds: float = 0.0
    b_seconds: float = 0.0


@dataclass
class TaskBar:
    task: str
    start: float  # seconds after the trigger (the adapter's run call)
    end: float
    attempts: int = 1


@dataclass
class PipelineTimeline(FigureData):
    """One warm pipeline run, from the tool's own task timestamps."""

    KIND = "orchestration.timeline"
    VERSION = 1
    source: str = ""  # where the timestamps come from, in the tool
    wall_seconds: float = 0.0  # trigger to the run call's return
    bars: list[TaskBar] = field(default_factory=list)
