"""Shared pytest fixtures."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded NumPy generator: every test sees the same random data on every run."""
    return np.random.default_rng(20240607)
