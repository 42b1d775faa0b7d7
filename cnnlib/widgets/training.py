"""Training widgets for lecture 8: a live loss/accuracy plot, optimizer comparison,
and a look inside a trained network.

- ``LivePlot`` is a callback for :func:`cnnlib.train.fit`: every call redraws
  the curves of one or more runs into a ``cnnlib-output`` area, so the plot
  grows while the network trains.
- ``compare_optimizers`` trains the same starting network once per optimizer,
  with the same mini-batches, feeding one ``LivePlot``;
  ``optimizer_comparison_widget`` runs it from a learning-rate slider and a button.
- ``feature_map_explorer``: a slider over digits shows each digit's feature
  maps and the network's prediction.
"""
from __future__ import annotations

import html

import numpy as np

from .. import plots
from ..train import fit
from . import _controls as C

__all__ = ["LivePlot", "compare_optimizers", "OPTIMIZERS", "make_optimizer", "optimizer_comparison_widget",
           "feature_map_explorer"]


#: Optimizer settings the lecture compares: name -> (class name, keyword arguments).
OPTIMIZERS = {
    "SGD": ("SGD", {"lr": 0.05}),
    # momentum 0.9 multiplies a steady gradient's step by up to 1/(1 - 0.9) = 10, hence the smaller lr
    "SGD + momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "Adam": ("Adam", {"lr": 2e-3}),
}


def make_optimizer(name, params, lr_scale=1.0):
    """Build one of :data:`OPTIMIZERS` for ``params``, its learning rate times ``lr_scale``."""
    from .. import optim

    if name not in OPTIMIZERS:
        raise ValueError(f"make_optimizer: unknown optimizer {name!r}; choose from {list(OPTIMIZERS)}")
    cls, kwargs = OPTIMIZERS[name]
    kwargs = dict(kwargs, lr=kwargs["lr"] * lr_scale)
    return getattr(optim, cls)(params, **kwargs)


class LivePlot:
    """A :func:`cnnlib.train.fit` callback that redraws loss and accuracy curves.

    Use one instance per figure; ``start(label)`` begins a new curve (a new
    run), then pass the instance in ``callbacks=[live]``. Each call
    ``live(history, model)`` stores the run's values and redraws all runs.

    Parameters
    ----------
    display : bool
        Build the ipywidgets area (``.widget``) and show each redraw in it.
        With ``display=False`` only the numbers are kept (tests, scripts).

    Attributes
    ----------
    runs : dict of {label: dict}
        Per run the curves of :func:`cnnlib.plots.history_curves` as of the
        last call.
    calls : int
        Number of callback calls so far (= redraws when ``display``).
    widget : ipywidgets.VBox or None
        Root box (``cnnlib-widget``); its ``outputs["figure"]`` is the
        ``cnnlib-output`` HTML area holding the current picture.
    """

    def __init__(self, display=True, title="training"):
        self.runs = {}
        self.calls = 0
        self.title = title
        self._label = ""
        self._canvas = None
        self.widget = None
        if display:
            self._figure = C.html_area()
            self._status = C.html_area(f"{html.escape(title)}: waiting for the first step")
            self.widget = C.widget_root([self._status, self._figure],
                                        outputs={"figure": self._figure, "status": self._status})

    def start(self, label):
        """Begin a new curve called ``label`` (e.g. the optimizer's name)."""
        self._label = str(label)
        self.runs[self._label] = plots.history_curves({})
        return self

    def __call__(self, history, model=None):
        self.calls += 1
        curves = plots.history_curves(history)
        self.runs[self._label] = curves
        if self.widget is not None:
            self._redraw(curves)

    def status_line(self, curves=None):
        """One line summarising the current run: steps, epochs, last loss/accuracy."""
        curves = self.runs.get(self._label) if curves is None else curves
        if curves is None or not len(curves["batch_loss"]):
            return f"{self.title}: no steps yet"
        text = f"{self._label or self.title}: step {len(curves['step'])}, loss {curves['batch_loss'][-1]:.3f}"
        if len(curves["epoch"]):
            text += f", epoch {int(curves['epoch'][-1])} accuracy {curves['accuracy'][-1]:.3f}"
            if len(curves["val_accuracy"]):
                text += f", validation {curves['val_accuracy'][-1]:.3f}"
        return text

    def figure(self):
        """A new matplotlib figure of all runs (the one the widget shows)."""
        runs = {label: _curves_as_history(c) for label, c in self.runs.items()}
        return plots.plot_history(runs)

    def _redraw(self, curves):
        # One figure for the whole life of the plot: only the line data change between
        # redraws, which keeps a redraw cheap enough to do every few steps.
        import matplotlib.pyplot as plt

        if self._canvas is None:
            fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
            fig.subplots_adjust(left=0.08, right=0.98, bottom=0.18, top=0.95, wspace=0.25)
            axes[0].set(xlabel="step (mini-batch)", ylabel="mini-batch loss", yscale="log")
            axes[1].set(xlabel="epoch", ylabel="accuracy")
            plt.close(fig)   # drawn only into the widget, never by the inline backend
            self._canvas = (fig, axes, {})
        fig, (loss_ax, acc_ax), lines = self._canvas
        if self._label not in lines:
            colour = f"C{len(lines)}"
            lines[self._label] = (loss_ax.plot([], [], color=colour, lw=1, label=self._label or "loss")[0],
                                  acc_ax.plot([], [], "o-", color=colour, label=f"{self._label} train".strip())[0],
                                  acc_ax.plot([], [], "s--", color=colour, label=f"{self._label} val.".strip())[0])
            loss_ax.legend(fontsize=8)
        loss_line, acc_line, val_line = lines[self._label]
        loss_line.set_data(curves["step"], curves["batch_loss"])
        acc_line.set_data(curves["epoch"], curves["accuracy"])
        val_line.set_data(curves["epoch"][:len(curves["val_accuracy"])], curves["val_accuracy"])
        if len(curves["epoch"]):
            acc_ax.legend(fontsize=8)
        for ax in (loss_ax, acc_ax):
            ax.relim()
            ax.autoscale_view()
        self._status.value = html.escape(self.status_line(curves))
        self._figure.value = _png_html(fig)

    def _ipython_display_(self):  # show the widget when the object is the cell's value
        from IPython.display import display

        display(self.widget if self.widget is not None else self.figure())


