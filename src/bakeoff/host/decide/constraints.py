"""Hard constraints: which tools a profile excludes at a stage, and why.

A constraint holds only where this run shows it: "works offline" and "has a UI" need the stage's
probe that proves it (its `proves` in the stage spec) to have passed; "no always-on server" reads the entry's declared
traits (tool.toml); size and licence come from the env and tool.toml. A stage without the probe
a constraint needs cannot check it: the memo says so rather than guessing. A tool that did not
finish its trials is never a candidate: correctness comes before everything. Host side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bakeoff.host.decide.criteria import constraint_probe
from bakeoff.host.decide.profile import Constraints
from bakeoff.drawing import numbers as fmt
from bakeoff.stages.spec import PROVABLE

SERVER_TRAIT = "always_on_server"
EVIDENCE_CHARS = 140


@dataclass(frozen=True)
class Exclusion:
    tool: str
    title: str
    reasons: list[str]


def needs_server(tool: dict[str, Any]) -> str:
    """Why the entry needs a server kept running, or "" when it does not.

    Read from the entry's `traits` (proposed tool.toml key, copied into results.json) or, until
    that lands, from the entry's tool.toml option `server = true`.
    """
    if SERVER_TRAIT in (tool.get("traits") or []):
        return f"declares the trait `{SERVER_TRAIT}`"
    if (tool.get("options") or {}).get("server"):
        return "its configuration runs a server (tool.toml option server = true)"
    return ""


def licence_allowed(licence: str, allowed: list[str]) -> bool:
    """SPDX-style: "A OR B" needs one allowed, "A AND B" (or "A, B") needs all."""
    ok = {a.strip().lower() for a in allowed}
    expression = re.sub(r"[()]", " ", licence or "").strip()
    if not expression:
        return False
    alternatives = re.split(r"\s+OR\s+", expression, flags=re.I)
    return any(all(part.strip().lower() in ok for part in re.split(r"\s+AND\s+|,", alt, flags=re.I) if part.strip())
               for alt in alternatives)


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


def _probe_rule(tool: dict[str, Any], probe: str, rule: str) -> str:
    found = (tool.get("probes") or {}).get(probe) or {}
    status = str(found.get("status") or "not run")
    if status == "pass":
        return ""
    evidence = f": {_short(found['evidence'])}" if found.get("evidence") else ""
    return f"{rule}: probe `{probe}` {status}{evidence}"


def exclusions(stage: dict[str, Any], constraints: Constraints) -> tuple[list[Exclusion], list[str]]:
    """The excluded tools with every reason, and the constraints this stage cannot check."""
    stage_probes = set(stage.get("probes") or {})
    baseline = stage.get("baseline")
    proving = {rule: constraint_probe(stage, rule) for rule in PROVABLE}
    unchecked = [f"`{rule}` is not checked here: no probe of this stage proves it"
                 for rule, probe in proving.items() if getattr(constraints, rule) and probe is None]
    excluded = []
    for name, tool in (stage.get("tools") or {}).items():
        reasons = _reasons(name, tool, name == baseline, constraints, stage_probes, proving)
        if reasons:
            excluded.append(Exclusion(name, str(tool.get("title") or name), reasons))
    return excluded, unchecked


def _reasons(name: str, tool: dict[str, Any], is_baseline: bool, rules: Constraints, stage_probes: set[str],
             proving: dict[str, str | None]) -> list[str]:
    reasons = []
    status = str(tool.get("status") or "failed")
    if status != "ok":
        reasons.append(f"{status.replace('_', ' ')}: {_short(tool.get('reason') or 'no reason recorded')}")
    if status == "unavailable":  # it never ran: no probe or figure to hold against it
        return reasons
    if is_baseline and not rules.allow_no_tool:
        reasons.append("no tool (the baseline) is not an option for this team (allow_no_tool = false)")
    for rule, text in (("offline", "must work with no network"), ("ui", "must have a UI")):
        if getattr(rules, rule) and proving[rule]:
            reasons.append(_probe_rule(tool, proving[rule], text))
    if rules.no_server and (why := needs_server(tool)):
        reasons.append(f"needs an always-on server: {why}")
    if rules.max_env_mb is not None:
        size = (tool.get("env") or {}).get("size_mb")
        if not fmt.is_number(size):
            reasons.append(f"environment size not recorded, so the {fmt.number(rules.max_env_mb)} MB limit is not shown to hold")
        elif size > rules.max_env_mb:
            reasons.append(f"environment of {fmt.number(size)} MB exceeds the {fmt.number(rules.max_env_mb)} MB limit")
    if rules.licenses is not None and not licence_allowed(str(tool.get("license") or ""), rules.licenses):
        reasons.append(f"licence {tool.get('license') or 'unknown'} is not on the allow-list ({', '.join(rules.licenses)})")
    for probe in rules.required_probes:
        if probe in stage_probes:
            reasons.append(_probe_rule(tool, probe, "required capability"))
    return [r for r in reasons if r]


def correctness_failures(stage: dict[str, Any], candidates: dict[str, dict[str, Any]],
                         accepted: list[str]) -> dict[str, list[str]]:
    """Per tool, the core correctness checks it failed in this run and the profile does not
    accept: a core probe that failed, a correctness fact with the wrong value, a correctness
    metric beyond its limit. Such a tool is not recommended, whatever its scores."""
    probes = [n for n, p in (stage.get("probes") or {}).items() if p.get("core") and n not in accepted]
    facts = {k: v for k, v in (stage.get("correctness_facts") or {}).items() if k not in accepted}
    limits = {n: m for n, m in (stage.get("metrics") or {}).items()
              if m.get("limit") is not None and m.get("criterion") == "correctness" and n not in accepted}
    failures: dict[str, list[str]] = {}
    for name, tool in candidates.items():
        found = []
        for probe in probes:
            outcome = (tool.get("probes") or {}).get(probe) or {}
            if outcome.get("status") == "fail":
                found.append(f"`{probe}` failed: {_short(outcome.get('evidence') or '')}")
        for fact, expected in facts.items():
            value = (tool.get("facts") or {}).get(fact)
            if value is not None and str(value) != expected:
                found.append(f"`{fact}` is {value}, not {expected}")
        for metric, definition in limits.items():
            figure = ((tool.get("metrics") or {}).get(metric) or {}).get("median")
            worse = (figure > definition["limit"]) if definition.get("better") == "lower" else (figure < definition["limit"])
            if fmt.is_number(figure) and worse:
                found.append(f"{definition.get('label') or metric} is {fmt.number(figure)} {definition.get('unit', '')}, "
                             f"beyond the limit of {fmt.number(definition['limit'])}".replace("  ", " "))
        if found:
            failures[name] = found
    return failures
