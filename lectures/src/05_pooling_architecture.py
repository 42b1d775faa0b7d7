"""Builds lectures/05_pooling_architecture.ipynb (lecture 5: pooling and CNN architecture)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 5: Pooling and CNN architecture

    Convolutions find local patterns; **pooling** summarises them over small regions, so
    the maps shrink and later layers see more of the image. Stacking the two gives the
    classic architectures, LeNet-5 and AlexNet. Most of the design is bookkeeping of
    shapes and parameters, and this lecture practises it.

    **What you will learn**

    - max, average and L2 pooling, with the lecture's $4 \times 4$ example;
    - the receptive field of a unit, and how it grows with depth and stride;
    - why convolutions need far fewer parameters than fully connected layers (a $200 \times 200$ image);
    - LeNet-5 layer by layer: shapes, parameters, the sparse S2 → C3 connections;
    - AlexNet's table, and how to compute any such table yourself.
    """),
    code(SETUP),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib import nn
    from cnnlib.models import lenet5, LENET5_C3_TABLE
    from cnnlib.widgets.architecture import (NETWORKS, architecture_explorer, build_network, conv_parameters,
                                             fc_vs_conv_parameters, shape_table, table_html)
    from cnnlib.widgets.pooling import (LECTURE_EXAMPLE, pool2d, pooling_explorer, receptive_field,
                                        receptive_field_explorer)
    from IPython.display import HTML, display
    """),
    md(r"""
    ## 5.1 Pooling

    A pooling layer slides a window (usually $2 \times 2$ with stride 2) over each channel
    on its own and keeps one number per window:

    - **max pooling**: the largest value, "is the feature present somewhere here?";
    - **average pooling**: the mean;
    - **L2 pooling**: $\sqrt{\sum x^2}$ over the window.

    Pooling has **no parameters**, keeps the number of channels, and shrinks height and
    width: $n_\text{out} = \lfloor (n - K)/s \rfloor + 1$ for a $K \times K$ window and stride $s$.
    A small shift of the input often leaves the max unchanged, which gives some invariance to
    translation.
    """),
    code("""
    print(LECTURE_EXAMPLE)
    for mode in ["max", "average", "L2"]:
        print(f"{mode} pooling 2x2, stride 2:\\n", np.round(pool2d(LECTURE_EXAMPLE, mode, 2, 2), 3))
    """),
    md(r"""
    Pooling can also run **over features** instead of over space: L2 pooling over a group of
    neighbouring channels $N(j)$ gives $h_j(x, y) = \sqrt{\sum_{k \in N(j)} h_k(x, y)^2}$ at every pixel.
    Two maps that detect the same edge with opposite signs (or at two nearby angles) pool into one
    map that responds to either, a small step towards invariance to the feature's exact form.
    """),
    code("""
    maps = np.stack([LECTURE_EXAMPLE, -LECTURE_EXAMPLE, np.ones((4, 4)), np.zeros((4, 4))])   # 4 channels
    over_features = np.sqrt((maps.reshape(2, 2, 4, 4) ** 2).sum(axis=1))     # channel groups {0, 1}, {2, 3}
    print("L2 pooling over channels {0, 1}:\\n", np.round(over_features[0], 3))
    assert np.allclose(over_features[0], np.sqrt(2) * LECTURE_EXAMPLE) and np.allclose(over_features[1], 1)
    """),
    md(r"""
    Explore: change the pooling type, window and stride, and move the **position**
    slider to see which window produced which output value. Try overlapping windows
    (window 3, stride 2, as in AlexNet) and a real digit.
    """),
    code("""
    pooling_explorer()
    """),
    md(r"""
    ### Exercise 1

    Max-pool the lecture's $4 \times 4$ example with a $2 \times 2$ window and **stride 1**.
    What is the output? During backpropagation, which input entries receive a gradient?
    """),
    exercise_answer(r"""
    The output is $3 \times 3$:
    $\begin{bmatrix} 6 & 7 & 8 \\ 6 & 7 & 8 \\ 3 & 3 & 4 \end{bmatrix}$.
    Max routes: only the arg-max of each window gets gradient. Here those are the 6, the 7,
    the 8 (each twice, the contributions add), the 3 at row 2, column 0 and the 3 at row 3,
    column 2 (each once) and the 4 at the bottom right; every other entry gets 0.
    `pool2d(LECTURE_EXAMPLE, "max", 2, 1)` confirms the output.
    """),
    md(r"""
    ## 5.2 Receptive fields

    The **receptive field** of a unit is the patch of the input image it depends on. A
    $K \times K$ layer widens it by $(K - 1)$ times the **jump** $j$ (the distance in input
    pixels between neighbouring units), and a stride multiplies the jump:
    $$r_\ell = r_{\ell-1} + (K_\ell - 1)\, j_{\ell-1}, \qquad j_\ell = j_{\ell-1}\, s_\ell, \qquad r_0 = j_0 = 1.$$
    Three $3 \times 3$ convolutions see $7 \times 7$, like one $7 \times 7$ convolution but with fewer
    weights ($3 \cdot 9 C^2 = 27 C^2$ instead of $49 C^2$) and more non-linearities.
    """),
    code("""
    lenet_layers = [(5, 1), (2, 2), (5, 1), (2, 2)]          # C1, S2, C3, S4 as (kernel, stride)
    for name, (r, j) in zip(["C1", "S2", "C3", "S4"], receptive_field(lenet_layers)):
        print(f"after {name}: receptive field {r}x{r}, jump {j}")
    receptive_field_explorer()
    """),
    md(r"""
    ## 5.3 Fully connected versus convolutional

    Take a $200 \times 200$ grey image and a hidden layer of the same size, $40{,}000$ units.

    - **Fully connected**: every unit sees every pixel: $40{,}000^2 = 1.6$ billion weights.
    - **Locally connected**, $10 \times 10$ fields: each unit has its own 100 weights: $4$ million.
    - **Convolutional**: all units *share* the same $10 \times 10$ kernel: 100 weights; with
      100 different kernels (100 feature maps), $10{,}000$ weights. With $5 \times 5$ kernels and
      100 maps: $2{,}500$ weights.

    The same bookkeeping for a $28 \times 28$ digit and $n_1$ filters of $5 \times 5$: the convolutional
    layer has $25\, n_1$ weights, while a fully connected layer that produces the same $n_1$ maps of
    $24 \times 24$ from all $28 \times 28$ pixels needs $28 \cdot 28 \cdot 24 \cdot 24 \cdot n_1 = 451{,}584\, n_1$.

    Locality (a unit looks at a small patch) and weight sharing (the same feature detector
    everywhere) are the two ideas that make convolutional networks trainable.
    """),
    code("""
    for field in (10, 5):
        print(f"receptive field {field}x{field}, 100 feature maps:")
        for name, count in fc_vs_conv_parameters(200, 200, field=field, filters=100).items():
            print(f"  {name:24s} {count:>15,}")
    print(f"28x28 digit, 5x5 filters: {5 * 5} weights per map convolutional, {28 * 28 * 24 * 24:,} fully connected")
    """),
    md(r"""
    ## 5.4 LeNet-5

    LeCun et al. (1998) read $32 \times 32$ digits with seven layers. For a convolution with
    $C_\text{in}$ input channels, $C_\text{out}$ filters of $K \times K$:
    parameters $= C_\text{out}(C_\text{in} K^2 + 1)$.

    | layer | output | parameters |
    |---|---|---|
    | input | $1 \times 32 \times 32$ | |
    | C1: 6 conv $5\times5$ | $6 \times 28 \times 28$ | $6 (25 + 1) = 156$ |
    | S2: subsampling $2\times2$ | $6 \times 14 \times 14$ | $12$ (a weight and a bias per map) |
    | C3: 16 conv $5\times5$ | $16 \times 10 \times 10$ | $1{,}516$ (sparse table; $2{,}416$ if fully connected) |
    | S4: subsampling $2\times2$ | $16 \times 5 \times 5$ | $32$ |
    | C5: 120 conv $5\times5$ | $120 \times 1 \times 1$ | $120 (400 + 1) = 48{,}120$ |
    | F6: fully connected | $84$ | $84 (120 + 1) = 10{,}164$ |
    | output | $10$ | |

    Connecting every S2 map to every C3 map would need $16 \times 6 \times 5 \times 5 = 2{,}400$
    weights. LeCun connected each C3 map to only 3, 4 or 6 of the S2 maps (60 of the 96
    pairs), which saves weights and forces the maps to differ: $60 \cdot 25 + 16 = 1{,}516$.
    """),
    code("""
    print("S2 -> C3 fully connected:", conv_parameters(6, 16, 5, bias=False), "weights")
    print("connected pairs in LeCun's table:", LENET5_C3_TABLE.sum(), "->", LENET5_C3_TABLE.sum() * 25 + 16, "parameters")
    plt.figure(figsize=(5, 2.2))
    plt.imshow(LENET5_C3_TABLE.T, cmap="Greys")
    plt.xlabel("C3 map")
    plt.ylabel("S2 map")
    plt.title("which S2 maps feed which C3 map")
    plt.show()
    print(nn.summary(lenet5("classic"), (1, 32, 32)))
    """),
    md(r"""
    Today's LeNet-5 uses ReLU, max pooling and full connections; `cnnlib.models.lenet5("modern")`
    has $61{,}706$ parameters. The same network written in the explorer's layer notation
    gives the same table from the formulas alone:
    """),
    code("""
    print(nn.summary(lenet5("modern"), (1, 32, 32)))
    text, shape = NETWORKS["LeNet-5 (modern)"]
    rows, total = shape_table(text, shape)
    display(HTML(table_html(rows, total, shape)))
    """),
    md(r"""
    ## 5.5 AlexNet

    Krizhevsky, Sutskever and Hinton (2012) won ImageNet with five convolutional and three
    fully connected layers, ReLUs, overlapping max pooling ($3 \times 3$, stride 2), dropout and
    two GPUs. With a $3 \times 227 \times 227$ input and the layers as one tower (the paper split
    conv2, conv4 and conv5 across the GPUs, which halves their weights):
    """),
    code("""
    text, shape = NETWORKS["AlexNet"]
    rows, total = shape_table(text, shape)
    display(HTML(table_html(rows, total, shape)))
    fc = sum(r["params"] for r in rows if r["name"].startswith("fc"))
    print(f"fully connected layers: {fc:,} of {total:,} parameters ({fc / total:.0%})")
    """),
    md(r"""
    Nearly all parameters sit in the fully connected layers, while nearly all the
    computation happens in the convolutions, which apply few weights at many positions.

    ## 5.6 Build your own

    Write a network one layer per line (`conv OUT K [stride=S] [pad=P]`, `maxpool K`,
    `avgpool K`, `relu`, `flatten`, `linear OUT`, optionally `name:` in front), set the
    input size and channels, and read each layer's output shape and parameter count.
    Mistakes, such as a kernel larger than its input, are reported without losing your text.
    """),
    code("""
    architecture_explorer()
    """),
    md(r"""
    ### Exercise 2

    For a $1 \times 28 \times 28$ MNIST digit, design a network with two convolution + max-pool
    stages and at most $10{,}000$ parameters that ends in 10 outputs. Check it in the explorer,
    then build it with `build_network(text, (1, 28, 28))` and compare with `nn.summary`.
    """),
    exercise_answer(r"""
    One solution, the explorer's `"small CNN"` preset, $9{,}098$ parameters:

    ```
    conv 8 3 pad=1      # 8·(9+1) = 80,          8x28x28
    relu
    maxpool 2           #                        8x14x14
    conv 16 3 pad=1     # 16·(72+1) = 1,168,     16x14x14
    relu
    maxpool 2           #                        16x7x7
    flatten             # 784
    linear 10           # 10·(784+1) = 7,850
    ```
    The last layer holds most of the parameters. A third stage (`conv 16 3`, `relu`,
    `maxpool 2` before `flatten`) shrinks the map to $16 \times 2 \times 2$ and the total to
    $80 + 1{,}168 + 2{,}320 + 650 = 4{,}218$: the cell below builds it.
    """),
    code("""
    text = "conv 8 3 pad=1\\nrelu\\nmaxpool 2\\nconv 16 3 pad=1\\nrelu\\nmaxpool 2\\nconv 16 3\\nrelu\\nmaxpool 2\\nflatten\\nlinear 10"
    model = build_network(text, (1, 28, 28))
    print(nn.summary(model, (1, 28, 28)))
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