def _png_html(fig, dpi=60):
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return '<img src="data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode("ascii") + '"/>'


def _curves_as_history(curves):
    return {key: list(values) for key, values in curves.items() if key != "step"}


def compare_optimizers(make_model, X, y, optimizers=("SGD", "SGD + momentum", "Adam"), epochs=2, batch_size=64,
                       validation_data=None, seed=0, live=None, callback_every=10, lr_scale=1.0):
    """Train a fresh ``make_model()`` once per optimizer on the same mini-batches.

    Parameters
    ----------
    make_model : callable
        ``make_model()`` returns a new model; it must give the same initial
        weights every call (fix its seed), so only the optimizer differs.
    X, y : training data, as :func:`cnnlib.train.fit`
    optimizers : sequence of str
        Names from :data:`OPTIMIZERS`.
    epochs, batch_size, validation_data, seed : as :func:`cnnlib.train.fit`
        ``seed`` fixes the shuffling, the same for every optimizer.
    live : LivePlot, optional
        Receives every run (``live.start(name)``, then it is a callback).
    callback_every : int
        Redraw the live plot every this many steps (and after each epoch).
    lr_scale : float
        Multiplies every optimizer's learning rate.

    Returns
    -------
    dict of {name: (History, model)}
    """
    results = {}
    for name in optimizers:
        model = make_model()
        optimizer = make_optimizer(name, model.parameters(), lr_scale)
        callbacks = []
        if live is not None:
            live.start(name)
            callbacks.append(live)
        history = fit(model, X, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                      validation_data=validation_data, seed=seed, progress=False, verbose=False,
                      callbacks=callbacks, callback_every=callback_every if live is not None else None)
        results[name] = (history, model)
    return results


