"""Lecture 4 widgets: the numbers behind the convolution explorer, the quiz and 1-D convolution.

Oracles: scipy.signal (correlate2d / convolve2d / correlate / convolve),
scipy.ndimage for the Gaussian, and hand-worked values on the bar image.
"""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
signal = pytest.importorskip("scipy.signal")

from cnnlib.conv import conv2d_forward  # noqa: E402
from cnnlib.widgets import convolution as cv  # noqa: E402


def test_bar_image_and_vertical_edge_by_hand():
    image = cv.bar_image()
    assert image.shape == (10, 10) and image.sum() == 40 and image[:, 3:7].all()
    out = cv.conv_window(image, cv.KERNELS["vertical edge"], position=0)["output"]
    # rows are identical; three kernel rows [1, 0, -1] over columns j..j+2 give 3 (image[j] - image[j+2])
    row = 3 * (image[0, :-2] - image[0, 2:])
    np.testing.assert_array_equal(out, np.tile(row, (8, 1)))
    assert list(out[0]) == [0, -3, -3, 0, 0, 3, 3, 0]


@pytest.mark.parametrize("name", list(cv.KERNELS))
@pytest.mark.parametrize("flip", [False, True])
def test_explorer_output_matches_scipy(name, flip):
    image = cv.demo_image("photograph (64x64)")[:20, :23]
    kernel = cv.KERNELS[name]
    view = cv.conv_window(image, kernel, stride=1, pad=0, position=0, flip=flip)
    oracle = signal.convolve2d(image, kernel, mode="valid") if flip else signal.correlate2d(image, kernel, mode="valid")
    np.testing.assert_allclose(view["output"], oracle, atol=1e-12)


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), (3, 2), (2, 0)])
def test_window_dot_product_equals_output_pixel(stride, pad, rng):
    image = rng.standard_normal((11, 9))
    kernel = rng.standard_normal((3, 4))
    # oracle: scipy's full-padding correlation on the zero-padded image, subsampled by the stride
    padded = np.pad(image, pad)
    oracle = signal.correlate2d(padded, kernel, mode="valid")[::stride, ::stride]
    n = oracle.size
    for position in (0, n // 2, n - 1):
        view = cv.conv_window(image, kernel, stride, pad, position)
        np.testing.assert_allclose(view["output"], oracle, atol=1e-12)
        r, c = divmod(position, oracle.shape[1])
        assert (view["row"], view["col"]) == (r, c)
        np.testing.assert_array_equal(view["patch"], padded[r * stride:r * stride + 3, c * stride:c * stride + 4])
        assert view["dot"] == pytest.approx(oracle[r, c])


def test_conv_window_rejects_bad_position():
    with pytest.raises(ValueError, match="position must be in 0..63"):
        cv.conv_window(cv.bar_image(), np.ones((3, 3)), position=64)


def test_gaussian_kernel_matches_scipy_ndimage():
    ndimage = pytest.importorskip("scipy.ndimage")
    delta = np.zeros((5, 5))
    delta[2, 2] = 1
    oracle = ndimage.gaussian_filter(delta, sigma=1.0, truncate=2.0 / 1.0, mode="constant")
    np.testing.assert_allclose(cv.gaussian_kernel(5, 1.0), oracle / oracle.sum(), atol=1e-12)
    assert cv.gaussian_kernel(5, 1.0).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("text, expected", [
    ("1 0 -1\n2, 0, -2\n 1 0 -1 ", [[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
    ("0.5 0.5; 0.5 0.5", np.full((2, 2), 0.5)),
    # rejected: the ValueError's message
    ("1 2\n3", "same number of entries"),
    ("1 2\n3 x", "row 2 of the kernel is not a list of numbers"),
    ("  \n ", "empty"),
    ("1 nan; 0 1", "finite"),
])
def test_parse_kernel(text, expected):
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            cv.parse_kernel(text)
    else:
        np.testing.assert_array_equal(cv.parse_kernel(text), expected)


def test_demo_images():
    for name in cv.IMAGES:
        image = cv.demo_image(name)
        assert image.ndim == 2 and 0 <= image.min() and image.max() <= 1 and image.max() > 0.5
    assert cv.demo_image("digit (28x28)").shape == (28, 28)
    skdata = pytest.importorskip("skimage.data")
    camera = skdata.camera() / 255.0
    photo = cv.demo_image("photograph (64x64)")
    assert photo.shape == (64, 64)
    assert photo[10, 20] == pytest.approx(camera[80:88, 160:168].mean())
    with pytest.raises(ValueError, match="image must be one of"):
        cv.demo_image("cat")


def test_explorer_widget_controls_change_the_output():
    w = cv.convolution_explorer()
    assert "cnnlib-widget" in w._dom_classes and "cnnlib-output" in w.outputs["figure"]._dom_classes
    figure, text, position = w.outputs["figure"], w.outputs["text"], w.controls["position"]
    assert position.max == 63 and "8x8" in text.value
    # output[0, 1] of the bar with the vertical-edge kernel is -3
    before = figure.value
    position.value = 1
    assert figure.value != before and "output[0, 1]</b> = sum of window × kernel = <b>-3" in text.value
    w.controls["flip"].value = True  # true convolution flips [1, 0, -1] to [-1, 0, 1]: the sign flips
    assert "output[0, 1]</b> = sum of window × kernel = <b>3" in text.value
    w.controls["flip"].value = False
    w.controls["pad"].value = 1
    assert position.max == 99 and "10x10" in text.value
    w.controls["stride"].value = 2
    assert position.max == 24 and "5x5" in text.value
    w.controls["kernel"].value = "typed in"
    w.controls["typed"].value = "1 1 1"
    assert "6x5" in text.value  # a 1x3 kernel: (10 + 2 - 1)//2 + 1 = 6 rows, (10 + 2 - 3)//2 + 1 = 5 columns
    w.controls["typed"].value = "1 2\n3"
    assert "same number of entries" in text.value  # a typing mistake is reported, nothing breaks
    w.controls["kernel"].value = "Sobel x"
    w.controls["image"].value = "digit (28x28)"
    assert position.max == 14 * 14 - 1


def test_explorer_reports_a_kernel_larger_than_the_image():
    w = cv.convolution_explorer()
    w.controls["kernel"].value = "typed in"
    w.controls["typed"].value = "\n".join(["1 " * 11] * 11)
    assert "color:#b00" in w.outputs["text"].value


def test_kernel_quiz_answers_match_outputs():
    image = cv.demo_image("digit (28x28)")
    outputs, answer = cv.kernel_quiz(image, seed=3)
    assert sorted(answer) == sorted(["vertical edge", "Sobel y", "box blur 3x3", "diagonal 4x4"])
    for out, name in zip(outputs, answer):
        oracle = signal.correlate2d(np.pad(image, 1), cv.KERNELS[name], mode="valid")
        np.testing.assert_allclose(out, oracle, atol=1e-12)
    assert cv.check_quiz(answer, answer) == (4, [True] * 4)
    assert cv.check_quiz(answer[::-1], answer)[0] == sum(a == b for a, b in zip(answer[::-1], answer))
    with pytest.raises(ValueError, match="expected 4 guesses"):
        cv.check_quiz(answer[:2], answer)


def test_kernel_quiz_widget_grades_the_choices():
    w = cv.kernel_quiz_widget(seed=0)
    _, answer = cv.kernel_quiz(cv.demo_image("digit (28x28)"), seed=0)
    for letter, name in zip("ABCD", answer):
        w.controls[letter].value = name
    w.controls["D"].value = answer[0] if answer[0] != answer[3] else answer[1]
    w.controls["check"].click()
    assert "3 of 4 right" in w.outputs["feedback"].value and "D wrong" in w.outputs["feedback"].value


def test_one_dimensional_convolution_matches_scipy(rng):
    x = rng.standard_normal(30)
    k = rng.standard_normal(5)
    np.testing.assert_allclose(cv.correlate1d(x, k), signal.correlate(x, k, mode="valid"), atol=1e-12)
    np.testing.assert_allclose(cv.convolve1d(x, k), signal.convolve(x, k, mode="valid"), atol=1e-12)
    np.testing.assert_allclose(cv.moving_average(x, 4), np.convolve(x, np.ones(4) / 4, mode="valid"), atol=1e-12)


def test_find_pattern_locates_a_hidden_bump(rng):
    pattern = np.array([0.0, 1.0, 3.0, 1.0, 0.0])
    x = 0.1 * rng.standard_normal(100)
    x[61:66] += pattern
    start, scores = cv.find_pattern(x, pattern)
    assert start == 61 and scores.shape == (96,)


def test_smoothing_explorer_slider_changes_output():
    w = cv.smoothing_explorer()
    before = w.outputs["figure"].value
    w.controls["width"].value = 21
    assert w.outputs["figure"].value != before
    assert "output length 180 = 200 − 21 + 1" in w.outputs["text"].value


def test_channel_contributions_sum_to_the_conv_layer(rng):
    x = rng.standard_normal((3, 7, 6))
    w = rng.standard_normal((2, 3, 3, 3))  # 2 output channels, each a C_in x K x K = 3x3x3 kernel
    out, _ = conv2d_forward(x[None], w, np.zeros(2))
    for f in range(2):
        parts = cv.channel_contributions(x, w[f])
        assert parts.shape == (3, 5, 4)
        np.testing.assert_allclose(parts.sum(axis=0), out[0, f], atol=1e-12)
        oracle = sum(signal.correlate2d(x[c], w[f, c], mode="valid") for c in range(3))
        np.testing.assert_allclose(parts.sum(axis=0), oracle, atol=1e-12)
    with pytest.raises(ValueError, match="same C"):
        cv.channel_contributions(x, w[0, :2])
