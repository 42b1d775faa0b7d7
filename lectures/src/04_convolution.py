"""Builds lectures/04_convolution.ipynb (lecture 4: convolution nuts and bolts)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 4: Convolution nuts and bolts

    A convolutional layer slides a small kernel over the image and takes a dot product
    at every position. This lecture takes the operation apart: the definition, the
    output size, stride and padding, what typical kernels detect, and how it works
    with several channels.

    **What you will learn**

    - the signal-processing convolution and the "relaxed" convolution (cross-correlation) used in
      deep learning, in the notation $z[i, j] = \sum_{u,v} x[i+u, j+v]\, w[u, v]$ with a $K \times K$ kernel $w$;
    - the worked examples by hand: a $5 \times 5$ input with a $3 \times 3$ kernel, the bar image with the
      kernel $[-1\ 0\ 1]$, with padding and with stride 2, a $6 \times 6$ image with two filters;
    - the output size $\lfloor (n + 2p - K)/s \rfloor + 1$ for stride $s$ and padding $p$;
    - to read a feature map: which kernel made which output;
    - convolution as one matrix multiplication (im2col), which is how `cnnlib` computes it;
    - 1-D convolution: its definition, smoothing (box and Gaussian) and pattern matching; smoothing in 2-D;
    - multi-channel convolution, and why each output channel has a $C_\text{in} \times K \times K$ kernel.
    """),
    code(SETUP),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib.conv import conv2d_forward, conv_output_size, convolve2d, correlate2d, im2col
    from cnnlib.widgets.convolution import (KERNELS, bar_image, channel_contributions, convolution_explorer,
                                            correlate1d, demo_image, find_pattern, gaussian_kernel,
                                            kernel_quiz_widget, moving_average, smoothing_explorer)

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
    ## 4.1 Two definitions

    Notation for the whole course: the input image is $x$, the kernel (the weights) is $w$, of size
    $K \times K$, and the output is $z$; $u, v$ run over the kernel's rows and columns. In signal
    processing the 2-D **convolution** flips the kernel:
    $$z[i, j] = \sum_{u=-\infty}^{\infty}\sum_{v=-\infty}^{\infty} x[i - u,\, j - v]\; w[u, v].$$
    Flipping makes convolution commutative and associative, which matters for filter theory. Deep
    learning uses the **relaxed** version: drop the infinite sums (the kernel is zero outside
    $0 \dots K-1$) and do not flip. That is cross-correlation:
    $$z[i, j] = \sum_{u=0}^{K-1}\sum_{v=0}^{K-1} x[i + u,\, j + v]\; w[u, v].$$
    Since the kernel is learned, the flip does not matter: a network that needs the flipped kernel
    simply learns it. `cnnlib.conv` has both: `correlate2d` (what every layer computes) and
    `convolve2d` (kernel flipped).
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
    The relaxed definition is four loops: two over the output pixels, two over the kernel. Written
    exactly like the formula:
    """),
    code("""
    def conv_loops(x, w):
        K = w.shape[0]
        z = np.zeros((x.shape[0] - K + 1, x.shape[1] - K + 1))
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                for u in range(K):
                    for v in range(K):
                        z[i, j] += x[i + u, j + v] * w[u, v]
        return z

    print("loops agree with correlate2d:", np.allclose(conv_loops(image, kernel), correlate2d(image, kernel)))
    """),
    md(r"""
    ## 4.2 A worked example: 5x5 input, 3x3 kernel

    Slide the $3 \times 3$ kernel over the $5 \times 5$ input; every position gives one number, so the
    output is $3 \times 3$. The first one, by hand:
    $z[0,0] = 3\cdot0 + 3\cdot1 + 2\cdot2 + 0\cdot2 + 0\cdot2 + 1\cdot0 + 3\cdot0 + 1\cdot1 + 2\cdot2 = 12$.
    """),
    code("""
    x5 = np.array([[3, 3, 2, 1, 0],
                   [0, 0, 1, 3, 1],
                   [3, 1, 2, 2, 3],
                   [2, 0, 0, 2, 2],
                   [2, 0, 0, 0, 1]], dtype=float)
    w3 = np.array([[0, 1, 2],
                   [2, 2, 0],
                   [0, 1, 2]], dtype=float)
    z5 = correlate2d(x5, w3)
    print(z5)
    assert np.array_equal(z5, [[12, 12, 17], [10, 17, 19], [9, 6, 14]])
    assert np.array_equal(conv_loops(x5, w3), z5)
    """),
    md(r"""
    ## 4.3 Edges of a bar

    A $10 \times 10$ image, dark with a bright vertical bar (columns 3-6). The kernel with three rows
    $[-1\ 0\ 1]$ computes "right neighbour minus left neighbour", summed over three rows: $+3$ where
    the image gets brighter to the right (the bar's left edge), $-3$ where it gets darker (its right
    edge), 0 on flat regions. Every row of the $8 \times 8$ output is `0 3 3 0 0 -3 -3 0`.
    The Sobel kernels do the same with a smoothing weight $(1, 2, 1)$ across the edge; Sobel $y$
    looks for horizontal edges, and the bar has none.
    """),
    code("""
    bar = bar_image()                                    # 10x10, columns 3..6 are 1
    w_bar = np.array([[-1.0, 0.0, 1.0]] * 3)
    z_bar = correlate2d(bar, w_bar)
    print(bar.astype(int))
    print("valid, 8x8:\\n", z_bar.astype(int))
    assert np.array_equal(z_bar, np.tile([0, 3, 3, 0, 0, -3, -3, 0], (8, 1)))
    show([bar, z_bar, correlate2d(bar, KERNELS["Sobel x"]), correlate2d(bar, KERNELS["Sobel y"])],
         ["bar 10x10", "[-1 0 1] x 3 rows", "Sobel x", "Sobel y"], cmap="coolwarm")
    """),
    md(r"""
    The explorer below also offers a kernel called *vertical edge*: it is $[1\ 0\ -1]$, the same
    detector with the opposite sign (negative on the left edge, positive on the right).

    ## 4.4 Output size, padding and stride

    With an $n \times n$ input, a $K \times K$ kernel, **stride** $s$ (step between windows) and
    **padding** $p$ (rows and columns of zeros added around the border):
    $$n_\text{out} = \left\lfloor \frac{n + 2p - K}{s} \right\rfloor + 1.$$

    **Padding.** An $8 \times 8$ bar image, padded with one ring of zeros, gives an $8 \times 8$ output:
    "same" padding $p = (K-1)/2$ with stride 1 keeps the size. In the first and last rows the kernel's
    top or bottom row lies on the padding, so only two rows count: `0 2 2 0 0 -2 -2 0`.
    """),
    code("""
    bar8 = bar_image(8, left=2, width=4)
    z_pad = correlate2d(bar8, w_bar, pad=1)
    print(z_pad.astype(int))
    expected = np.tile([0, 3, 3, 0, 0, -3, -3, 0], (8, 1))
    expected[[0, -1]] = [0, 2, 2, 0, 0, -2, -2, 0]
    assert np.array_equal(z_pad, expected)
    """),
    md(r"""
    **Stride 2.** The $2 \times 2$ kernel with every entry $0.25$ averages a window; with stride 2 the
    windows do not overlap, and the $10 \times 10$ bar becomes $5 \times 5$:
    $\lfloor (10 - 2)/2 \rfloor + 1 = 5$. A window half on the bar gives 0.5.
    """),
    code("""
    z_stride = correlate2d(bar, np.full((2, 2), 0.25), stride=2)
    print(z_stride)
    assert np.array_equal(z_stride, np.tile([0, 0.5, 1, 0.5, 0], (5, 1)))
    for n, K, s, p in [(10, 3, 1, 0), (8, 3, 1, 1), (10, 2, 2, 0), (6, 3, 2, 0), (32, 5, 1, 0), (227, 11, 4, 0)]:
        print(f"n={n:3d} K={K:2d} stride={s} pad={p}:  output {conv_output_size(n, K, s, p)}")
    """),
    md(r"""
    **Two filters on a 6x6 image.** A binary $6 \times 6$ image and two $3 \times 3$ filters with entries
    $\pm 1$: filter 1 looks for a "\\" diagonal, filter 2 for a vertical line. With stride 1 each filter gives a
    $4 \times 4$ map, together a $2 \times 4 \times 4$ output: a filter bank turns one image into a stack
    of maps. The value 3 (all three diagonal pixels on, the others off) marks a perfect match. With
    stride 2 each map is $2 \times 2$.
    """),
    code("""
    x6 = np.array([[1, 0, 0, 0, 0, 1],
                   [0, 1, 0, 0, 1, 0],
                   [0, 0, 1, 1, 0, 0],
                   [1, 0, 0, 0, 1, 0],
                   [0, 1, 0, 0, 1, 0],
                   [0, 0, 1, 0, 1, 0]], dtype=float)
    filter1 = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    filter2 = np.array([[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]], dtype=float)
    maps, _ = conv2d_forward(x6[None, None], np.stack([filter1, filter2])[:, None], None)
    print("stride 1, output shape", maps.shape[1:], "\\nfilter 1:\\n", maps[0, 0], "\\nfilter 2:\\n", maps[0, 1])
    assert np.array_equal(maps[0, 0], [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]])
    assert np.array_equal(maps[0, 1], [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]])
    print("stride 2, filter 1:\\n", correlate2d(x6, filter1, stride=2))
    assert np.array_equal(correlate2d(x6, filter1, stride=2), [[3, -3], [-3, 0]])
    """),
    md(r"""
    ## 4.5 Explorer

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
    exercise_answer(r"""
    (a) $8 \times 8$, $\lfloor 7/2 \rfloor + 1 = 4$, so $4 \times 4$, and $\lfloor 7/3 \rfloor + 1 = 3$, so $3 \times 3$.
    (b) padding 1: $(10 + 2 - 3)/1 + 1 = 10$.
    (c) It is the identity kernel: every output pixel equals the input pixel under the
    kernel's centre, so the output is the image (cropped by one pixel at the border without padding).
    """),
    md(r"""
    ## 4.6 Which kernel made which output?

    Three kernels, one photograph, three outputs in shuffled order. Which kernel made Im1, Im2 and Im3?
    Decide before you open the answer.
    $$K_1 = \begin{bmatrix}-1&0&1\\-2&0&2\\-1&0&1\end{bmatrix},\quad
      K_2 = \begin{bmatrix}-1&-2&-1\\0&0&0\\1&2&1\end{bmatrix},\quad
      K_3 = \begin{bmatrix}0&0&-1&0\\0&-2&0&1\\-1&0&2&0\\0&1&0&0\end{bmatrix}$$
    """),
    code("""
    poll_kernels = {
        "K1": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
        "K2": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
        "K3": np.array([[0, 0, -1, 0], [0, -2, 0, 1], [-1, 0, 2, 0], [0, 1, 0, 0]], dtype=float),
    }
    photo = demo_image("photograph (64x64)")
    names = list(poll_kernels)
    shuffled = [names[k] for k in np.random.default_rng(2026).permutation(3)]
    poll_outputs = [correlate2d(photo, poll_kernels[name]) for name in shuffled]
    show([photo, *poll_outputs], ["input", "Im1", "Im2", "Im3"], cmap="gray", size=2.8)
    """),
    exercise_answer(r"""
    **Im1: $K_2$, Im2: $K_1$, Im3: $K_3$** (run `print(shuffled)` to check).

    $K_1$ (Sobel $x$) compares the columns right and left of a pixel: it lights up vertical edges
    (the tripod's legs, the man's coat against the sky). $K_2$ (Sobel $y$) compares the rows below and
    above: horizontal edges (the horizon, the shoulders). $K_3$ weighs pixels along the diagonals
    (its weights $-1, -2, -1$ lie on one anti-diagonal and $1, 2, 1$ on a parallel one: a Sobel
    kernel turned by $45^\circ$): it responds to
    edges running diagonally and its output looks thinner and more speckled. Bright and dark in each
    output are the two signs of an edge: from dark to bright or from bright to dark.
    """),
    md(r"""
    A second round with a widget: four kernels applied to a digit (*vertical edge*, *Sobel y*, *box blur 3x3*
    and *diagonal 4x4*, ones on the diagonal). Pick a kernel for each output and press **Check**.
    """),
    code("""
    kernel_quiz_widget()
    """),
    exercise_answer(r"""
    Look for the tell-tale signs: the box blur is a softer copy of the digit (all
    positive); the vertical-edge output is positive and negative along the left and right
    sides of vertical strokes; Sobel $y$ responds to the top and bottom of horizontal
    strokes; the diagonal kernel adds four pixels along a diagonal, so it smears the
    digit along the "\\" direction and is bright where strokes run that way. The
    widget grades your choices; `kernel_quiz(image, seed=0)` returns the answer key.
    """),
    md(r"""
    ## 4.7 Convolution as one matrix multiplication (im2col)

    Every output pixel is a dot product of the kernel with one window. Copy each window into a
    column of a matrix (**im2col**, "image to columns"): for the $5 \times 5$ example the windows are
    $3 \times 3$, so the matrix has $9$ rows and one column per output pixel, $9$ columns. The whole
    convolution is then one product: the kernel as a row vector times the matrix. A layer with $F$
    filters over $C$ channels multiplies an $F \times (C K K)$ weight matrix by a
    $(C K K) \times (N \cdot OH \cdot OW)$ matrix of windows for the whole batch: one large matrix
    multiplication, the operation BLAS libraries and GPUs do fastest. `cnnlib`'s
    `conv2d_forward` is built on such products.
    """),
    code("""
    cols = im2col(x5[None, None], 3)                     # (C*K*K, N*OH*OW) = (9, 9)
    print("im2col matrix", cols.shape, "\\nfirst column = first window:", cols[:, 0])
    z_matmul = (w3.reshape(1, -1) @ cols).reshape(3, 3)
    print(z_matmul)
    assert np.array_equal(z_matmul, z5)

    w_layer = np.stack([w3, w3.T])[:, None]               # F=2 filters, C=1: (2, 1, 3, 3)
    out, _ = conv2d_forward(x5[None, None], w_layer, None)
    assert np.allclose(out[0], (w_layer.reshape(2, -1) @ cols).reshape(2, 3, 3))
    print("conv2d_forward = weight matrix (2, 9) @ im2col (9, 9):", out.shape)
    """),
    md(r"""
    ## 4.8 One dimension

    A signal $x \in \mathbb{R}^d$ (audio, a time series) and a filter $w \in \mathbb{R}^k$ with $k \ll d$.
    The 1-D (relaxed) convolution is the vector of length $d - k + 1$
    $$u[i] = \sum_{j=0}^{k-1} x[i + j]\; w[j], \qquad i = 0, \dots, d - k.$$
    By hand: $x = (1, 2, 4, 7, 11)$ and $w = (-1, 0, 1)$ give $u = (4-1,\ 7-2,\ 11-4) = (3, 5, 7)$,
    a (two-step) derivative. A signal is a $1 \times d$ image, so `correlate1d` is `correlate2d` on one row.
    """),
    code("""
    u = correlate1d(np.array([1.0, 2.0, 4.0, 7.0, 11.0]), np.array([-1.0, 0.0, 1.0]))
    print(u)
    assert np.array_equal(u, [3, 5, 7])
    """),
    md(r"""
    **Smoothing.** The uniform (box) filter $w_j = 1/k$ replaces each sample by the mean of its
    neighbourhood, a moving average: the noise averages out, the slow sine stays. Drag the width.
    """),
    code("""
    smoothing_explorer()
    """),
    md(r"""
    The **Gaussian** filter weighs the neighbours by their distance from the centre $c = (k-1)/2$:
    $w_j \propto e^{-(j - c)^2/\sigma^2}$, normalised to sum 1. Near samples count most, so it
    smooths with fewer ripples than a box of similar width. Choose $k \gtrsim 2\sigma$ or wider, so that the
    filter contains the Gaussian's fall-off instead of cutting it.
    """),
    code("""
    def gaussian_1d(k, sigma):
        j = np.arange(k) - (k - 1) / 2
        w = np.exp(-j**2 / sigma**2)
        return w / w.sum()

    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 200)
    noisy = np.sin(t) + np.where(t > 2 * np.pi, 1.0, 0.0) + 0.3 * rng.standard_normal(t.size)
    k = 15
    plt.figure(figsize=(8, 2.8))
    plt.plot(t, noisy, color="0.75", linewidth=0.8, label="noisy signal")
    for name, w in [("uniform, k = 15", np.full(k, 1 / k)), ("Gaussian, k = 15, σ = 4", gaussian_1d(k, 4.0))]:
        plt.plot(t[(k - 1) // 2: -(k // 2)], correlate1d(noisy, w), label=name)
    plt.legend(fontsize=8)
    plt.show()
    print("Gaussian weights:", np.round(gaussian_1d(7, 2.0), 3))
    """),
    md(r"""
    **Pattern matching.** Correlation also finds a pattern: sliding the pattern along the signal, the
    dot product is largest where the signal looks most like the pattern (a *matched filter*). This
    is exactly what a kernel in the first layer of a network does with its input.
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
    **Frequency detection** is pattern matching with a pure tone. A sound is a sum of sines; correlating
    it with a short snippet of one frequency, and taking the local energy of the result, shows *when*
    that frequency is present (the idea behind spectrograms). Below, a 12 Hz tone plays during the
    first second and a 30 Hz tone during the second; one filter per frequency finds each.
    """),
    code("""
    rate = 400                                              # samples per second
    t2 = np.arange(2 * rate) / rate
    sound = np.where(t2 < 1, np.sin(2 * np.pi * 12 * t2), np.sin(2 * np.pi * 30 * t2))
    sound += 0.3 * np.random.default_rng(2).standard_normal(t2.size)
    fig, axes = plt.subplots(3, 1, figsize=(8, 4.5), sharex=True)
    axes[0].plot(t2, sound, linewidth=0.6)
    axes[0].set_title("12 Hz, then 30 Hz, plus noise")
    snippet = np.arange(100) / rate                         # a quarter of a second
    for ax, hz in zip(axes[1:], [12, 30]):
        response = correlate1d(sound, np.sin(2 * np.pi * hz * snippet))
        energy = correlate1d(response**2, np.full(50, 1 / 50))   # local energy: square, then smooth
        centre = (snippet.size - 1) // 2 + 49 // 2            # each value belongs to the middle of its windows
        ax.plot(t2[centre:centre + energy.size], energy)
        ax.set_title(f"energy of the correlation with a {hz} Hz snippet")
    axes[2].set_xlabel("time (s)")
    plt.tight_layout()
    plt.show()
    """),
    md(r"""
    ### Exercise 2: match the convolution

    The signal below (a step at sample 60 and a bump around sample 140) was convolved with three
    filters: **A** a uniform filter of width 9, **B** the difference $w = (-1, 0, 1)$, **C** the bump's
    own shape with its mean removed (a matched filter). The outputs are shuffled. Which filter made
    (i), (ii) and (iii)?
    """),
    code("""
    n = np.arange(200)
    bump = np.exp(-((np.arange(21) - 10) / 4.0) ** 2)
    clean = np.where(n >= 60, 1.0, 0.0)
    clean[130:151] += bump
    x1 = clean + 0.05 * np.random.default_rng(3).standard_normal(200)
    filters = {"A": np.full(9, 1 / 9), "B": np.array([-1.0, 0.0, 1.0]), "C": bump - bump.mean()}
    order = [list(filters)[k] for k in np.random.default_rng(7).permutation(3)]
    fig, axes = plt.subplots(4, 1, figsize=(8, 6), sharex=True)
    axes[0].plot(x1, color="black")
    axes[0].set_title("signal")
    for ax, label, name in zip(axes[1:], ["(i)", "(ii)", "(iii)"], order):
        ax.plot(correlate1d(x1, filters[name]))
        ax.set_title(label)
    plt.tight_layout()
    plt.show()
    """),
    exercise_answer(r"""
    **(i) A, (ii) C, (iii) B** (run `print(order)` to check).

    The uniform filter (A) gives a smoothed copy of the signal: a softened step and a lower, wider
    bump. The difference (B) is zero wherever the signal is flat and a spike where it jumps: one
    positive spike at the step, and a rise then a fall across the bump. The matched filter (C) has
    zero mean, so a flat stretch, high or low, gives 0; it peaks where the bump sits, dips beside it,
    and reacts more weakly to the step, which looks like half a bump.
    """),
    md(r"""
    ## 4.9 Smoothing in two dimensions

    The same filters in 2-D: uniform $w_{u,v} = 1/K^2$. A classic worked example: a $10 \times 10$
    image with a bright $5 \times 5$ square of value 90 (one dark pixel inside) and one stray bright
    pixel, filtered by the $3 \times 3$ box $\frac19 \mathbf{1}$. Every output is the mean of a
    window: 10 where one 90 is in the window, 90 deep inside the square.
    """),
    code("""
    square = np.zeros((10, 10))
    square[2:7, 3:8] = 90
    square[5, 4] = 0                                       # the dark pixel inside the square
    square[8, 2] = 90                                      # the stray bright pixel
    box = correlate2d(square, np.full((3, 3), 1 / 9))
    print(square.astype(int))
    print(box.round().astype(int))
    assert np.allclose(box[0], [0, 10, 20, 30, 30, 30, 20, 10])
    assert np.allclose(box[3], [0, 30, 50, 80, 80, 90, 60, 30])
    assert np.allclose(box[7], [10, 10, 10, 0, 0, 0, 0, 0])
    """),
    md(r"""
    And the Gaussian
    $w_{u,v} \propto e^{-((u - c)^2 + (v - c)^2)/\sigma^2}$. A larger filter smooths more; both remove
    most of the noise. The Canny edge detector (1986) starts with the $5 \times 5$ Gaussian
    $\frac{1}{159}[2\ 4\ 5\ 4\ 2;\ 4\ 9\ 12\ 9\ 4;\ 5\ 12\ 15\ 12\ 5;\ \dots]$, which is `gaussian_kernel(5, 1.4)`
    rounded to integers (cnnlib writes the exponent as $-r^2/2\sigma^2$, the statistics convention).
    """),
    code("""
    canny = np.array([[2, 4, 5, 4, 2], [4, 9, 12, 9, 4], [5, 12, 15, 12, 5], [4, 9, 12, 9, 4], [2, 4, 5, 4, 2]]) / 159
    print("largest difference between Canny's kernel and gaussian_kernel(5, 1.4):",
          round(float(np.abs(canny - gaussian_kernel(5, 1.4)).max()), 4))
    noisy_photo = photo + 0.15 * np.random.default_rng(0).standard_normal(photo.shape)
    show([noisy_photo, correlate2d(noisy_photo, np.full((5, 5), 1 / 25), pad=2),
          correlate2d(noisy_photo, gaussian_kernel(5, 1.4), pad=2),
          correlate2d(noisy_photo, gaussian_kernel(9, 2.5), pad=4)],
         ["noisy", "uniform 5x5", "Gaussian 5x5, σ=1.4", "Gaussian 9x9, σ=2.5"])
    """),
    md(r"""
    ## 4.10 Several channels

    A colour image has $C_\text{in} = 3$ channels, and a hidden layer has as many channels
    as the layer before had filters. A kernel therefore spans **all** input channels: it
    is a $C_\text{in} \times K \times K$ block, and output channel $f$ is
    $$z[f, i, j] = b_f + \sum_{c=1}^{C_\text{in}} \sum_{u=0}^{K-1}\sum_{v=0}^{K-1} x[c,\, i + u,\, j + v]\; w[f, c, u, v].$$
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
    ### Exercise 3

    A layer takes a $3 \times 64 \times 64$ image and has 16 filters of size $5 \times 5$, stride 1,
    padding 2. What is the shape of its weights, how many parameters does it have (with
    biases), and what is the output shape?
    """),
    exercise_answer(r"""
    Weights $(16, 3, 5, 5)$: $16 \cdot 3 \cdot 25 = 1{,}200$ weights plus 16 biases $= 1{,}216$ parameters.
    Output $16 \times 64 \times 64$, since $(64 + 4 - 5)/1 + 1 = 64$.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
