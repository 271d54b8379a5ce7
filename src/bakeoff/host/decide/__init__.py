"""From measurements to a decision: team profiles, constraints, scores, verdicts, sensitivity.

    profile = load_profile("profiles/student.toml")   # ConfigError names the key and the fix
    decision = decide(results, profile)               # results: a parsed results.json
    write_decision(decision, run_dir)                 # decision.json beside results.json

How scores, ties and sensitivity are computed: docs/decisions.md. Host side.
"""

from bakeoff.host.decide.decision import Criterion, Decision, StageDecision, decide
from bakeoff.host.decide.files import load_results, saved_profile, to_json, write_decision
from bakeoff.host.decide.profile import CRITERIA, CRITERION_TITLES, Profile, load_profile

__all__ = ["CRITERIA", "CRITERION_TITLES", "Criterion", "Decision", "Profile", "StageDecision", "decide",
           "load_profile", "load_results", "saved_profile", "to_json", "write_decision"]
