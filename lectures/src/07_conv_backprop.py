"""Builds lectures/07_conv_backprop.ipynb (lecture 7: backprop through convolution and pooling)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 7: Backpropagation through convolution and pooling

    A convolution layer is a sum of products, so its backward pass follows from the gate
    patterns of lecture 3: *multiply swaps*, *add distributes*, and a value used in several
    places *adds up* its gradients. Worked out for a whole layer, the result is again a
    convolution.

    **What you will learn**

    - the forward pass of the lecture's example (3x3 input, 2x2 kernel, padding 1) written symbol by symbol;
    - $\partial L/\partial w$ = the padded input **correlated** with the upstream gradient $g = \partial L/\partial z$;
    - $\partial L/\partial x$ = $g$ **fully convolved** with the kernel (a correlation with the flipped kernel);
    - how max-pooling routes the gradient to the winner of each window;
    - how to check every formula with numerical gradients (`cnnlib.gradcheck`).
    """),
    code(SETUP),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib import functional as F
    from cnnlib.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
    from cnnlib.widgets.conv_backprop import conv_backprop_explorer, conv_terms, format_terms, gradient_terms
    """),
    md(r"""
    ## 7.1 The example, symbol by symbol

    Input $x$ is $3\times3$, kernel $w$ is $2\times2$, padding 1: $x_\text{pad}$ is $5\times5$ and the
    output $z$ is $(3 + 2\cdot1 - 2 + 1)^2 = 4\times4$, with (stride 1, the "relaxed" convolution
    of lecture 4, no flip)

    $$z[i, j] = \sum_{u=0}^{1}\sum_{v=0}^{1} x_\text{pad}[i+u,\, j+v]\; w[u, v].$$

    Written out, every output is a short sum; the border outputs see padding zeros.
    """),
    code("""
    terms = conv_terms(in_shape=(3, 3), kernel_shape=(2, 2), pad=1)
    for position, row in terms.items():
        print(format_terms(position, row))
    """),
    md(r"""
    Now some numbers, the same as in the assignment `conv_backprop` (Part 2). `F.correlate2d`
    computes the same 16 sums.
    """),
    code("""
    x = np.array([[1.0, 2.0, 0.0],
                  [3.0, -1.0, 2.0],
                  [0.0, 1.0, 1.0]])
    w = np.array([[1.0, -1.0],
                  [2.0, 0.0]])
    z = F.correlate2d(x, w, pad=1)
    print(z)

    # the symbolic sums give the same numbers
    z_from_terms = np.zeros((4, 4))
    for (i, j), row in terms.items():
        z_from_terms[i, j] = sum(x[r] * w[uv] for r, uv in row if r is not None)
    assert np.allclose(z, z_from_terms)
    """),
    md(r"""
    ## 7.2 The gradient with respect to the weights

    Let the loss be $L$ and the upstream gradient $g = \partial L/\partial z$ (a $4\times4$ array).
    The weight $w[u, v]$ is used in **every** output (it is shared), so its gradient adds up one
    term per output: multiply swaps, so each term is $g[i, j]$ times the input it met,

    $$\frac{\partial L}{\partial w[u, v]} = \sum_{i, j} g[i, j]\; x_\text{pad}[i+u,\, j+v].$$

    That is a correlation: $g$ slides over $x_\text{pad}$ like a $4\times4$ kernel,
    `correlate2d(x_pad, g)`. Padding zeros contribute nothing, so the printed sums skip them.
    """),
    code("""
    dx_terms, dw_terms = gradient_terms((3, 3), (2, 2), pad=1)
    for position, row in dw_terms.items():
        print(format_terms(position, row, kind="dw"))

    g = np.array([[1.0, 0.0, 0.0, 1.0],
                  [0.0, 2.0, 0.0, 0.0],
                  [0.0, 0.0, -1.0, 0.0],
                  [1.0, 0.0, 0.0, 1.0]])
    x_pad = np.pad(x, 1)
    dw = F.correlate2d(x_pad, g)
    print("dL/dw =\\n", dw)
    assert np.array_equal(dw, [[4, 2], [5, -2]])
    """),
    md(r"""
    **Check it numerically.** Take $L = \sum_{i,j} g[i,j]\, z[i,j]$, so that $\partial L/\partial z = g$
    exactly, and compare with central differences $\big(L(w + h e_k) - L(w - h e_k)\big)/2h$.
    """),
    code("""
    def loss(x, w):
        return np.sum(g * F.correlate2d(x, w, pad=1))

    dw_numerical = numerical_gradient(lambda w_: loss(x, w_), w.copy())
    print("numerical dL/dw =\\n", dw_numerical)
    print("relative error:", rel_error(dw, dw_numerical))
    """),
    md(r"""
    ## 7.3 The gradient with respect to the input: a full convolution

    The pixel $x_\text{pad}[r, t]$ meets $w[u, v]$ in output $z[r-u,\, t-v]$ (when that output
    exists), so

    $$\frac{\partial L}{\partial x_\text{pad}[r, t]} = \sum_{u, v} g[r-u,\, t-v]\; w[u, v].$$

    The indices of $g$ *decrease* while those of $w$ increase: that is a **true convolution**
    (lecture 4's signal-processing definition), of $g$ with $w$, in "full" mode: pad $g$ with
    $K-1 = 1$ zeros so that every overlap counts. Equivalently: correlate the padded $g$ with the
    **flipped** kernel $w[::-1, ::-1]$. The result is $5\times5$ (the shape of $x_\text{pad}$); the
    padding zeros are not inputs, so we cut the border off.
    """),
    code("""
    for position, row in list(dx_terms.items())[:3]:
        print(format_terms(position, row, kind="dx"))
    print("...")

    dx_pad = F.convolve2d(g, w, pad=1)                    # full convolution, 5x5
    dx = dx_pad[1:-1, 1:-1]
    same = F.correlate2d(np.pad(g, 1), w[::-1, ::-1])[1:-1, 1:-1]
    dx_numerical = numerical_gradient(lambda x_: loss(x_, w), x.copy())
    print("dL/dx =\\n", dx)
    assert np.array_equal(dx, [[2, -2, 2], [4, -1, 1], [-1, -2, 1]])
    print("flipped-kernel correlation agrees:", np.allclose(dx, same))
    print("relative error vs numerical:", rel_error(dx, dx_numerical))
    """),
    md(r"""
    **Which inputs and weights receive gradient from one output?** Move the slider over the 16
    outputs. The upstream gradient is 1 at the chosen $z[i, j]$ and 0 elsewhere. Then
    $\partial L/\partial w$ is exactly the window of $x_\text{pad}$ under the kernel, and
    $\partial L/\partial x$ holds the weights, placed where they met the input (in the padding they
    are lost).
    """),
    code("""
    conv_backprop_explorer(x, w, pad=1)
    """),
    md(r"""
    ## 7.4 The layer: batches, channels, stride

    `F.conv2d_backward` does the same for a whole layer: $x$ of shape $(N, C, H, W)$, $w$ of shape
    $(F, C, K, K)$, a bias per filter ($\partial L/\partial b[f] = \sum_{n,i,j} g[n, f, i, j]$). We check all three
    gradients against `numerical_gradient_array` on a small random layer with stride 2.
    """),
    code("""
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((2, 3, 7, 7))
    wb = rng.standard_normal((4, 3, 3, 3))
    bb = rng.standard_normal(4)
    out, cache = F.conv2d_forward(xb, wb, bb, stride=2, pad=1)
    dout = rng.standard_normal(out.shape)
    dxb, dwb, dbb = F.conv2d_backward(dout, cache)

    def forward(x_=xb, w_=wb, b_=bb):
        return F.conv2d_forward(x_, w_, b_, stride=2, pad=1)[0]

    print("output shape:", out.shape)
    print("dx error:", rel_error(dxb, numerical_gradient_array(lambda v: forward(x_=v), xb.copy(), dout)))
    print("dw error:", rel_error(dwb, numerical_gradient_array(lambda v: forward(w_=v), wb.copy(), dout)))
    print("db error:", rel_error(dbb, numerical_gradient_array(lambda v: forward(b_=v), bb.copy(), dout)))
    """),
    md(r"""
    ## 7.5 Max-pooling routes the gradient

    $\max$ is a router: the output of a window equals one of its inputs, so the gradient goes to
    that input alone (the *argmax*) and the others get 0. The lecture's $4\times4$ example with
    $2\times2$ windows, stride 2:
    """),
    code("""
    a = np.array([[1.0, 1.0, 2.0, 4.0],
                  [5.0, 6.0, 7.0, 8.0],
                  [3.0, 2.0, 1.0, 0.0],
                  [1.0, 2.0, 3.0, 4.0]])
    pooled, pool_cache = F.maxpool2d_forward(a[None, None], size=2, stride=2)
    print("max-pool:\\n", pooled[0, 0])
    upstream = np.array([[10.0, 20.0], [30.0, 40.0]])
    da = F.maxpool2d_backward(upstream[None, None], pool_cache)[0, 0]
    print("gradient routed to the winners:\\n", da)

    da_numerical = numerical_gradient_array(
        lambda v: F.maxpool2d_forward(v, size=2, stride=2)[0], a[None, None].copy(), upstream[None, None])
    print("relative error:", rel_error(da, da_numerical[0, 0]))

    fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
    for ax, picture, title in zip(axes, [a, pooled[0, 0], da], ["input", "max-pooled", "gradient"]):
        ax.imshow(picture, cmap="viridis")
        for (r, c), value in np.ndenumerate(picture):
            ax.text(c, r, f"{value:g}", ha="center", va="center", color="white")
        ax.set_title(title)
        ax.axis("off")
    plt.show()
    """),
    md(r"""
    Average pooling instead *distributes*: each of the 4 inputs of a window gets a quarter of the
    window's gradient.
    """),
    code("""
    averaged, avg_cache = F.avgpool2d_forward(a[None, None], size=2, stride=2)
    print(F.avgpool2d_backward(upstream[None, None], avg_cache)[0, 0])
    """),
    md(r"""
    ## Exercises

    1. In the example of 7.1, every input pixel $x[r, t]$ appears in how many outputs? What does
       that tell you about the number of terms in each $\partial L/\partial x[r, t]$?
    2. Work out $\partial L/\partial w[0, 0]$ by hand for the $x$ and $g$ above, using the printed
       formula, and compare with `dw[0, 0]`.
    3. Why does $\partial L/\partial w$ have the shape of $w$ although it is computed by a correlation
       with a $4\times4$ "kernel" $g$?
    4. In 7.5, what would happen to the gradient if a window had two equal maxima?
    5. With stride 2, how would you write $\partial L/\partial x$ as a full convolution?
    """),
    exercise_answer(r"""
    1. Four: with padding 1 a $2\times2$ kernel covers each real pixel in 4 positions. So each
       $\partial L/\partial x[r, t]$ is a sum of 4 terms $g[i,j]\,w[u,v]$, one per weight.
    2. $\partial L/\partial w[0,0] = \sum g[i,j]\, x_\text{pad}[i, j]$ with $x_\text{pad}[i, j] = x[i-1, j-1]$.
       The non-zero entries of $g$ at $(0,0)$, $(0,3)$ and $(3,0)$ meet padding zeros; the others give
       $g[1,1]x[0,0] + g[2,2]x[1,1] + g[3,3]x[2,2] = 2\cdot1 + (-1)(-1) + 1\cdot1 = 4$
       (with the numbers of 7.1 and 7.2; `dw[0, 0]` prints $4$).
    3. A "valid" correlation of a $5\times5$ array with a $4\times4$ one has
       $(5 - 4 + 1)^2 = 2\times2$ positions: one per weight.
    4. The forward pass picks one of them (cnnlib: the first in row-major order), and the whole
       gradient goes there; the other gets 0. Numerically the max is not differentiable at a tie,
       so gradient checks avoid ties.
    5. Put $s - 1 = 1$ zeros between the entries of $g$ (dilate it), then fully convolve with $w$
       and crop the padding, as for stride 1.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
