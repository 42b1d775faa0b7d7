"""Builds lectures/06_hog_features.ipynb (lecture 6: image features and HOG)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 6: Image features and HOG

    Before convolutional networks learned their own features, vision systems used
    features designed by hand. The most successful one for shapes is the
    **Histogram of Oriented Gradients** (HOG, Dalal & Triggs 2005). It is also a
    convolutional network in disguise: a fixed filter, a non-linearity, pooling
    over cells and a normalisation.

    **What you will learn**

    - how image gradients $g_\text{row}, g_\text{col}$ give a magnitude and an unsigned orientation per pixel;
    - how the pixels of a cell vote into an orientation histogram;
    - why overlapping blocks of cells are normalised, and what L2-Hys does;
    - what the HOG picture shows, and how cell size and the number of orientations change the descriptor;
    - that HOG + a linear classifier beats the same classifier on raw pixels on MNIST digits;
    - that logistic regression on $28\times28$ pixels has $7{,}850$ parameters, and what its weights look like.
    """),
    code(SETUP),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib import hog as H
    from cnnlib import plots
    from cnnlib.data import load_mnist, train_val_split
    from cnnlib.widgets.hog import example_images, hog_explorer

    images, labels = load_mnist("train-5k")          # 5,000 real MNIST digits, 28x28, uint8
    digits = images.astype(np.float64) / 255.0
    print(digits.shape, np.bincount(labels))
    """),
    md(r"""
    ## 6.1 Gradients

    HOG differentiates the image with the filter $[-1, 0, 1]$ in both directions (no
    smoothing, no halving):

    $$g_\text{row}[i, j] = I[i+1, j] - I[i-1, j], \qquad g_\text{col}[i, j] = I[i, j+1] - I[i, j-1],$$

    with the border rows and columns set to 0. Each pixel gets a **magnitude**
    $m = \sqrt{g_\text{row}^2 + g_\text{col}^2}$ and an **unsigned orientation**
    $\theta = \operatorname{atan2}(g_\text{row}, g_\text{col}) \bmod 180^\circ$: a dark-to-light edge and
    a light-to-dark edge in the same direction get the same angle.
    """),
    code("""
    digit = digits[0]
    magnitude, orientation = H.image_gradients(digit)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    for ax, picture, title in zip(axes, [digit, magnitude, np.where(magnitude > 0, orientation, np.nan)],
                                  ["digit", "magnitude m", "orientation θ (degrees)"]):
        shown = ax.imshow(picture, cmap="twilight" if "orientation" in title else "gray")
        ax.set_title(title)
        ax.axis("off")
    fig.colorbar(shown, ax=axes[2], fraction=0.046)
    plt.show()
    """),
    md(r"""
    ## 6.2 Orientation histograms per cell

    The image is cut into cells of $c \times c$ pixels (here $7\times7$: a digit has $4\times4$
    cells). With $B$ orientation bins of width $180^\circ / B$, every pixel adds its magnitude $m$
    to the bin of its angle $\theta$; the cell's histogram is the mean vote. Pooling over a cell
    makes the feature tolerant to small shifts, like max-pooling in a CNN.
    """),
    code("""
    hist = H.cell_histograms(magnitude, orientation, pixels_per_cell=(7, 7), orientations=9)
    print("cell histograms:", hist.shape, "(cell rows, cell columns, orientations)")

    fig, axes = plt.subplots(4, 4, figsize=(7, 5), sharey=True)
    centres = (np.arange(9) + 0.5) * 20
    for (r, c), ax in np.ndenumerate(np.empty((4, 4))):
        axes[r, c].bar(centres, hist[r, c], width=18)
        axes[r, c].set_xticks([0, 90, 180])
    fig.suptitle("one 9-bin histogram per 7x7 cell of the digit above")
    fig.tight_layout()
    plt.show()
    """),
    md(r"""
    ## 6.3 Block normalisation

    Lighting and contrast change gradient magnitudes. HOG groups $b\times b$ neighbouring cells
    into **blocks** that overlap (stride: one cell) and normalises each block's vector $v$.
    With L2-Hys: $v \leftarrow v / \sqrt{\lVert v\rVert_2^2 + \epsilon^2}$, clip every entry at $0.2$,
    normalise again. A cell belongs to several blocks, so it appears several times in the
    descriptor, each time normalised by a different neighbourhood.

    The descriptor length is $n_\text{blocks,row}\cdot n_\text{blocks,col}\cdot b^2 \cdot B$ with
    $n_\text{blocks} = n_\text{cells} - b + 1$.
    """),
    code("""
    blocks = H.normalize_blocks(hist, cells_per_block=(2, 2), method="L2-Hys")
    print("blocks:", blocks.shape, "-> descriptor length", blocks.size)

    features = H.hog(digit, orientations=9, pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    darker = H.hog(0.3 * digit, orientations=9, pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    print("same as the flattened blocks:", np.allclose(features, blocks.ravel()))
    print("largest change when the contrast drops to 30%:", np.abs(features - darker).max())
    """),
    md(r"""
    ## 6.4 The HOG picture

    The HOG picture draws each cell's histogram as a star of line segments, one per bin, along the
    edge direction (perpendicular to the gradient), brighter for a larger vote. Move the sliders:
    small cells follow the strokes closely but give long descriptors; few orientation bins blur the
    directions together. The summary line shows how the descriptor length follows from the settings.
    """),
    code("""
    explorer = hog_explorer(example_images(digits[:3]), pixels_per_cell=4, orientations=9)
    explorer
    """),
    md(r"""
    ## 6.5 HOG + a linear classifier vs raw pixels

    A linear classifier (multinomial logistic regression) on the 784 raw pixels, and the same
    classifier on 324 HOG features ($7\times7$ cells, $2\times2$ blocks, 9 bins). We train on 4,000
    digits and measure on 1,000 held-out digits. `cnnlib.hog.hog` takes the whole stack at once.
    """),
    code("""
    from sklearn.linear_model import LogisticRegression

    X_train, X_val, y_train, y_val = train_val_split(digits, labels, val_fraction=0.2, seed=0)

    def hog_features(stack):
        return H.hog(stack, orientations=9, pixels_per_cell=(7, 7), cells_per_block=(2, 2))

    raw = LogisticRegression(max_iter=200, C=0.1).fit(X_train.reshape(len(X_train), -1), y_train)
    raw_accuracy = raw.score(X_val.reshape(len(X_val), -1), y_val)

    F_train, F_val = hog_features(X_train), hog_features(X_val)
    with_hog = LogisticRegression(max_iter=500, C=10.0).fit(F_train, y_train)
    hog_accuracy = with_hog.score(F_val, y_val)
    print(f"raw pixels  ({X_train[0].size} features): {raw_accuracy:.3f}")
    print(f"HOG         ({F_train.shape[1]} features): {hog_accuracy:.3f}")
    """),
    md(r"""
    ## 6.6 Logistic regression on 28x28 pixels: 7,850 parameters

    The raw-pixel classifier computes ten scores $s = Wx + b$ with $W \in \mathbb{R}^{10\times784}$ and
    $b \in \mathbb{R}^{10}$: $784\cdot10 + 10 = 7{,}850$ parameters. Each row of $W$ has one weight per
    pixel, so it can be drawn as a $28\times28$ image: red pixels vote for the class, blue against.
    Each row is a single **template** per digit; a network with hidden layers can learn many.

    How well does it fit 1,000 training digits? With 7,850 parameters for 1,000 examples it can
    nearly memorise them: the training accuracy comes out close to 1, much higher than the accuracy
    on digits it has not seen.
    """),
    code("""
    n_parameters = raw.coef_.size + raw.intercept_.size
    print("parameters:", raw.coef_.shape, "+", raw.intercept_.shape, "=", n_parameters)
    assert n_parameters == 7850
    X_1000, y_1000 = X_train[:1000].reshape(1000, -1), y_train[:1000]
    few = LogisticRegression(max_iter=500, C=1.0).fit(X_1000, y_1000)
    print(f"trained on 1,000 digits: training accuracy {few.score(X_1000, y_1000):.3f}, "
          f"held-out accuracy {few.score(X_val.reshape(len(X_val), -1), y_val):.3f}")
    fig = plots.plot_images(raw.coef_.reshape(10, 28, 28), titles=[f"class {k}" for k in range(10)],
                            ncols=10, cmap="RdBu_r", symmetric=True)
    plt.show()
    """),
    md(r"""
    ## Exercises

    1. A $28\times28$ digit, cells of $4\times4$ pixels, blocks of $2\times2$ cells, 9 orientations: how
       long is the HOG descriptor? Check with the explorer above.
    2. How many parameters does the logistic regression on the HOG features of 6.5 have?
    3. Why does HOG use the *unsigned* orientation (mod $180^\circ$) for digits and pedestrians?
    4. In 6.3 the contrast dropped to 30% and the descriptor hardly moved. Which step is responsible,
       and why is the change not exactly zero?
    """),
    exercise_answer(r"""
    1. $28/4 = 7$ cells per side, $7 - 2 + 1 = 6$ blocks per side: $6\cdot6\cdot(2\cdot2)\cdot9 = 1{,}296$.
    2. $324 \cdot 10 + 10 = 3{,}250$, less than half of the $7{,}850$ of the raw-pixel model.
    3. A stroke is the same stroke whether it is darker or lighter than its background (ink colour,
       clothing against a wall); unsigned angles merge the two cases and halve the bins needed.
    4. Block normalisation: scaling the image scales every gradient and every block vector by
       0.3, and dividing by the block norm undoes it. The $\epsilon$ in
       $\sqrt{\lVert v\rVert^2 + \epsilon^2}$ does not scale, so tiny blocks change slightly.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
