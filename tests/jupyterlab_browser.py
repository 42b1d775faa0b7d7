"""Run notebooks in a real JupyterLab, driven by headless Chromium.

Helpers for ``tests/notebooks/test_lectures_browser.py``: a throw-away JupyterLab server
(free port, random token, private config/data/runtime folders, a copy of the
notebooks as its root), a headless Chromium controlled with Playwright, and
:func:`run_notebook`, which opens one notebook, runs all its cells, moves a
slider of a ``.cnnlib-widget`` and reports what it saw.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); set
``CNNLIB_CHROMIUM`` to use another binary.  Playwright's own browser download
is never used.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# Flags for a quiet, self-contained headless Chromium (no sync, no updates,
# no background requests); the profile folder is passed separately.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# JupyterLab user settings: keep every cell in the DOM (no virtual scrolling,
# so widgets further down render too) and never fetch news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def find_chromium():
    """Path of a Chromium binary, or None.

    ``CNNLIB_CHROMIUM`` wins; otherwise Debian's ``/usr/bin/chromium`` (or
    ``chromium`` / ``chromium-browser`` on PATH).
    """
    env = os.environ.get("CNNLIB_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_mentioning(text):
    """PIDs of running processes whose command line contains ``text`` (Linux /proc)."""
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


class JupyterLabServer:
    """A JupyterLab server in a temporary folder, stopped with :meth:`stop`.

    Parameters
    ----------
    workdir : Path
        Empty folder owned by the caller; it holds ``root/`` (the server's root
        directory, where the caller copies notebooks) and the private Jupyter
        config, data, runtime, settings and workspace folders.
    python : str
        Interpreter that runs both the server and the kernels (it must have
        jupyterlab, ipykernel, ipywidgets and cnnlib installed).
    """

    def __init__(self, workdir, python=sys.executable):
        self.workdir = Path(workdir)
        self.root = self.workdir / "root"
        self.python = python
        self.token = secrets.token_hex(16)
        self.port = None
        self.process = None
        self.log_path = self.workdir / "jupyterlab.log"
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def _environment(self):
        dirs = {name: self.workdir / name for name in ("config", "data", "runtime", "ipython", "path")}
        for folder in dirs.values():
            folder.mkdir(exist_ok=True)
        # A kernelspec named like the notebooks' ("python3") that runs this
        # interpreter, found first on JUPYTER_PATH whatever else is installed.
        spec = dirs["path"] / "kernels" / "python3"
        spec.mkdir(parents=True, exist_ok=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }))
        settings = self.workdir / "settings"
        for name, values in LAB_SETTINGS.items():
            plugin, file = name.rsplit("/", 1)
            (settings / plugin).mkdir(parents=True, exist_ok=True)
            (settings / plugin / file).write_text(json.dumps(values))
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTER_PATH=str(dirs["path"]),
            IPYTHONDIR=str(dirs["ipython"]),
            JUPYTER_PLATFORM_DIRS="1",
            MPLBACKEND="module://matplotlib_inline.backend_inline",
            PYTHONUNBUFFERED="1",
        )
        env["PATH"] = os.pathsep.join([str(Path(self.python).parent), env.get("PATH", "")])
        return env

    def _command(self):
        root_flag = ["--ServerApp.allow_root=True"] if hasattr(os, "getuid") and os.getuid() == 0 else []
        return [
            self.python, "-m", "jupyterlab", *root_flag,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={self.workdir / 'settings'}",
            f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
            # Safety net should the test process die without stopping us:
            # idle kernels are culled and the server then exits by itself.
            "--MappingKernelManager.cull_idle_timeout=1800",
            "--MappingKernelManager.cull_interval=120",
            "--ServerApp.shutdown_no_activity_timeout=2400",
        ]

    def start(self, timeout=180):
        """Start the server and wait until its REST API answers."""
        env = self._environment()
        for _ in range(3):
            self.port = _free_port()
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                self._command(), cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    if "already in use" not in self.log():
                        raise RuntimeError(f"JupyterLab exited at start; log:\n{self.log()}")
                    break  # the port was taken meanwhile: try another
                try:
                    self.api("GET", "/api/status")
                    return self
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.5)
            else:
                self.stop()
                raise RuntimeError(f"JupyterLab did not answer within {timeout} s; log:\n{self.log()}")
        raise RuntimeError(f"JupyterLab would not start; log:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def api(self, method, path, timeout=30):
        """Call the server's REST API; returns the decoded JSON (or None)."""
        request = urllib.request.Request(
            self.base_url + path, method=method,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """Delete every session and kernel the server still runs."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self, timeout=30):
        """Stop kernels and server; returns PIDs of kernels that had to be killed.

        Kernels run in their own process sessions, so after the server exits any
        process still naming this server's runtime folder is a leftover kernel.
        """
        if self.process is None:
            return []
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        leftovers = processes_mentioning(str(self.workdir / "runtime"))
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None
        return leftovers


def launch_chromium(playwright, executable, profile_dir, viewport=(1400, 1000)):
    """A headless Chromium context with a fresh profile (Playwright persistent context)."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=executable,
        headless=True,
        args=CHROMIUM_FLAGS,
        viewport={"width": viewport[0], "height": viewport[1]},
    )


