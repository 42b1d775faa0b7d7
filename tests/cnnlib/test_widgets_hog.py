"""The HOG explorer of lecture 6: its numbers equal skimage.feature.hog for every slider setting."""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
feature = pytest.importorskip("skimage.feature")

from cnnlib.data import load_mnist  # noqa: E402
from cnnlib.widgets import hog as hog_widget  # noqa: E402


@pytest.fixture(scope="module")
def digit():
    images, _ = load_mnist("train-5k")
    return images[7].astype(np.float64) / 255.0


@pytest.mark.parametrize("cell, bins, block", [(4, 9, 2), (7, 6, 2), (14, 12, 1), (4, 4, 3)])
def test_hog_view_equals_skimage(digit, cell, bins, block):
    view = hog_widget.hog_view(digit, pixels_per_cell=cell, orientations=bins, cells_per_block=block)
    expected, picture = feature.hog(digit, orientations=bins, pixels_per_cell=(cell, cell),
                                    cells_per_block=(block, block), block_norm="L2-Hys", visualize=True)
    np.testing.assert_allclose(view["features"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(view["picture"], picture, rtol=1e-5, atol=1e-6)
    n = 28 // cell
    assert view["n_cells"] == (n, n) and view["n_blocks"] == (n - block + 1, n - block + 1)
    assert view["length"] == (n - block + 1) ** 2 * block * block * bins == expected.size
    assert view["histograms"].shape == (n, n, bins)


def test_hog_view_explains_a_cell_size_that_leaves_no_block(digit):
    with pytest.raises(ValueError, match="use pixels_per_cell <= 14"):
        hog_widget.hog_view(digit, pixels_per_cell=16, cells_per_block=2)


def test_vertical_bar_votes_only_into_the_horizontal_gradient_bin():
    bar = hog_widget.example_images()["vertical bar"]
    view = hog_widget.hog_view(bar, pixels_per_cell=4, orientations=9, cells_per_block=2)
    # a vertical edge has a horizontal gradient: angle 0 degrees, bin 0
    assert view["histograms"][..., 1:].sum() == 0 and view["histograms"][..., 0].sum() > 0


def test_explorer_sliders_change_the_descriptor_and_the_picture(digit):
    w = hog_widget.hog_explorer({"digit": digit, "bar": hog_widget.example_images()["vertical bar"]},
                                pixels_per_cell=4, orientations=9)
    assert "cnnlib-widget" in w._dom_classes and "cnnlib-output" in w.outputs["figure"]._dom_classes
    first_picture = w.outputs["figure"].value
    assert first_picture.startswith("<img") and "= <b>1296</b>" in w.outputs["summary"].value  # 6*6*4*9
    w.controls["pixels_per_cell"].value = 7
    w.controls["orientations"].value = 5
    expected = feature.hog(digit, orientations=5, pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    np.testing.assert_allclose(w.view()["features"], expected, rtol=1e-5, atol=1e-6)
    assert "= <b>180</b>" in w.outputs["summary"].value  # 3*3*4*5
    assert w.outputs["figure"].value != first_picture
    w.controls["pixels_per_cell"].value = 15           # no room for a 2x2 block: message, no crash
    assert "use pixels_per_cell &lt;= 14" in w.outputs["summary"].value and w.view() is None
    assert w.outputs["figure"].value == ""
    w.controls["image"].value = "bar"                  # the 32x32 bar has room for 2 cells of 15
    assert w.view()["n_cells"] == (2, 2)


def test_glyphs_lie_along_the_edges_of_a_vertical_bar():
    """A vertical bar has horizontal gradients (0 degrees): its strongest glyphs are
    vertical lines through the centres of the cells on the bar's edges."""
    from cnnlib.widgets.hog import glyph_segments

    bar = np.zeros((32, 32))
    bar[:, 12:20] = 1.0
    view = hog_widget.hog_view(bar, pixels_per_cell=4, orientations=9, cells_per_block=2)
    segments, strength = glyph_segments(view["histograms"], 4)
    assert len(segments) == np.count_nonzero(view["histograms"]) and strength.max() == 1.0
    strongest = segments[strength == 1.0]
    (x0, y0), (x1, y1) = strongest[0]
    # bin 0 has mid-angle 10 degrees: the line is within 10 degrees of vertical, 0.9 cell long
    assert abs(x1 - x0) < abs(y1 - y0) * np.tan(np.deg2rad(10.5))
    assert np.hypot(x1 - x0, y1 - y0) == pytest.approx(0.9 * 4)
    # and it sits on a cell whose column holds an edge of the bar (x = 11.5 or 19.5)
    centre_x = (x0 + x1) / 2
    assert min(abs(centre_x - 9.5), abs(centre_x - 13.5), abs(centre_x - 17.5), abs(centre_x - 21.5)) < 1e-9
