"""Lecture 8 widgets: the fit callback hook, the live plot, optimizer comparison, feature-map explorer."""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from cnnlib import nn  # noqa: E402
from cnnlib.models import lenet5  # noqa: E402
from cnnlib.optim import SGD, Adam  # noqa: E402
from cnnlib.train import fit  # noqa: E402
from cnnlib.widgets import training  # noqa: E402


def _blobs(rng, n=100):
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    y = rng.integers(0, 3, size=n)
    return centers[y] + 0.5 * rng.standard_normal((n, 2)), y


def _mlp():
    return nn.Sequential(nn.Linear(2, 8, seed=0), nn.ReLU(), nn.Linear(8, 3, seed=1))


def test_fit_calls_back_every_k_steps_and_after_each_epoch(rng):
    X, y = _blobs(rng)                       # 100 examples, batches of 32: 4 steps per epoch
    seen = []

    def record(history, model):
        seen.append((len(history.batch_loss), len(history.epoch), list(history.batch_loss), list(history.accuracy)))

    hist = fit(_mlp(), X, y, epochs=3, batch_size=32, progress=False, verbose=False,
               callbacks=[record], callback_every=3)
    # steps 3, 6, 9 are mid-epoch; epochs end at steps 4, 8, 12 (step 12 is both: one call)
    assert [(s, e) for s, e, _, _ in seen] == [(3, 0), (4, 1), (6, 1), (8, 2), (9, 2), (12, 3)]
    for steps, epochs, batch_loss, acc in seen:
        assert batch_loss == hist.batch_loss[:steps] and acc == hist.accuracy[:epochs]


def test_fit_without_callback_every_calls_once_per_epoch_and_checks_k(rng):
    X, y = _blobs(rng)
    calls = []
    fit(_mlp(), X, y, epochs=2, batch_size=10, progress=False, verbose=False,
        callbacks=[lambda h, m: calls.append(len(h.batch_loss))])
    assert calls == [10, 20]
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="callback_every must be a positive int"):
            fit(_mlp(), X, y, epochs=1, progress=False, verbose=False, callback_every=bad)


def test_live_plot_keeps_the_run_values_and_redraws_its_area(rng):
    X, y = _blobs(rng)
    live = training.LivePlot()
    assert "cnnlib-widget" in live.widget._dom_classes
    figure = live.widget.outputs["figure"]
    assert "cnnlib-output" in figure._dom_classes and figure.value == ""
    pictures = []
    live.start("SGD")
    hist = fit(_mlp(), X, y, epochs=2, batch_size=25, progress=False, verbose=False,
               callbacks=[live, lambda h, m: pictures.append(figure.value)], callback_every=2)
    assert live.calls == 4                     # steps 2, 4 (end of epoch 1), 6, 8 (end of epoch 2)
    curves = live.runs["SGD"]
    np.testing.assert_array_equal(curves["batch_loss"], hist.batch_loss)
    np.testing.assert_array_equal(curves["accuracy"], hist.accuracy)
    assert len(set(pictures)) == 4 and all(p.startswith("<img") for p in pictures)
    status = live.widget.outputs["status"].value
    assert f"step 8, loss {hist.batch_loss[-1]:.3f}" in status and f"accuracy {hist.accuracy[-1]:.3f}" in status


def test_compare_optimizers_starts_every_run_from_the_same_weights(rng):
    X, y = _blobs(rng, 120)
    live = training.LivePlot(display=False)
    results = training.compare_optimizers(_mlp, X, y, epochs=2, batch_size=30, live=live, callback_every=2)
    assert list(results) == ["SGD", "SGD + momentum", "Adam"] == list(live.runs)
    first_losses = [h.batch_loss[0] for h, _ in results.values()]
    assert first_losses[0] == first_losses[1] == first_losses[2]   # same model, same first batch
    assert len({h.batch_loss[-1] for h, _ in results.values()}) == 3  # different optimizers, different paths
    # each run equals a plain fit with that optimizer
    model = _mlp()
    ref = fit(model, X, y, epochs=2, batch_size=30, optimizer=Adam(model.parameters(), lr=2e-3),
              progress=False, verbose=False)
    np.testing.assert_allclose(results["Adam"][0].batch_loss, ref.batch_loss, rtol=1e-12)
    assert live.calls == 3 * 4                 # 8 steps each: calls at 2, 4, 6, 8
    assert isinstance(training.make_optimizer("SGD + momentum", model.parameters()), SGD)
    with pytest.raises(ValueError, match="unknown optimizer 'RMSprop'"):
        training.make_optimizer("RMSprop", model.parameters())


def test_feature_map_explorer_slider_shows_each_digits_prediction(rng):
    model = lenet5(seed=0)
    images = rng.random((4, 1, 32, 32))
    labels = np.array([0, 1, 2, 3])
    w = training.feature_map_explorer(model, images, labels, layers=("input", "C1", "S2"))
    assert "cnnlib-widget" in w._dom_classes
    before = (w.outputs["figure"].value, w.outputs["summary"].value)
    w.controls["index"].value = 2
    expected = int(np.argmax(model.forward(images[2:3])[0]))
    assert w.prediction() == expected
    assert w.outputs["summary"].value.startswith(f"digit 2: label 2, prediction {expected}")
    assert (w.outputs["figure"].value, w.outputs["summary"].value) != before
    with pytest.raises(ValueError, match="need images"):
        training.feature_map_explorer(model, images, labels[:3])


def test_optimizer_comparison_widget_trains_on_the_button_with_the_chosen_settings(rng):
    X, y = _blobs(rng, 90)
    w = training.optimizer_comparison_widget(_mlp, X, y, validation_data=(X[:30], y[:30]), batch_size=30,
                                             callback_every=2)
    assert "cnnlib-widget" in w._dom_classes and w.results() is None
    w.controls["lr_scale"].value = 0.5
    w.controls["epochs"].value = 2
    assert w.results() is None and w.live.calls == 0            # sliders alone never train
    w.controls["train"].click()
    results = w.results()
    assert list(results) == ["SGD", "SGD + momentum", "Adam"]
    assert all(len(h.epoch) == 2 for h, _ in results.values())
    model = _mlp()
    ref = fit(model, X, y, epochs=2, batch_size=30, optimizer=SGD(model.parameters(), lr=0.025),
              validation_data=(X[:30], y[:30]), progress=False, verbose=False)
    np.testing.assert_allclose(results["SGD"][0].batch_loss, ref.batch_loss, rtol=1e-12)   # lr 0.05 * 0.5
    summary = w.outputs["summary"].value
    assert "SGD (lr 0.025)" in summary and f"validation accuracy {ref.val_accuracy[-1]:.3f}" in summary
    # 3 steps/epoch: calls at steps 2, 3 (epoch), 4, 6 (epoch)
    assert w.outputs["figure"].value.startswith("<img") and w.live.calls == 3 * 4
    first_picture = w.outputs["figure"].value
    w.controls["lr_scale"].value = 2.0
    w.run()
    assert "SGD (lr 0.1)" in w.outputs["summary"].value and w.outputs["figure"].value != first_picture
    assert list(w.live.runs) == ["SGD", "SGD + momentum", "Adam"]
