"""Builds lectures/02_convolution.ipynb (lecture 2: convolution nuts and bolts)."""
from _notebook import SETUP, answer, code, md, write

cells = [
    md(r"""
    # Lecture 2: Convolution nuts and bolts

    A convolutional layer slides a small kernel over the image and takes a dot product
    at every position. This lecture takes the operation apart: the definition, the
    output size, stride and padding, what typical kernels detect, and how it works
    with several channels.

    **What you will learn**

    - the signal-processing convolution and the "relaxed" convolution (cross-correlation) used in deep learning;
    - what vertical-edge and Sobel kernels do to a bar image;
    - the output size $\lfloor (n + 2p - k)/s \rfloor + 1$ for stride $s$ and padding $p$;
    - to read a feature map: which kernel made which output;
    - 1-D convolution for smoothing and for finding a pattern;
    - multi-channel convolution, and why each output channel has a $C_\text{in} \times K \times K$ kernel.
    """),
    code(SETUP),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib.conv import conv2d_forward, conv_output_size, convolve2d, correlate2d
    from cnnlib.widgets.convolution import (KERNELS, bar_image, channel_contributions, convolution_explorer,
                                            demo_image, find_pattern, kernel_quiz_widget, moving_average,
                                            smoothing_explorer)

    def show(images, titles, cmap="gray", size=2.6):
        fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size))
        for ax, image, title in zip(np.atleast_1d(axes), images, titles):
            ax.imshow(image, cmap=cmap)
            ax.set_title(title)
            ax.set_xticks([])
            ax.set_yticks([])
        plt.show()
    """),
    md(r"""
    ## 2.1 Two definitions

    In signal processing the 2-D **convolution** of an image $I$ with a kernel $K$ flips the kernel:
    $$(I * K)[i, j] = \sum_{m}\sum_{n} I[i - m,\, j - n]\; K[m, n].$$
    Flipping makes convolution commutative and associative, which matters for filter
    theory. Deep learning uses the **relaxed** version, cross-correlation, with no flip:
    $$(I \star K)[i, j] = \sum_{p=0}^{k-1}\sum_{q=0}^{k-1} I[i + p,\, j + q]\; K[p, q].$$
    Since the kernel is learned, the flip does not matter: a network that needs the
    flipped kernel simply learns it. `cnnlib.conv` has both: `correlate2d` (what every
    layer computes) and `convolve2d` (kernel flipped).
    """),
    code("""
    image = np.arange(16.0).reshape(4, 4)
    kernel = np.array([[1.0, 2.0], [0.0, -1.0]])
    print("correlate2d (no flip):\\n", correlate2d(image, kernel))
    print("convolve2d (flipped kernel):\\n", convolve2d(image, kernel))
    print("equal to correlating with the flipped kernel:",
          np.allclose(convolve2d(image, kernel), correlate2d(image, kernel[::-1, ::-1])))
    """),
    md(r"""
    ## 2.2 Edges of a bar

    A $10 \times 10$ image, dark with a bright vertical bar. The vertical-edge kernel
    $\begin{bmatrix}1 & 0 & -1\end{bmatrix}$ (three rows of it) answers "is it brighter on the
    left than on the right?": positive on the bar's right edge, negative on its left edge,
    zero on flat regions. The Sobel kernels do the same with a smoothing weight $(1, 2, 1)$
    across the edge; Sobel $y$ looks for horizontal edges, and the bar has none.
    """),
    code("""
    bar = bar_image()
    print(bar.astype(int))
    print("vertical edge:\\n", correlate2d(bar, KERNELS["vertical edge"]).astype(int))
    show([bar, correlate2d(bar, KERNELS["vertical edge"]), correlate2d(bar, KERNELS["Sobel x"]),
          correlate2d(bar, KERNELS["Sobel y"])],
         ["bar 10x10", "vertical edge", "Sobel x", "Sobel y"], cmap="coolwarm")
    """),
    md(r"""
    ## 2.3 Output size, stride and padding

    With an $n \times n$ input, a $k \times k$ kernel, **stride** $s$ (step between windows)
    and **padding** $p$ (zeros added around the border):
    $$n_\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1.$$
    "Same" padding $p = (k-1)/2$ with stride 1 keeps the size.
    """),
    code("""
    for n, k, s, p in [(10, 3, 1, 0), (10, 3, 1, 1), (10, 3, 2, 1), (32, 5, 1, 0), (227, 11, 4, 0)]:
        print(f"n={n:3d} k={k:2d} stride={s} pad={p}:  output {conv_output_size(n, k, s, p)}")
    """),
    md(r"""
    ## 2.4 Explorer

    Choose an image (the bar, a handwritten digit, a photograph from `skimage.data`) and a
    kernel, or type your own (one row per line). Change stride and padding and watch the
    output size. The **position** slider picks one output pixel: the red square on the
    input is its window, and the table shows window × kernel and the sum.
    """),
    code("""
    convolution_explorer()
    """),
    md(r"""
    ### Exercise 1

    In the explorer, set the image to the bar, the kernel to *vertical edge*, padding 0.
    (a) What is the output size for stride 1, 2 and 3? (b) Which padding keeps the output
    $10 \times 10$ at stride 1? (c) Type the kernel `0 0 0; 0 1 0; 0 0 0`: what does it do?
    """),
    answer(r"""
    (a) $8 \times 8$, $\lfloor 7/2 \rfloor + 1 = 4$, so $4 \times 4$, and $\lfloor 7/3 \rfloor + 1 = 3$, so $3 \times 3$.
    (b) padding 1: $(10 + 2 - 3)/1 + 1 = 10$.
    (c) It is the identity kernel: every output pixel equals the input pixel under the
    kernel's centre, so the output is the image (cropped by one pixel at the border without padding).
    """),
    md(r"""
    ## 2.5 Which kernel made which output?

    Four kernels were applied to the same digit: *vertical edge*, *Sobel y*, *box blur 3x3*
    and *diagonal 4x4* (ones on the diagonal). The outputs are shuffled. Pick a kernel for
    each output and press **Check**.
    """),
    code("""
    kernel_quiz_widget()
    """),
    answer(r"""
    Look for the tell-tale signs: the box blur is a softer copy of the digit (all
    positive); the vertical-edge output is positive and negative along the left and right
    sides of vertical strokes; Sobel $y$ responds to the top and bottom of horizontal
    strokes; the diagonal kernel adds four pixels along a diagonal, so it smears the
    digit along the "\\" direction and is bright where strokes run that way. The
    widget grades your choices; `kernel_quiz(image, seed=0)` returns the answer key.
    """),
    md(r"""
    ## 2.6 One dimension: smoothing and pattern matching

    A signal is a $1 \times N$ image. Convolving with a **box** kernel of width $w$ (all
    entries $1/w$) replaces each sample by the mean of its neighbourhood, a moving
    average: the noise averages out, the slow sine stays. Drag the width.
    """),
    code("""
    smoothing_explorer()
    """),
    md(r"""
    Correlation also **finds a pattern**: sliding the pattern along the signal, the dot
    product is largest where the signal looks most like the pattern (a *matched filter*).
    This is exactly what a kernel in the first layer of a network does with its input.
    """),
    code("""
    rng = np.random.default_rng(1)
    pattern = np.array([0.0, 1.0, 2.0, 1.0, 0.0, -1.0, -2.0, -1.0, 0.0])
    signal = 0.5 * rng.standard_normal(200)
    signal[120:129] += pattern
    start, scores = find_pattern(signal, pattern)
    fig, axes = plt.subplots(2, 1, figsize=(8, 4), sharex=True)
    axes[0].plot(signal)
    axes[0].axvspan(120, 128, color="tab:green", alpha=0.3, label="hidden pattern")
    axes[0].legend()
    axes[1].plot(scores, color="tab:red")
    axes[1].set_title(f"correlation with the pattern: peak at {start}")
    plt.tight_layout()
    plt.show()
    """),
    md(r"""
    ## 2.7 Several channels

    A colour image has $C_\text{in} = 3$ channels, and a hidden layer has as many channels
    as the layer before had filters. A kernel therefore spans **all** input channels: it
    is a $C_\text{in} \times K \times K$ block, and output channel $f$ is
    $$\text{out}[f, i, j] = b_f + \sum_{c=1}^{C_\text{in}} \sum_{p,q} x[c,\, i + p,\, j + q]\; w[f, c, p, q].$$
    Each input channel gets its own $K \times K$ slice, the results are **added**, so one
    filter gives one output channel. $C_\text{out}$ filters give $C_\text{out}$ channels, and the
    weights have shape $(C_\text{out}, C_\text{in}, K, K)$.
    """),
    code("""
    from skimage import data

    rgb = data.astronaut()[::8, ::8].astype(np.float64) / 255.0      # 64x64x3
    x = rgb.transpose(2, 0, 1)                                        # (C, H, W) = (3, 64, 64)
    w = np.stack([np.stack([KERNELS["Sobel x"]] * 3),                 # filter 0: edges in every channel
                  np.stack([KERNELS["box blur 3x3"], -KERNELS["box blur 3x3"], 0 * KERNELS["box blur 3x3"]])])
    print("x", x.shape, " w", w.shape, " (C_out, C_in, K, K)")
    out, _ = conv2d_forward(x[None], w, np.zeros(2))
    print("output", out.shape)

    parts = channel_contributions(x, w[1])
    print("sum of the per-channel maps equals output channel 1:", np.allclose(parts.sum(axis=0), out[0, 1]))
    show([rgb, *parts, out[0, 1]], ["image", "red * w[1,0]", "green * w[1,1]", "blue * w[1,2]", "sum = out[1]"],
         cmap="coolwarm", size=2.2)
    """),
    md(r"""
    ### Exercise 2

    A layer takes a $3 \times 64 \times 64$ image and has 16 filters of size $5 \times 5$, stride 1,
    padding 2. What is the shape of its weights, how many parameters does it have (with
    biases), and what is the output shape?
    """),
    answer(r"""
    Weights $(16, 3, 5, 5)$: $16 \cdot 3 \cdot 25 = 1{,}200$ weights plus 16 biases $= 1{,}216$ parameters.
    Output $16 \times 64 \times 64$, since $(64 + 4 - 5)/1 + 1 = 64$.
    """),
]

if __name__ == "__main__":
    print(write("02_convolution", cells))
