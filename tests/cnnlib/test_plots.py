"""cnnlib.plots: the numbers behind each figure, checked against independent oracles."""
import numpy as np
import pytest
from scipy import signal

from cnnlib import nn, plots
from cnnlib.models import lenet5
from cnnlib.train import History


def test_confusion_matrix_equals_scikit_learn(rng):
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    y_true = rng.integers(0, 10, size=500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.integers(0, 10, size=500))
    cm = plots.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm, sk_confusion_matrix(y_true, y_pred, labels=range(10)))
    assert cm.sum() == 500 and np.trace(cm) == np.sum(y_true == y_pred)


def test_confusion_matrix_small_hand_example_and_missing_classes():
    cm = plots.confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], num_classes=4)
    np.testing.assert_array_equal(cm, [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("y_true, y_pred, num_classes, message", [
    ([0, 1], [0], None, "equal length"),
    ([0, -1], [0, 1], None, "non-negative integer"),
    ([0.5, 1], [0, 1], None, "non-negative integer"),
    ([0, 3], [0, 1], 3, "num_classes=3"),
])
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, num_classes, message):
    with pytest.raises(ValueError, match=message):
        plots.confusion_matrix(y_true, y_pred, num_classes)


def test_misclassified_indices_and_figure_titles():
    y_true = np.array([3, 1, 4, 1, 5, 9])
    y_pred = np.array([3, 7, 4, 2, 5, 9])
    np.testing.assert_array_equal(plots.misclassified(y_true, y_pred), [1, 3])
    images = np.arange(6 * 28 * 28, dtype=float).reshape(6, 1, 28, 28)
    fig = plots.plot_misclassified(images, y_true, y_pred)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["1 -> 7", "1 -> 2"]
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), images[3, 0])
    with pytest.raises(ValueError, match="nothing to draw"):
        plots.plot_misclassified(images, y_true, y_true)


def test_conv_filters_are_the_first_convolution_weights():
    model = lenet5(seed=3)
    filters = plots.conv_filters(model)
    np.testing.assert_array_equal(filters, model["C1"].weight.data[:, 0])
    assert filters.shape == (6, 5, 5)
    fig = plots.plot_filters(model)
    assert sum(len(ax.images) for ax in fig.axes) == 6
    with pytest.raises(ValueError, match="no Conv2d"):
        plots.conv_filters(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match=r"\(F, C, KH, KW\)"):
        plots.conv_filters(np.zeros((3, 3)))


def test_feature_maps_follow_lenet5_layer_by_layer(rng):
    model = lenet5(seed=0)
    x = rng.random((1, 32, 32))
    maps = plots.feature_maps(model, x)
    names = [name for name, _ in maps]
    assert names == ["input"] + model.names
    shapes = dict((name, a.shape) for name, a in maps)
    assert shapes["C1"] == (6, 28, 28) and shapes["S2"] == (6, 14, 14)
    assert shapes["C3"] == (16, 10, 10) and shapes["S4"] == (16, 5, 5) and shapes["output"] == (10,)
    # C1, channel 2, is the input correlated with its kernel plus the bias (scipy as the oracle)
    w, b = model["C1"].weight.data, model["C1"].bias.data
    np.testing.assert_allclose(dict(maps)["C1"][2], signal.correlate2d(x[0], w[2, 0], mode="valid") + b[2],
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dict(maps)["output"], model.forward(x[None])[0], rtol=1e-12)
    fig = plots.plot_feature_maps(model, x, layers=["input", "C1", "S4"], max_maps=8)
    assert len(fig.axes) == 3                      # one montage per layer
    s4 = dict(maps)["S4"]
    np.testing.assert_allclose(fig.axes[2].images[0].get_array().filled(np.nan), plots.feature_montage(s4, 8))
    with pytest.raises(ValueError, match="no image-shaped output named"):
        plots.plot_feature_maps(model, x, layers=["C5"])


def test_history_curves_and_plot_history():
    h = History(epoch=[1, 2], loss=[1.0, 0.5], accuracy=[0.6, 0.8], val_loss=[1.1, 0.7],
                val_accuracy=[0.55, 0.75], batch_loss=[2.0, 1.5, 1.0, 0.6])
    c = plots.history_curves(h)
    np.testing.assert_array_equal(c["step"], [1, 2, 3, 4])
    np.testing.assert_array_equal(c["batch_loss"], [2.0, 1.5, 1.0, 0.6])
    np.testing.assert_array_equal(c["val_accuracy"], [0.55, 0.75])
    fig = plots.plot_history({"SGD": h, "Adam": History(batch_loss=[1.0])})
    loss_ax, acc_ax = fig.axes
    assert [tuple(line.get_ydata()) for line in loss_ax.lines] == [(2.0, 1.5, 1.0, 0.6), (1.0,)]
    assert len(acc_ax.lines) == 2  # train and validation accuracy of the run that has epochs


def test_plot_images_checks_its_input():
    fig = plots.plot_images(np.zeros((3, 8, 8)), titles=["a", "b", "c"], ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c", ""]
    with pytest.raises(ValueError, match="3 images but 2 titles"):
        plots.plot_images(np.zeros((3, 8, 8)), titles=["a", "b"])
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plots.plot_images(np.zeros((2, 3, 8, 8)))


def test_feature_montage_places_each_map_scaled_to_unit_range():
    maps = np.stack([np.arange(6.0).reshape(2, 3), np.full((2, 3), 7.0), -np.arange(6.0).reshape(2, 3)])
    montage = plots.feature_montage(maps, max_maps=2, gap=1)
    assert montage.shape == (2, 3 + 1 + 3)
    np.testing.assert_allclose(montage[:, :3], np.arange(6.0).reshape(2, 3) / 5)
    assert np.isnan(montage[:, 3]).all() and (montage[:, 4:] == 0).all()    # gap, then the constant map
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        plots.feature_montage(np.zeros((3, 3)))
