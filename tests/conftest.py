import matplotlib
import pytest
import support

matplotlib.use("Agg")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def repo():
    """The repository's root folder."""
    return support.REPO


@pytest.fixture(scope="session")
def fixtures_dir():
    """tests/fixtures: the tiny assignment, its samples and the browser test files."""
    return support.FIXTURES


@pytest.fixture(scope="session")
def screenshots_dir():
    """Where browser tests save what a person would see (tests/artifacts/screenshots)."""
    support.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return support.SCREENSHOTS


@pytest.fixture(scope="session")
def mnist_dir():
    """The official MNIST test set from $CNNLIB_DATA; the test skips without it."""
    folder = support.mnist_test_dir()
    if folder is None:
        pytest.skip("the official MNIST test set is not available (set CNNLIB_DATA)")
    return folder
