"""Stages: one package per pipeline stage, each holding its contract, workload and probes.

Worker side: standard library and the base set only.
"""