# --------------------------------------------------------------------------
# In-page JavaScript (JupyterLab is exposed as window.jupyterapp).

_JS_NOTEBOOK_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content || !panel.context.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

_JS_RUN_ALL = """() => {
  window.__cnnlibRunDone = null;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    ok => { window.__cnnlibRunDone = {ok: ok}; },
    err => { window.__cnnlibRunDone = {ok: false, error: String(err)}; });
}"""

_JS_IDLE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  return !document.querySelector('.jp-InputPrompt') ||
    ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('[*]'));
}"""

# Outputs as nbformat JSON, read from the notebook model (independent of the DOM).
_JS_OUTPUTS = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  const cells = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    cells.push({index: i, source: cell.sharedModel.getSource(),
                execution_count: cell.executionCount, outputs: cell.outputs.toJSON()});
  }
  return cells;
}"""

_JS_SHUTDOWN = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (panel && panel.sessionContext) { await panel.sessionContext.shutdown(); }
}"""

_WIDGET_PENDING = ("Loading widget...",)
_WIDGET_BROKEN = ("Error displaying widget", "Error rendering output", "Error creating widget")


def _text_problems(cells):
    """Error outputs and stderr tracebacks in nbformat cell outputs."""
    problems = []
    for cell in cells:
        for out in cell["outputs"]:
            where = f"cell {cell['index']} ({cell['source'][:60]!r})"
            if out.get("output_type") == "error":
                tail = "\n".join(out.get("traceback", [])[-3:])
                problems.append(f"{where}: {out.get('ename')}: {out.get('evalue')}\n{tail}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                if "Traceback" in text or "Error" in text:
                    problems.append(f"{where}: stderr:\n{text[-1500:]}")
    return problems


def _slider_handle(slider):
    """The keyboard-focusable handle of an ipywidgets 8 (noUiSlider) or 7 (jQuery UI) slider."""
    for selector in (".noUi-handle", ".ui-slider-handle"):
        handle = slider.locator(selector)
        if handle.count():
            return handle.first
    return None


def _slider_value(slider):
    readout = slider.locator(".widget-readout")
    if readout.count():
        return readout.first.inner_text().strip()
    return slider.locator(".noUi-handle, .ui-slider-handle").first.get_attribute("aria-valuenow")


def _outputs_html(widget):
    return [area.inner_html() for area in widget.locator(".cnnlib-output").all()]


def move_a_slider(page, timeout=60, first_look=8):
    """Press arrow keys on sliders of ``.cnnlib-widget`` boxes until one changes its outputs.

    Each moved slider gets ``first_look`` seconds to change its widget's
    ``.cnnlib-output`` areas (some sliders only matter after a button press);
    if none did, all moved sliders together get up to ``timeout`` seconds more.
    Returns a dict describing the slider that worked (``widget`` index,
    ``before``/``after`` readouts, ``locator``), or one with the reasons in
    ``tried`` (``None`` when the page has no widget at all).
    """
    tried, moved = [], []

    def changed(entry, seconds):
        deadline = time.monotonic() + seconds
        while True:
            now = _outputs_html(entry["locator"])
            if now != entry["outputs"] and all(html.strip() for html in now):
                return True
            if time.monotonic() >= deadline:
                return False
            page.wait_for_timeout(250)

    widgets = page.locator(".cnnlib-widget").all()
    for w_index, widget in enumerate(widgets):
        if not widget.locator(".cnnlib-output").count():
            continue
        sliders = widget.locator(".widget-slider").all()
        for s_index, slider in enumerate(sliders[:4]):
            handle = _slider_handle(slider)
            if handle is None:
                tried.append(f"widget {w_index} slider {s_index}: no handle")
                continue
            slider.scroll_into_view_if_needed()
            before_value = _slider_value(slider)
            before = _outputs_html(widget)
            for key in ("ArrowRight", "ArrowLeft"):
                handle.focus()
                handle.press(key)
                page.wait_for_timeout(300)
                if _slider_value(slider) != before_value:
                    break
            after_value = _slider_value(slider)
            if after_value == before_value:
                tried.append(f"widget {w_index} slider {s_index}: value stayed {before_value}")
                continue
            entry = {"widget": w_index, "slider": s_index, "before": before_value,
                     "after": after_value, "locator": widget, "outputs": before}
            if changed(entry, first_look):
                return entry
            moved.append(entry)
    deadline = time.monotonic() + timeout
    while moved and time.monotonic() < deadline:
        for entry in moved:
            if changed(entry, 0):
                return entry
        page.wait_for_timeout(500)
    tried.extend(f"widget {e['widget']} slider {e['slider']}: {e['before']} -> {e['after']} "
                 f"but .cnnlib-output did not change" for e in moved)
    return {"tried": tried, "widgets": len(widgets)} if tried or widgets else None


def settle(page, widget, timeout=120):
    """Wait until the kernel is idle and ``widget``'s outputs stay the same for a second."""
    page.wait_for_function(_JS_IDLE, timeout=timeout * 1000, polling=250)
    deadline = time.monotonic() + timeout
    last = _outputs_html(widget)
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        now = _outputs_html(widget)
        if now == last:
            return now
        last = now
    return last


