"""The flights-delay model: features, training and evaluation (run with `python -m model.<x>`)."""
