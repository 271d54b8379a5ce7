"""The worker side's runtime: what runs inside every tool env beside the stage workloads.

Standard library and the base set only (numpy, pandas, pyarrow, scikit-learn).
"""
