"""Builds lectures/01_why_cnns.ipynb (lecture 1: why convolutional networks: the brain, the history, the tasks)."""
import sys

from cnnlib.widgets.history import VISION_TASKS
from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 1: Why convolutional networks

    A $28 \times 28$ digit is 784 numbers; a phone photo is millions. A classifier that treats
    those numbers as an unordered list has to rediscover, for every position separately, that
    neighbouring pixels belong together and that a stroke is the same stroke wherever it is.
    Convolutional networks build both facts into the architecture. The idea did not come from
    nowhere: it copies the layout of the visual cortex, took thirty years to work at scale, and
    won once data and graphics cards caught up. This lecture tells that story with small
    experiments you can run.

    **What you will learn**

    - the ventral visual stream, and what Hubel and Wiesel's **simple** and **complex cells** compute;
    - that a simple cell is a convolution followed by a rectifier, and a complex cell is max pooling;
    - how max pooling buys tolerance to small shifts, measured on a real digit;
    - the history from the Neocognitron (1980) through LeNet and MNIST to AlexNet (2012), and why 2012;
    - the main computer-vision tasks: classification, detection, segmentation and more;
    - hand-designed features (HOG) next to features a network learns by itself.
    """),
    code(SETUP),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib import nn, plots
    from cnnlib.data import load_mnist, to_nchw, train_val_split
    from cnnlib.hog import hog
    from cnnlib.optim import Adam
    from cnnlib.train import evaluate, fit
    from cnnlib.widgets.history import (IMAGENET_TOP5, bar_image, cell_responses, digit_scene,
                                        draw_imagenet_results, draw_timeline, draw_ventral_stream,
                                        draw_vision_tasks, hubel_wiesel_explorer, pooling_shift_explorer,
                                        shift_similarity, simple_cell_kernel, top5_error_reduction,
                                        tuning_curves)

    images, labels = load_mnist("train-5k")          # 5,000 real MNIST digits, 28x28, uint8
    digits = images.astype(np.float64) / 255.0
    """),
    md(r"""
    ## 1.1 The problem with raw pixels

    Flatten a $200 \times 200$ grey image into a vector $x \in \mathbb{R}^{40\,000}$ and feed it to a
    fully connected hidden layer of the same size: every hidden unit owns one weight per pixel,
    $40\,000^2 = 1.6$ billion weights. A convolutional layer with 100 feature maps and $5 \times 5$
    kernels needs $100 \cdot 25 = 2{,}500$. The fully connected layer is not only expensive; it
    also ignores two facts about images:

    - **locality**: the pixels that explain a stroke are next to each other;
    - **stationarity**: a stroke detector that is useful in one corner is useful everywhere.

    The lecture "Pooling and CNN architecture" does the parameter bookkeeping in detail. Here we ask
    where the two ideas came from.
    """),
    code("""
    fully_connected = (200 * 200) ** 2
    convolution = 100 * 5 * 5
    print(f"fully connected: {fully_connected:,} weights; convolution: {convolution:,} weights "
          f"({fully_connected // convolution:,} times fewer)")
    """),
    md(r"""
    ## 1.2 The ventral visual stream

    Light hits the retina; the signal passes the lateral geniculate nucleus (LGN) and reaches the
    primary visual cortex V1 at the back of the head. From there the **ventral** ("what") pathway
    runs forward through V2 and V4 to the inferotemporal cortex (PIT, AIT), where neurons respond
    to whole objects and faces. Two trends hold along the way, and both reappear in a CNN:

    1. each stage looks at a **larger region** of the visual field (a larger receptive field);
    2. each stage responds to **more complex patterns**, built from the previous stage's patterns.
    """),
    code("""
    draw_ventral_stream()
    plt.show()
    """),
    md(r"""
    ## 1.3 Simple and complex cells

    Hubel and Wiesel (1959, 1962) recorded single neurons in a cat's V1 while showing it bars of
    light. They found two kinds of cells:

    - a **simple cell** fires when a bar of one orientation lies at one place in its small
      receptive field; turn the bar or move it sideways and the cell goes quiet;
    - a **complex cell** also prefers one orientation, but fires wherever the bar is inside a
      larger field. It behaves as if it **pooled** many simple cells that share an orientation.

    Both are easy to model with the operations of this course. A simple cell at position $(i, j)$
    with weights $w$ (a $K \times K$ kernel, positive on a line, negative beside it) computes
    $$u[i, j] = \max\Big(0,\; \sum_{a=0}^{K-1}\sum_{b=0}^{K-1} x[i+a, j+b]\, w[a, b]\Big),$$
    a convolution followed by a ReLU. Simple cells with the same $w$ at every position form a
    feature map $u$. A complex cell takes the maximum over a region $R$ of that map,
    $$v = \max_{(i, j) \in R} u[i, j],$$
    which is max pooling. Here is the kernel ($K = 7$, preferred orientation horizontal) and a bar:
    """),
    code("""
    kernel = simple_cell_kernel(angle=0, size=7)
    bar = bar_image(21, angle=0, offset=0)
    r = cell_responses(bar, angle=0)
    print(f"map of simple cells: {r['map'].shape}, centre cell {r['simple']:.3f}, complex cell {r['complex']:.3f}")
    print("kernel entries sum to 0:", bool(np.isclose(kernel.sum(), 0)), "-> a uniform image gives no response")

    curves = tuning_curves(preferred=0)
    best = curves["simple_by_angle"].max()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    axes[0].plot(curves["angles"], curves["simple_by_angle"] / best, "o-", label="simple cell")
    axes[0].plot(curves["angles"], curves["complex_by_angle"] / best, "s--", label="complex cell")
    axes[0].set_xlabel("bar orientation − preferred (degrees)")
    axes[1].plot(curves["offsets"], curves["simple_by_offset"] / best, "o-", label="simple cell")
    axes[1].plot(curves["offsets"], curves["complex_by_offset"] / best, "s--", label="complex cell")
    axes[1].set_xlabel("bar offset (pixels)")
    for ax, title in zip(axes, ["orientation tuning", "position tuning"]):
        ax.set_title(title)
        ax.set_ylabel("response / best")
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()
    """),
    md(r"""
    Both cells are tuned to orientation. Only the simple cell is tuned to position: one pixel off
    and its response drops, three pixels off and it is silent, while the complex cell does not
    care. Try it: turn the bar with the first slider and move it with the second.
    """),
    code("""
    hubel_wiesel_explorer()
    """),
    md(r"""
    ### Exercise 1

    The simple cell's kernel is $7 \times 7$ and the image $21 \times 21$. How many simple cells
    does the map hold, how many weights do they have between them, and how many different
    weights? What does the complex cell add?
    """),
    exercise_answer(r"""
    The map is $(21 - 7 + 1) \times (21 - 7 + 1) = 15 \times 15 = 225$ cells, each with $49$
    connections: $225 \cdot 49 = 11{,}025$ connections but only $49$ different weights, because
    every cell shares the same $w$ (weight sharing). The complex cell adds no weights at all: a
    maximum has no parameters, like a max-pooling layer.
    """),
    md(r"""
    ## 1.4 What pooling borrows from complex cells: tolerance to position

    The same effect on a real digit. Take a vertical edge detector $w$ (the Sobel kernel
    $\begin{smallmatrix}-1 & 0 & 1\\ -2 & 0 & 2\\ -1 & 0 & 1\end{smallmatrix}$), compute
    $u = \mathrm{ReLU}(x \star w)$ with zero padding so that $u$ is $28 \times 28$, and max-pool it
    with windows of $2 \times 2$, $4 \times 4$ and $7 \times 7$. Then shift the digit right by
    $0, 1, \ldots, 6$ pixels and measure how similar each representation stays (cosine similarity,
    1 = unchanged). The pixels and the unpooled map change quickly; the pooled maps change slowly,
    and larger windows forgive larger shifts, at the price of knowing less precisely where the
    edge was.
    """),
    code("""
    sobel = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    digit = digits[2600]
    shifts = np.arange(7)
    similarity = shift_similarity(digit, sobel, shifts, pools=(2, 4, 7))
    plt.figure(figsize=(5.5, 3.4))
    for name, values in similarity.items():
        plt.plot(shifts, values, "o-", label=name)
    plt.xlabel("shift to the right (pixels)")
    plt.ylabel("cosine similarity to the original")
    plt.legend(fontsize=8)
    plt.title("max pooling forgives small shifts")
    plt.show()
    """),
    md(r"""
    Move the digit and change the pooling window. With no pooling the map moves with the digit, so
    its similarity to the original falls; with a $7 \times 7$ window the pooled map hardly changes
    for shifts of one or two pixels.
    """),
    code("""
    pooling_shift_explorer(digit, sobel)
    """),
    md(r"""
    ## 1.5 From the Neocognitron to AlexNet

    The timeline below is drawn from the table `TIMELINE` in `cnnlib.widgets.history`.

    - **1980, Neocognitron.** Fukushima stacked layers of "S-cells" (simple: feature detectors
      with shared weights) and "C-cells" (complex: pooling). The architecture of a CNN is there,
      but the weights were set by a local, unsupervised rule, not by gradient descent.
    - **1986.** Backpropagation (rediscovered around 1985) made it practical to train every layer
      of a network from the error at its output.
    - **1989, LeNet-1.** LeCun and colleagues trained a convolutional network by backpropagation to
      read handwritten zip codes of the US postal service, about 7,300 training and 2,000 test
      digits, with strided convolutions and no separate pooling layers.
    - **1994, MNIST.** A cleaned benchmark of handwritten digits, $28 \times 28$ pixels, 60,000 for
      training and 10,000 for testing, the data set of this course.
    - **1998, LeNet-5.** Convolutions, subsampling, 60,000 parameters, state of the art on digits
      and deployed to read cheques.
    - **1998-2012.** Kernel methods and support vector machines worked well out of the box, had a
      clean theory and were cheap on moderate data sets. Vision systems computed **hand-designed
      features** (edges at many orientations, SIFT, HOG) and fed them to a linear classifier.
      Neural networks fell out of fashion.
    - **2007-2009.** NVIDIA's CUDA let graphics cards do general linear algebra, cheaply and in
      parallel; ImageNet collected over 14 million labelled images.
    - **2012, AlexNet.** Krizhevsky, Sutskever and Hinton won the ImageNet challenge (1,000 classes)
      with a deep CNN of about 60 million parameters, ReLUs, dropout and data augmentation, trained
      for five to six days on two GTX 580 GPUs.
    """),
    code("""
    draw_timeline()
    plt.show()
    """),
    md(r"""
    The **top-5 error** counts an image as wrong when the true class is not among the model's
    five best guesses. In 2010 the winner combined SIFT and LBP features with an SVM. In 2012 the
    runner-up still used hand-designed features (SIFT and others, encoded as Fisher vectors); the
    gap to AlexNet was larger than all the progress of the previous years.
    """),
    code("""
    draw_imagenet_results()
    plt.show()
    points, relative = top5_error_reduction(IMAGENET_TOP5["2012 AlexNet (CNN)"],
                                            IMAGENET_TOP5["2012 runner-up (SIFT + Fisher vectors)"])
    print(f"AlexNet: {points:.1f} percentage points lower, {relative:.0%} fewer errors than the runner-up")
    """),
    md(r"""
    **Why 2012, not 1998?** The network was not new: AlexNet is LeNet-5 made bigger and deeper,
    with ReLU instead of tanh, max instead of average pooling, and dropout. What changed was
    **data** (ImageNet is about a thousand times larger than MNIST, enough for 60 million
    parameters) and **compute** (convolutions are millions of independent multiply-adds, exactly
    what a GPU does). Network + data + compute.

    ### Exercise 2

    (a) The ILSVRC-2010 test set was also reported in the AlexNet paper: sparse coding 28.2%,
    SIFT + Fisher vectors 25.7%, the CNN 17.0% top-5 error. By how many percent did the CNN cut the
    errors of the best hand-designed method? (b) LeNet-1's zip-code data had about 7,300 training
    digits; ImageNet's challenge set has about 1.2 million training images. Why does the number of
    training images matter more for AlexNet than for LeNet?
    """),
    exercise_answer(r"""
    (a) $(25.7 - 17.0) / 25.7 \approx 34\%$ fewer errors. (b) The number of parameters a network can
    fit without memorising its training set grows with the data: LeNet-5 has about 60 thousand
    parameters, AlexNet about 60 million, a thousand times more. With 7,300 images AlexNet would
    memorise them; with 1.2 million images (and data augmentation) it generalises.
    """),
    md(r"""
    ## 1.6 Computer-vision tasks

    The same convolutional features serve many tasks; they differ in what comes out.

    | input | task | output |
    |---|---|---|
    """ + "\n    ".join(f"| {i} | {t} | {o} |" for i, t, o in VISION_TASKS) + r"""

    On a small scene made of two MNIST digits, the three most common tasks answer as follows.
    """),
    code("""
    pair = [int(np.flatnonzero(labels == 3)[0]), int(np.flatnonzero(labels == 7)[0])]
    scene = digit_scene(digits[pair], labels[pair], positions=[(4, 6), (22, 48)], canvas=(56, 84))
    print("classes:", scene["classes"])
    print("boxes (label, top, left, bottom, right):", scene["boxes"])
    draw_vision_tasks(scene)
    plt.show()
    """),
    md(r"""
    ## 1.7 Hand-designed versus learned features

    Between 1998 and 2012 the features came from people. HOG (the lecture "Image features and
    HOG") computes image gradients, votes them into orientation histograms per cell and
    normalises blocks of cells. It is a fixed pipeline: convolution with $[-1, 0, 1]$, a
    non-linearity (magnitude and angle), pooling over cells, normalisation. Here is one digit and
    its HOG picture, with $4 \times 4$ cells:
    """),
    code("""
    features, picture = hog(digit, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2),
                            visualize=True)
    fig, axes = plt.subplots(1, 2, figsize=(5.5, 2.8))
    axes[0].imshow(digit, cmap="gray")
    axes[0].set_title("digit")
    axes[1].imshow(picture, cmap="gray")
    axes[1].set_title(f"HOG: {features.size} numbers")
    for ax in axes:
        ax.axis("off")
    plt.show()
    """),
    md(r"""
    A CNN learns its first-layer kernels from the data instead. We train a very small one, eight
    $5 \times 5$ kernels, a ReLU, $2 \times 2$ max pooling and one linear layer, on 4,000 digits
    for three epochs (a few seconds), test it on the 1,000 digits it never saw, and draw the eight
    kernels. Nobody told the network about edges, yet several kernels look like oriented edge and
    stroke detectors, the simple cells of section 1.3.
    """),
    code("""
    X = to_nchw(images)                                        # (5000, 1, 28, 28) float32 in [0, 1]
    X_train, X_val, y_train, y_val = train_val_split(X, labels, val_fraction=0.2, seed=0)
    small_cnn = nn.Sequential(nn.Conv2d(1, 8, 5, seed=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(8 * 12 * 12, 10, seed=1))
    fit(small_cnn, X_train, y_train, epochs=3, batch_size=32, optimizer=Adam(small_cnn.parameters(), lr=2e-3),
        progress=False, verbose=False)
    val_loss, val_accuracy = evaluate(small_cnn, X_val, y_val)
    print(f"{nn.count_parameters(small_cnn):,} parameters; accuracy on 1,000 held-out digits: {val_accuracy:.3f}")
    plots.plot_filters(small_cnn, size=1.2)
    plt.show()
    """),
    md(r"""
    ### Exercise 3

    (a) The small CNN above has $8(25 + 1) + 10(8 \cdot 12 \cdot 12 + 1)$ parameters. Compute the
    number and compare it with logistic regression on the raw pixels ($7{,}850$). Where are most of
    the CNN's parameters? (b) In the pooling widget, which window makes the representation most
    tolerant to a 3-pixel shift, and what does the network lose in exchange?
    """),
    exercise_answer(r"""
    (a) $8 \cdot 26 = 208$ in the convolution and $10 \cdot 1{,}153 = 11{,}530$ in the linear layer:
    $11{,}738$ in total, 98% of them in the linear layer. The convolution, which does most of the
    work, is tiny because its weights are shared. (b) The largest window ($14 \times 14$): a shift
    that stays inside one window leaves the maximum unchanged. The price is resolution: after
    $14 \times 14$ pooling the network only knows in which quarter of the image an edge was, so it
    can no longer tell, for example, a 6 from a 9 by where the loop sits. CNNs therefore pool a
    little at a time, layer after layer, as the ventral stream does.
    """),
    md(r"""
    ### Exercise 4

    A complex cell pools simple cells of one orientation. Build one from the functions above: for
    a bar at $30^\circ$ (`bar_image(21, angle=30, offset=o)`), compare `cell_responses(..., angle=30)`
    for offsets $o = 0$ and $o = 4$. Then ask the cell tuned to $0^\circ$ about the same bars.
    """),
    exercise_answer(r"""
    ```python
    for o in (0, 4):
        tuned = cell_responses(bar_image(21, angle=30, offset=o), angle=30)
        other = cell_responses(bar_image(21, angle=30, offset=o), angle=0)
        print(o, round(tuned["simple"], 3), round(tuned["complex"], 3), round(other["complex"], 3))
    ```
    The tuned simple cell answers at offset 0 and falls silent at offset 4; the tuned complex cell
    answers at both. The cell tuned to $0^\circ$ responds much less to a $30^\circ$ bar wherever it is,
    as in the orientation-tuning plot.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
