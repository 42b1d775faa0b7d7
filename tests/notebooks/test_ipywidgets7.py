"""The widget logic tests again, in a second environment with ipywidgets 7.7 (Colab's version).

The environment is a venv under the pytest cache folder, built from the
project's own files: ``pip install -e '.[course,dev]' 'ipywidgets==7.7.*'``.
It is reused while pyproject.toml, the pin and the Python version stay the
same (a stamp file records them), so only the first run pays for the install;
``make clean`` removes it.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from support import REPO

IPYWIDGETS_PIN = "ipywidgets==7.7.*"
EXTRAS = "course,dev"
WIDGET_TESTS = sorted((REPO / "tests" / "cnnlib").glob("test_widgets_*.py"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def _env_key():
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes())
    digest.update(f"{IPYWIDGETS_PIN} {EXTRAS} {sys.version}".encode())
    return digest.hexdigest()


def _env_python(folder):
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(command, **kwargs):
    return subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kwargs)


@pytest.fixture(scope="module")
def ipywidgets7_python(request):
    """Interpreter of the cached ipywidgets 7.7 venv, (re)built when its stamp is stale."""
    cache = getattr(request.config, "cache", None)
    folder = (Path(cache.mkdir("ipywidgets7-venv")) if cache is not None
              else REPO / ".pytest_cache" / "d" / "ipywidgets7-venv")
    stamp = folder / "cnnlib-env-key"
    python = _env_python(folder)
    key = _env_key()
    if not (python.exists() and stamp.exists() and stamp.read_text() == key):
        shutil.rmtree(folder, ignore_errors=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
        install = _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-e", f"{REPO}[{EXTRAS}]", IPYWIDGETS_PIN])
        assert install.returncode == 0, f"building the ipywidgets 7.7 environment failed:\n{install.stdout}"
        stamp.write_text(key)
    return python


def test_second_environment_has_ipywidgets_7_7(ipywidgets7_python):
    probe = _run([str(ipywidgets7_python), "-c",
                  "import ipywidgets, cnnlib, pathlib; print(ipywidgets.__version__);"
                  "print(pathlib.Path(cnnlib.__file__).resolve().parent)"])
    assert probe.returncode == 0, probe.stdout
    version, location = probe.stdout.split()[-2:]
    assert version.startswith("7.7."), f"expected ipywidgets 7.7.x, got {version}"
    assert Path(location) == REPO / "cnnlib", f"cnnlib imported from {location}, not this checkout"


def test_widget_logic_passes_with_ipywidgets_7_7(ipywidgets7_python):
    assert WIDGET_TESTS, "no tests/cnnlib/test_widgets_*.py to run under ipywidgets 7.7"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    result = _run([str(ipywidgets7_python), "-m", "pytest", "-p", "no:cacheprovider", "-q",
                   "-o", "addopts=-ra", *[str(p.relative_to(REPO)) for p in WIDGET_TESTS]], env=env)
    print(result.stdout[-8000:])
    assert result.returncode == 0, f"widget tests fail under ipywidgets 7.7:\n{result.stdout[-8000:]}"
    assert " passed" in result.stdout and " failed" not in result.stdout
