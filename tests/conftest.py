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


# --- running in parallel (`make test`: pytest-xdist, `-n 2 --dist loadfile`) ------------------
# A test file goes to one worker as a whole, so that its module-scoped fixtures (a graded batch,
# a JupyterLab server, a venv) are built once. (pytest-xdist 3.8's loadgroup cannot regroup
# tests under pytest 9.2, which no longer reads the node id that xdist rewrites.)

# The longest files first, so that neither worker is left alone with one of them at the end
# (seconds on a quiet 2-core machine, one test at a time).
LONGEST_FIRST = (
    "tests/autograder/test_release_grade_demo.py",  # the demo of every sample: ~770 s
    "tests/autograder/test_adversarial.py",         # ~480 s
    "tests/notebooks/test_lectures_browser.py",     # ~250 s
    "tests/autograder/test_platforms.py",           # ~160 s
    "tests/autograder/test_cluster.py",             # ~100 s
    "tests/notebooks/test_ipywidgets7.py",          # ~90 s
    "tests/notebooks/test_lectures.py",             # ~100 s
    "tests/autograder/test_gradebook.py",           # ~80 s
    "tests/autograder/test_report.py",              # ~60 s
)


def pytest_collection_modifyitems(config, items):
    """The files of LONGEST_FIRST first, in that order (xdist hands files out in collection
    order with --no-loadscope-reorder); every other test keeps its place."""
    def rank(item):
        return next((i for i, path in enumerate(LONGEST_FIRST) if item.nodeid.startswith(path + "::")),
                    len(LONGEST_FIRST))

    items[:] = sorted(items, key=rank)  # stable