def run_notebook(page, server, notebook, run_timeout=600, widget_timeout=60):
    """Open ``notebook`` (a path under the server root) in JupyterLab and run all cells.

    Returns a dict: ``problems`` (error outputs, stderr tracebacks, widgets
    that failed to render, uncaught page errors), ``cells`` (nbformat outputs
    per code cell), ``widgets`` (number of rendered ``.cnnlib-widget`` boxes),
    ``sliders`` and ``seconds`` (time to run all cells).
    """
    page_errors = []
    page.on("pageerror", lambda exc: page_errors.append(f"page error: {exc}"))
    console_errors = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)

    workspace = "w" + secrets.token_hex(4)
    page.goto(f"{server.base_url}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={server.token}")
    page.wait_for_function(_JS_NOTEBOOK_READY, timeout=180_000, polling=500)
    page.evaluate("() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }")
    start = time.monotonic()
    page.evaluate(_JS_RUN_ALL)
    page.wait_for_function("() => window.__cnnlibRunDone !== null", timeout=run_timeout * 1000, polling=500)
    run_result = page.evaluate("() => window.__cnnlibRunDone")
    page.wait_for_function(_JS_IDLE, timeout=run_timeout * 1000, polling=500)
    seconds = time.monotonic() - start

    cells = page.evaluate(_JS_OUTPUTS)
    problems = _text_problems(cells)
    if not run_result.get("ok"):
        problems.append(f"run-all-cells did not finish cleanly: {run_result}")
    unexecuted = [c["index"] for c in cells if c["source"].strip() and c["execution_count"] is None]
    if unexecuted:
        problems.append(f"code cells never executed: {unexecuted}")

    # Widgets render asynchronously after the kernel is idle.
    output_areas = page.locator(".jp-OutputArea-output")
    deadline = time.monotonic() + widget_timeout
    while time.monotonic() < deadline:
        if not any(text in page.content() for text in _WIDGET_PENDING):
            break
        page.wait_for_timeout(500)
    else:
        problems.append(f"a widget still shows 'Loading widget...' after {widget_timeout} s")
    for text in _WIDGET_BROKEN:
        broken = page.get_by_text(text)
        if broken.count():
            problems.append(f"{text!r} in the page: {broken.first.inner_text()[:500]}")
    for area in page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all():
        text = area.inner_text()
        if "Traceback" in text:
            problems.append(f"stderr traceback in the page:\n{text[-1500:]}")
    problems.extend(page_errors)
    widget_console = [m for m in console_errors if "widget" in m.lower()]
    problems.extend(f"console error: {m[:500]}" for m in widget_console)

    return {
        "problems": problems,
        "cells": cells,
        "outputs": output_areas.count(),
        "widgets": page.locator(".cnnlib-widget").count(),
        "sliders": page.locator(".cnnlib-widget .widget-slider").count(),
        "seconds": seconds,
        "console_errors": console_errors,
    }


def shutdown_notebook_kernel(page):
    """Shut down the kernel of the notebook open in ``page`` (best effort)."""
    try:
        page.evaluate(_JS_SHUTDOWN)
    except Exception:  # noqa: BLE001 - the page may already be gone
        pass
