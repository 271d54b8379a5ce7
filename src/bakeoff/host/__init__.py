"""The host side: everything that runs in bakeoff's own environment and never imports a tool.

It selects what to run, builds the per-tool envs, starts each trial in its env, stores the
results, and turns them into results.json, a report and a decision.
"""
