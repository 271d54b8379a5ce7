"""bakeoff: settle MLOps tool choices with evidence."""

__version__ = "0.1.0"
