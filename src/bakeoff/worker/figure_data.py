"""The typed channel for a stage's figure data: what a workload measures for the stage's own
report figures (a latency curve, a drift timeline, storage against versions...).

A stage declares its figure data once, in `stages/<stage>/figures.py`, as dataclasses
subclassing FigureData with a KIND and a VERSION. The workload fills one and puts it into the
trial's result (`result.put(data)`); the stage's report section reads it back from
results.json with `Kind.find(tool)`. Both sides use the same class, so neither can drift from
the other, and a payload of another kind or a newer version is refused rather than misread.
Facts, by contrast, are scalars shown as they are (see protocol.Result).

Standard library only: this runs inside every tool env and on the host.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, TypeVar

T = TypeVar("T", bound="FigureData")


class FigureDataError(Exception):
    """A payload that is not this kind of figure data, or of a version this code cannot read."""


@dataclasses.dataclass
class FigureData:
    KIND: ClassVar[str] = ""  # "<stage>.<name>", unique across stages
    VERSION: ClassVar[int] = 1

    def dump(self) -> dict[str, Any]:
        if not self.KIND:
            raise FigureDataError(f"{type(self).__name__} has no KIND")
        return {"kind": self.KIND, "version": self.VERSION, "data": _plain(dataclasses.asdict(self))}

    @classmethod
    def upgrade(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Turn data of an earlier `version` into this version's shape. Override when VERSION
        goes up; the default refuses."""
        raise FigureDataError(f"{cls.KIND} version {version} cannot be read by version {cls.VERSION}")

    @classmethod
    def load(cls: type[T], payload: dict[str, Any]) -> T:
        if not isinstance(payload, dict) or payload.get("kind") != cls.KIND:
            raise FigureDataError(f"expected figure data {cls.KIND!r}, got {str(payload)[:80]!r}")
        version, data = payload.get("version"), payload.get("data") or {}
        if version != cls.VERSION:
            if not isinstance(version, int) or version > cls.VERSION:
                raise FigureDataError(f"{cls.KIND} version {version} is newer than this bakeoff reads "
                                      f"({cls.VERSION}); upgrade bakeoff")
            data = cls.upgrade(version, data)
        return _build(cls, data)

    @classmethod
    def find(cls: type[T], tool: dict[str, Any]) -> T | None:
        """This kind's data in one tool's part of results.json, or None when the tool has none."""
        payload = (tool.get("figures") or {}).get(cls.KIND)
        return cls.load(payload) if payload else None


def _plain(value: Any) -> Any:
    """JSON-ready: tuples become lists, dict keys strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _build(kind: Any, value: Any) -> Any:
    """Rebuild a value of type `kind` from its JSON form (nested dataclasses, lists, dicts)."""
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return _build(options[0], value) if len(options) == 1 else value
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        return kind(**{k: _build(hints[k], v) for k, v in value.items() if k in names})
    if origin in (list, tuple):
        args = typing.get_args(kind)
        item = args[0] if args else Any
        built = [_build(item, v) for v in value]
        return tuple(built) if origin is tuple else built
    if origin is dict:
        key_type, item = (typing.get_args(kind) or (str, Any))[:2]
        return {(int(k) if key_type is int else k): _build(item, v) for k, v in value.items()}
    if kind is float and isinstance(value, int):
        return float(value)
    return value
