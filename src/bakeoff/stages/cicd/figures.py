"""The cicd stage's figure data, filled by its trials and read by its report section."""

from __future__ import annotations

from dataclasses import dataclass, field

from bakeoff.worker.figure_data import FigureData


@dataclass
class JobSpan:
    job: str  # the step, as ci/step.sh recorded it ("train-matrix:small" for a matrix job)
    start_s: float  # seconds after `git push` started
    end_s: float
    code: int  # the step's exit code


@dataclass
class PushRun:
    change: str  # good | bad
    revision: str
    verdict: str
    verdict_s: float  # push to the tool's verdict
    deployed_s: float | None  # push to the new model serving (None: not deployed)
    jobs: list[JobSpan] = field(default_factory=list)


@dataclass
class PushTimeline(FigureData):
    """One round's good and bad push, job by job, on the clock of the push."""

    KIND = "cicd.push_timeline"
    VERSION = 1
    runs: list[PushRun] = field(default_factory=list)


@dataclass
class Overhead(FigureData):
    """Push to verdict of N empty jobs in a row, and the line a + b*N through it."""

    KIND = "cicd.overhead"
    VERSION = 1
    seconds: dict[int, float] = field(default_factory=dict)  # N -> push to verdict
    fixed_s: float = 0.0  # a
    per_job_s: float = 0.0  # b


@dataclass
class PipelineFiles(FigureData):
    """The tool's real content: the ML pipeline as it is written in the tool's format."""

    KIND = "cicd.pipeline_files"
    VERSION = 1
    in_repo: bool = True
    files: dict[str, str] = field(default_factory=dict)  # path -> text
