"""Shared pytest fixtures."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded NumPy generator: every test sees the same random data on every run."""
    return np.random.default_rng(20240607)


@pytest.fixture(scope="session")
def corpus_scores():
    """The whole corpus scored locally once per session (:func:`corpus_support.run_corpus`)."""
    from corpus_support import run_corpus

    return run_corpus()
