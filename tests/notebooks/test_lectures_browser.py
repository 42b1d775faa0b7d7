"""Every lecture in a real browser: JupyterLab 4 + ipywidgets 8 in headless Chromium.

One JupyterLab server and one Chromium serve the whole module.  For each
lecture the test runs all cells, checks there is no error output and that
every widget rendered, moves a slider of a ``.cnnlib-widget`` with the
keyboard, waits for its ``.cnnlib-output`` area to change, and saves a
screenshot to ``tests/artifacts/screenshots/<lecture>.png`` (plus one image
per widget in ``<lecture>-widgets/``).

Needs Debian's ``chromium`` (``.ci/run`` installs it) and Playwright (the
``dev`` extra); without them the tests skip, except under CI where they fail.
"""
import os
import shutil

import pytest
from jupyterlab_browser import (
    JupyterLabServer,
    find_chromium,
    launch_chromium,
    move_a_slider,
    processes_mentioning,
    run_notebook,
    settle,
    shutdown_notebook_kernel,
)
from support import FIXTURES, REPO, SCREENSHOTS

LECTURES = sorted((REPO / "lectures").glob("[0-9][0-9]_*.ipynb"))
BROWSER_FIXTURES = FIXTURES / "browser"
SCREENSHOTS = SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _missing(reason):
    """Skip on a developer's machine, fail in CI (where .ci/run installs Chromium)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests; .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server whose root holds copies of lectures/ and the browser fixtures."""
    workdir = tmp_path_factory.mktemp("jupyterlab")
    server = JupyterLabServer(workdir)
    shutil.copytree(REPO / "lectures", server.root / "lectures",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(BROWSER_FIXTURES, server.root / "fixtures")
    server.start()
    yield server
    leftovers = server.stop()
    assert not leftovers, f"kernels survived the JupyterLab shutdown (killed): {leftovers}"
    assert not processes_mentioning(str(workdir)), "processes still use the JupyterLab folder"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium (Debian's) with a fresh profile, driven by Playwright."""
    executable = find_chromium()
    if executable is None:
        _missing("Chromium not found (apt-get install chromium, or set CNNLIB_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    playwright = sync_playwright().start()
    try:
        context = launch_chromium(playwright, executable, profile)
    except Exception:
        playwright.stop()
        raise
    yield context
    context.close()
    playwright.stop()
    assert not processes_mentioning(str(profile)), "Chromium processes survived context.close()"


@pytest.fixture
def page(browser, lab):
    page = browser.new_page()
    yield page
    shutdown_notebook_kernel(page)
    page.close()
    lab.shutdown_kernels()


def _save_screenshots(page, name, moved):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if moved and "locator" in moved:
        moved["locator"].scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    folder = SCREENSHOTS / f"{name}-widgets"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for index, widget in enumerate(page.locator(".cnnlib-widget").all()):
        widget.scroll_into_view_if_needed()
        widget.screenshot(path=str(folder / f"{index:02d}.png"))


def _check_notebook(page, lab, notebook, name):
    report = run_notebook(page, lab, notebook)
    print(f"{name}: all cells ran in {report['seconds']:.1f} s; "
          f"{report['widgets']} cnnlib widgets, {report['sliders']} sliders")
    assert not report["problems"], f"{name} in JupyterLab:\n" + "\n\n".join(report["problems"])
    assert report["widgets"] >= 1, f"{name}: no rendered .cnnlib-widget in the page"
    moved = move_a_slider(page)
    if moved and "after" in moved:
        settle(page, moved["locator"])
    _save_screenshots(page, name, moved)
    assert moved and "after" in moved, (
        f"{name}: no slider of a .cnnlib-widget changed its .cnnlib-output: {moved}")
    print(f"{name}: slider {moved['slider']} of widget {moved['widget']} "
          f"{moved['before']} -> {moved['after']} changed the output")
    return report


@pytest.mark.skipif(not LECTURES, reason="no lectures/NN_*.ipynb yet")
@pytest.mark.parametrize("lecture", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_in_jupyterlab(page, lab, lecture):
    _check_notebook(page, lab, f"lectures/{lecture.name}", lecture.stem)


def test_fixture_slider_changes_output(page, lab):
    """The harness itself: a plain IntSlider driving an Output in JupyterLab."""
    report = _check_notebook(page, lab, "fixtures/slider_output.ipynb", "fixture_slider_output")
    assert report["sliders"] == 1
    shown = page.locator(".cnnlib-output").first.inner_text()
    assert shown.startswith("width = ") and shown.strip().endswith("#"), shown
    value = int(shown.split("=")[1].split(":")[0])
    assert value in (2, 4), f"one arrow key should move the slider 3 -> 2 or 4, page shows {shown!r}"
    assert shown.count("#") == value


def test_fixture_error_is_reported(page, lab):
    """The harness must fail a notebook that raises: the error and the skipped cell are reported."""
    report = run_notebook(page, lab, "fixtures/raises_error.ipynb")
    problems = "\n".join(report["problems"])
    assert "ValueError" in problems and "stride must divide" in problems, problems
    assert "never executed" in problems, problems


def test_fixture_broken_widget_is_reported(page, lab):
    """The harness must fail a notebook whose widget cannot be displayed."""
    report = run_notebook(page, lab, "fixtures/broken_widget.ipynb", widget_timeout=30)
    problems = "\n".join(report["problems"])
    assert "cnnlib-no-such-frontend" in problems or "Error displaying widget" in problems, problems
