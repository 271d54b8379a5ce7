"""The sweep's own arithmetic: its fast log-loss must be scikit-learn's log-loss."""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from bakeoff.stages.tracking.sweep import binary_log_loss, grid


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_log_loss_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(2_000) < 0.3
    positive = rng.random(2_000)
    positive[:3] = [0.0, 1.0, 1e-300]  # clipped exactly as scikit-learn clips
    expected = log_loss(labels, np.column_stack([1 - positive, positive]))
    assert binary_log_loss(labels, positive) == pytest.approx(expected, rel=1e-12)


def test_grid_is_reproducible_and_cycles_past_its_size():
    assert grid(8, 42) == grid(8, 42)
    assert grid(8, 42) != grid(8, 43)
    assert len(grid(60, 1)) == 60  # 48 combinations, then the same order again