def optimizer_comparison_widget(make_model, X, y, validation_data=None, epochs=1, batch_size=32,
                                optimizers=("SGD", "SGD + momentum", "Adam"), callback_every=25, seed=0):
    """A widget: choose a learning-rate scale and epochs, press *train*, watch the runs.

    Training starts only on the button (it takes seconds to minutes), never
    when a slider moves.

    Parameters
    ----------
    make_model, X, y, validation_data, batch_size, optimizers, callback_every, seed
        As :func:`compare_optimizers`.
    epochs : int
        Starting value of the epochs slider (1 to 5).

    Returns
    -------
    ipywidgets.VBox
        ``.controls`` (``lr_scale`` FloatSlider, ``epochs`` IntSlider,
        ``train`` Button), ``.outputs`` (``summary``: one line per optimizer
        after a run, plus the live plot's ``figure`` and ``status``),
        ``.run()`` trains now and returns the :func:`compare_optimizers` dict,
        ``.live`` the :class:`LivePlot`.
    """
    w = C.require_ipywidgets()
    lr_scale = C.float_slider("learning-rate scale", 0.1, 3.0, value=1.0, step=0.1)
    n_epochs = C.int_slider("epochs", 1, 5, value=epochs)
    train = w.Button(description="train")
    summary = C.html_area("Press <i>train</i> to train one network per optimizer.")
    live = LivePlot(title="optimizer comparison")
    state = {}

    def run(_button=None):
        live.runs.clear()
        live._canvas = None   # a fresh figure for a fresh comparison
        train.disabled = True
        try:
            results = compare_optimizers(make_model, X, y, optimizers=optimizers, epochs=n_epochs.value,
                                         batch_size=batch_size, validation_data=validation_data, seed=seed,
                                         live=live, callback_every=callback_every, lr_scale=lr_scale.value)
        finally:
            train.disabled = False
        state["results"] = results
        lines = []
        for name, (history, _) in results.items():
            lr = OPTIMIZERS[name][1]["lr"] * lr_scale.value
            line = f"{html.escape(name)} (lr {lr:.3g}): final mini-batch loss {history.batch_loss[-1]:.3f}"
            if history.val_accuracy:
                line += f", validation accuracy {history.val_accuracy[-1]:.3f}"
            lines.append(line)
        summary.value = "<br>".join(lines)
        return results

    train.on_click(run)
    controls = {"lr_scale": lr_scale, "epochs": n_epochs, "train": train}
    outputs = dict(live.widget.outputs, summary=summary)
    root = C.widget_root([w.HBox([lr_scale, n_epochs, train]), summary, live.widget], controls=controls,
                         outputs=outputs)
    root.run = run
    root.live = live
    root.results = lambda: state.get("results")
    return root


def _feature_figure(model, image, label, prediction, layers):
    fig = plots.plot_feature_maps(model, image, layers=layers, max_maps=8, size=0.9)
    verdict = "correct" if prediction == label else "WRONG"
    fig.suptitle(f"label {label}, network says {prediction} ({verdict})", fontsize=10)
    fig.tight_layout()
    return fig


def feature_map_explorer(model, images, labels, layers=("input", "C1", "relu1", "S2", "C3", "S4")):
    """A widget: a slider over ``images`` shows each one's feature maps.

    Parameters
    ----------
    model : cnnlib.nn.Sequential
        A trained network (e.g. LeNet-5).
    images : (N, 1, H, W) array
    labels : (N,) array of int
    layers : sequence of str
        Layer names whose outputs to draw (see :func:`cnnlib.plots.feature_maps`).

    Returns
    -------
    ipywidgets.VBox
        ``.controls["index"]`` (IntSlider), ``.outputs["figure"]``,
        ``.outputs["summary"]``; ``.prediction()`` the current prediction.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 4 or len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"feature_map_explorer: need images (N, C, H, W) and N labels, "
                         f"got {images.shape} and {labels.shape}")
    index = C.int_slider("digit", 0, len(images) - 1, value=0)
    figure = C.html_area()
    summary = C.html_area()
    state = {}

    def update():
        k = index.value
        maps = plots.feature_maps(model, images[k])
        scores = maps[-1][1]
        prediction = int(np.argmax(scores))
        state["prediction"] = prediction
        summary.value = (f"digit {k}: label {int(labels[k])}, prediction {prediction}; scores "
                         + ", ".join(f"{c}: {s:.1f}" for c, s in enumerate(scores)))
        figure.value = C.figure_html(_feature_figure(model, images[k], int(labels[k]), prediction, layers))

    root = C.widget_root([index, summary, figure], controls={"index": index},
                         outputs={"figure": figure, "summary": summary}, redraw=update)
    root.prediction = lambda: state["prediction"]
    return root
