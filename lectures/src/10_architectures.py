"""Builds lectures/10_architectures.ipynb (lecture 10: AlexNet, VGG, Inception, ResNet, DenseNet, AlphaGo)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 10: Architectures after LeNet

    LeNet-5 read $32 \times 32$ digits with 60 thousand parameters. Fourteen years later AlexNet read
    $224 \times 224$ photographs of a thousand kinds of objects with 60 million, and won ImageNet 2012
    by a wide margin. The networks that followed won by being deeper, and each had to solve a problem
    that depth creates: too many parameters (VGG's small kernels), too much computation (Inception's
    $1 \times 1$ bottlenecks), and gradients that no longer reach the first layers (ResNet's shortcuts).
    This lecture builds these networks, or their building blocks, with `cnnlib` and counts what they
    cost; a last experiment trains a plain and a residual network of the same depth.

    **What you will learn**

    - AlexNet's recipe (ReLU, dropout, augmentation, two GPUs) and its layer table, with parameters and
      multiply-adds counted by `cnnlib` from a model with AlexNet's layer sizes;
    - why VGG uses only $3 \times 3$ kernels: two of them see $5 \times 5$, three see $7 \times 7$, with
      fewer parameters and more non-linearities;
    - $1 \times 1$ convolutions as bottlenecks in Inception, and the multiply-adds they save;
    - the residual block, and why the gradient flows through its shortcut (a short derivation);
    - DenseNet's idea of feeding every layer all earlier feature maps;
    - AlphaGo's policy network as a parameter count;
    - a plain and a residual network of the same depth on digits: gradient norms at initialisation and
      training curves.
    """),
    code(SETUP),
    code("""
    import time

    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib import nn
    from cnnlib.data import load_mnist, train_val_split
    from cnnlib.models import lenet5, resnet_mini, vgg_mini
    from cnnlib.optim import SGD
    from cnnlib.widgets.architectures import (INCEPTION_3A, alexnet, alphago_policy, bottleneck_cost,
                                              bottleneck_explorer, conv_cost, deep_mlp, dense_block,
                                              gradient_norms, inception_cost, layer_costs, stack_vs_single,
                                              stacked_conv_explorer)
    from cnnlib.widgets.pooling import receptive_field
    from cnnlib.widgets.toolkit import plot_runs, train_run

    start_of_lecture = time.perf_counter()
    """),
    md(r"""
    ## 10.1 AlexNet (2012)

    Krizhevsky, Sutskever and Hinton trained an 8-layer network (5 convolutional, 3 fully connected,
    not counting pooling) on the 1.2 million labelled images of ImageNet. On the 2012 challenge it
    reached a top-5 error of 15.3%, against 26.2% for the best entry built on hand-designed features.
    The architecture was LeNet's, made larger; what made it trainable was a recipe:

    - **ReLU** instead of tanh: no saturation, so gradients pass and training ran several times faster;
    - **dropout 0.5** in the two large fully connected layers (lecture "Training toolkit");
    - **data augmentation**: random $224 \times 224$ crops of $256 \times 256$ images, horizontal flips and
      colour changes, which multiply the training set many times over;
    - **two GTX 580 GPUs** with 3 GB each, for five to six days; the network was split between them;
    - local response normalisation ("norm layers", since replaced by batch normalisation), overlapping
      max-pooling ($3 \times 3$ windows, stride 2);
    - SGD with momentum 0.9, batches of 128, learning rate $10^{-2}$, weight decay $5 \cdot 10^{-4}$.

    Here is a `cnnlib` model with AlexNet's layer sizes. Building it allocates its 62 million weights
    (about 250 MB in float32) but trains nothing; `nn.summary` then runs one image through it to get the
    shapes. (The first layer's $11 \times 11$ kernels with stride 4 need a $227 \times 227$ input to give
    the paper's $55 \times 55$ maps.)
    """),
    code("""
    alex = alexnet()
    print(nn.summary(alex, (3, 227, 227)))
    """),
    md(r"""
    The parameters follow from lecture 5's rules: a convolution has $F(C K^2 + 1)$ parameters, e.g.
    conv1 $96 (3 \cdot 11^2 + 1) = 34{,}944$; a linear layer $n_\text{out}(n_\text{in} + 1)$, e.g. fc6
    $4096 (256 \cdot 6 \cdot 6 + 1) = 37{,}752{,}832$. The total, 62.4 million, is the figure usually
    quoted (the original's split across two GPUs, where some layers see only half of the channels,
    gives about 61 million).

    Parameters are one cost; computation is the other. A convolution reuses every weight at every
    output position, so its **multiply-adds** are the weights times the output positions,
    $H' W' \cdot F C K^2$; a linear layer does one multiply-add per weight. `layer_costs` counts both:
    """),
    code("""
    costs = layer_costs(alex, (3, 227, 227))
    print(costs)
    conv_rows = [r for r in costs.rows if r[1] == "Conv2d"]
    linear_rows = [r for r in costs.rows if r[1] == "Linear"]
    share = lambda rows, k: sum(r[k] for r in rows) / sum(r[k] for r in costs.rows)
    print(f"convolutions: {share(conv_rows, 3):.0%} of the parameters, {share(conv_rows, 4):.0%} of the multiply-adds")
    print(f"fully connected: {share(linear_rows, 3):.0%} of the parameters, "
          f"{share(linear_rows, 4):.0%} of the multiply-adds")

    fig, axes = plt.subplots(1, 2, figsize=(11, 3))
    names = [r[0] for r in conv_rows + linear_rows]
    axes[0].bar(names, [r[3] / 1e6 for r in conv_rows + linear_rows], color=["C0"] * 5 + ["C1"] * 3)
    axes[0].set_title("parameters (millions)")
    axes[1].bar(names, [r[4] / 1e6 for r in conv_rows + linear_rows], color=["C0"] * 5 + ["C1"] * 3)
    axes[1].set_title("multiply-adds per image (millions)")
    plt.show()
    """),
    md(r"""
    The two kinds of layer split the costs almost perfectly: the convolutions hold 6% of the parameters
    but do 95% of the arithmetic, the fully connected layers the reverse. Later networks attacked both:
    VGG and Inception made the convolutions cheaper per unit of receptive field, and from Inception on
    the huge fully connected layers were replaced by global average pooling (as in `cnnlib`'s
    `vgg_mini` and `resnet_mini`).

    ### Exercise 1

    (a) Why does a $224 \times 224$ input not work for conv1 ($11 \times 11$, stride 4, no padding)?
    (b) Without dropout, which layers would you expect to overfit first, and why?
    """),
    exercise_answer(r"""
    (a) The output size is $(224 - 11)/4 + 1 = 54.25$, not an integer: the windows do not tile the
    image. With 227 it is $(227 - 11)/4 + 1 = 55$ exactly. (The paper's "224" is a known inconsistency;
    implementations use 227, or 224 with padding 2.)
    (b) The fully connected layers fc6 and fc7: they hold 54.5 of the 62.4 million parameters, so they
    have by far the most capacity to memorise; that is where AlexNet put its dropout.
    """),
    md(r"""
    ## 10.2 VGG (2014): stacks of $3 \times 3$ convolutions

    Simonyan and Zisserman asked what happens if a network uses only the smallest kernel that still has
    a centre, $3 \times 3$ with stride 1 and padding 1, and gets its large receptive fields by stacking.
    A unit after one $3 \times 3$ layer sees 3 input positions per axis; each further layer adds
    $k - 1 = 2$ (lecture 5's rule $r' = r + (k - 1) j$ with jump $j = 1$), so $n$ stacked layers see
    $$r_n = 2n + 1: \qquad \text{two } 3\times3 = \text{one } 5 \times 5, \qquad \text{three } 3 \times 3 = \text{one } 7 \times 7.$$
    With $C$ channels in and out, the stack costs $n \cdot 9C^2$ weights against $(2n+1)^2 C^2$ for one
    large kernel: $18C^2$ against $25C^2$ for two layers (28% fewer), $27C^2$ against $49C^2$ for three
    (45% fewer). And the stack has $n$ ReLUs instead of one, so it can compute more complicated
    functions of the same pixels. Move the number of layers and watch the receptive field of the top
    unit grow:
    """),
    code("""
    for n in (1, 2, 3, 4):
        r = stack_vs_single(n, kernel=3, channels=256)
        print(f"{n} x 3x3: receptive field {r['receptive_field']}x{r['receptive_field']}, "
              f"{r['stack_params']:,} weights against {r['single_params']:,} for one "
              f"{r['receptive_field']}x{r['receptive_field']} ({r['saving']:.0%} fewer)")
    stacked_conv_explorer()
    """),
    md(r"""
    VGG-16 stacks thirteen such layers in five stages (64, 128, 256, 512, 512 channels, each stage ending
    in a $2 \times 2$ max-pool) and keeps AlexNet's three fully connected layers. The count follows from
    the same two formulas; we check the formula on a small instance that `cnnlib` builds (channels
    divided by 16, a $32 \times 32$ input, small linear layers), then apply it to the real sizes:
    """),
    code("""
    VGG16_STAGES = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]       # (convolutions, channels)

    def vgg_count(stages, in_channels, size, hidden, classes):
        '''Parameters of a VGG network by formula: 3x3 convolutions with bias, 2x2 pools, 3 linear layers.'''
        total, c = 0, in_channels
        for convs, width in stages:
            for _ in range(convs):
                total += 9 * c * width + width
                c = width
            size //= 2
        features = c * size * size
        return total + (features + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * classes

    def vgg_model(stages, in_channels, size, hidden, classes):
        '''The same network built with cnnlib layers.'''
        layers, c = [], in_channels
        for convs, width in stages:
            for _ in range(convs):
                layers += [nn.Conv2d(c, width, 3, padding=1, dtype=np.float32), nn.ReLU()]
                c = width
            layers.append(nn.MaxPool2d(2))
            size //= 2
        layers += [nn.Flatten(), nn.Linear(c * size * size, hidden, dtype=np.float32), nn.ReLU(),
                   nn.Linear(hidden, hidden, dtype=np.float32), nn.ReLU(), nn.Linear(hidden, classes, dtype=np.float32)]
        return nn.Sequential(*layers)

    small_stages = [(convs, width // 16) for convs, width in VGG16_STAGES]
    small = vgg_model(small_stages, 3, 32, 64, 10)
    print("small instance: cnnlib counts", f"{nn.count_parameters(small):,}", "| formula",
          f"{vgg_count(small_stages, 3, 32, 64, 10):,}")
    vgg16 = vgg_count(VGG16_STAGES, 3, 224, 4096, 1000)
    print(f"VGG-16 on 224x224: {vgg16:,} parameters; of these the first linear layer alone has "
          f"{(512 * 7 * 7 + 1) * 4096:,}")
    """),
    md(r"""
    `cnnlib`'s `vgg_mini` is the same idea at digit scale: three stages of two $3 \times 3$ convolutions
    (with batch normalisation), global average pooling instead of the large linear layers:
    """),
    code("""
    print(layer_costs(vgg_mini(), (1, 28, 28)))
    """),
    md(r"""
    ## 10.3 Inception (2014): $1 \times 1$ bottlenecks

    A $1 \times 1$ convolution looks at one pixel, but at all $C$ channels of it: it is a fully connected
    layer from $C$ to $F$ channels applied at every position, with $C F$ weights. GoogLeNet (Szegedy et al.,
    the first "Inception" network) uses it to shrink the number of channels before each expensive
    convolution. Take a $28 \times 28$ map with 192 channels and a $5 \times 5$ convolution to 32 channels:

    - directly: $5^2 \cdot 192 \cdot 32 = 153{,}600$ weights, and $28 \cdot 28 \cdot 153{,}600 \approx 120$
      million multiply-adds;
    - through a $1 \times 1$ bottleneck to 16 channels first: $192 \cdot 16 + 5^2 \cdot 16 \cdot 32 = 15{,}872$
      weights, $28 \cdot 28 \cdot 15{,}872 \approx 12.4$ million multiply-adds, about ten times less.

    The bottleneck throws information away, but a ReLU layer with 16 well-chosen channels keeps most of
    what a 5x5 kernel needs, and the saving pays for more layers. Try other widths:
    """),
    code("""
    r = bottleneck_cost(192, 16, 32, kernel=5, height=28, width=28)
    print({k: f"{v:,.1f}" if isinstance(v, float) else f"{v:,}" for k, v in r.items()})
    branch = nn.Sequential(nn.Conv2d(192, 16, 1, bias=False, dtype=np.float32), nn.ReLU(),
                           nn.Conv2d(16, 32, 5, padding=2, bias=False, dtype=np.float32))
    print(f"the same branch built with cnnlib: {layer_costs(branch, (192, 28, 28)).multiply_adds:,} multiply-adds")
    bottleneck_explorer()
    """),
    md(r"""
    An **inception module** runs four branches side by side on the same input and concatenates their
    outputs along the channel axis: a $1 \times 1$ convolution, a $1 \times 1$ reduction then
    $3 \times 3$, a $1 \times 1$ reduction then $5 \times 5$, and a $3 \times 3$ max-pool followed by
    a $1 \times 1$ projection. The network can mix small and large receptive fields at every stage.
    For GoogLeNet's first module, "3a", on $28 \times 28 \times 192$:
    """),
    code("""
    for title, with_reductions in [("with 1x1 reductions", True), ("naive (no reductions)", False)]:
        module = inception_cost(INCEPTION_3A, reductions=with_reductions)
        print(f"{title}: {module['params']:,} weights, {module['multiply_adds'] / 1e6:.0f} million multiply-adds, "
              f"{module['out_channels']} output channels")
        for name, (params, madds) in module["branches"].items():
            print(f"    {name:12s} {params:9,} weights {madds / 1e6:7.1f} M multiply-adds")
    """),
    md(r"""
    The reductions cut the module's cost to less than half, and they also stop the channels from
    growing: without the pool projection, the pooled 192 channels would be passed on and every module
    would widen the next. GoogLeNet stacks nine such modules into 22 layers with about 7 million
    parameters, roughly a ninth of AlexNet's, and won ImageNet 2014 (6.7% top-5 error).

    ## 10.4 ResNet (2015): learning a residual

    Deeper should never be worse: a 56-layer network could copy a good 20-layer one and set its extra
    layers to the identity. Yet He et al. found that plain 56-layer networks had a *higher training
    error* than 20-layer ones, so the problem was optimisation, not overfitting. Their fix lets a block
    learn only the change to its input. With $\mathcal{F}$ two weight layers with a ReLU between them
    (conv, batch norm, ReLU, conv, batch norm), a **residual block** computes
    $$y = \mathcal{F}(x) + x,$$
    and a ReLU follows the addition. Copying the input now only needs $\mathcal{F} = 0$, which small
    weights nearly give for free.

    **Why the gradient flows.** The addition copies the upstream gradient to both branches:
    $$\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}\left(I + \frac{\partial \mathcal{F}}{\partial x}\right)
      = \frac{\partial L}{\partial y} + \frac{\partial L}{\partial y}\,\frac{\partial \mathcal{F}}{\partial x}.$$
    Stack blocks $x_{l+1} = x_l + \mathcal{F}_l(x_l)$ (leaving the ReLU after the addition aside, as the
    "pre-activation" ResNet does). Unrolling gives $x_L = x_l + \sum_{k=l}^{L-1} \mathcal{F}_k(x_k)$ for any
    earlier block $l$, and so
    $$\frac{\partial L}{\partial x_l} = \frac{\partial L}{\partial x_L}
      \Big(I + \frac{\partial}{\partial x_l}\sum_{k=l}^{L-1}\mathcal{F}_k(x_k)\Big).$$
    The first term carries the gradient from the top to block $l$ **unchanged**, however deep the
    network. In a plain network the only path is the product of Jacobians,
    $\frac{\partial L}{\partial x_l} = \frac{\partial L}{\partial x_L}\prod_{k=l}^{L-1} J_k$, and a
    product of $L - l$ matrices shrinks or grows geometrically unless every factor is just right.

    In `cnnlib`, `nn.Residual(block)` implements exactly this: its backward returns
    `block.backward(dout) + dout`. With a block whose weights are all zero, $\mathcal{F} = 0$ and the
    gradient passes through untouched:
    """),
    code("""
    block = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    for p in block.parameters():
        p.data[...] = 0.0
    residual = nn.Residual(block)
    x = np.random.default_rng(0).normal(size=(2, 4))
    upstream = np.arange(8.0).reshape(2, 4)
    print("forward is the identity:", np.allclose(residual.forward(x), x))
    print("backward passes dout on:", residual.backward(upstream).tolist())
    """),
    md(r"""
    **A plain and a residual network of the same depth.** To keep the experiment fast, we use fully
    connected layers on flattened digits, arranged as ResNet arranges its convolutions: an input layer
    $784 \to 32$, then 20 hidden $32 \times 32$ linear layers in pairs (linear, batch norm, ReLU, linear,
    batch norm), then $32 \to 10$. The plain network puts a ReLU after each pair; the residual one wraps
    each pair in `nn.Residual` and then applies the ReLU. Both have exactly the same parameters and the
    same initial weights. First, the gradient norm of each weight matrix at initialisation, for one
    batch of 256 digits:
    """),
    code("""
    images, labels = load_mnist("train-5k")                          # 5,000 real MNIST digits
    X_all = (images.reshape(len(images), -1) / 255).astype(np.float32)
    X_train, X_val, y_train, y_val = train_val_split(X_all, labels, val_fraction=0.2, seed=0)

    depth = 20
    plain, resnet = deep_mlp(depth, residual=False), deep_mlp(depth, residual=True)
    print("parameters:", nn.count_parameters(plain), "plain,", nn.count_parameters(resnet), "residual")
    plt.figure(figsize=(7, 3))
    for name, model in [("plain", plain), ("residual", resnet)]:
        norms = [value for _, value in gradient_norms(model, X_train[:256], y_train[:256])]
        plt.semilogy(range(len(norms)), norms, "o-", label=name)
        hidden = norms[1:-1]                                     # the 20 hidden 32x32 layers
        print(f"{name:8s} hidden layers: gradient norm {hidden[0]:.3g} at the bottom, {hidden[-1]:.3g} at the top; "
              f"largest / smallest = {max(hidden) / min(hidden):.1f}")
    plt.xlabel("weight layer (0 = input layer, 21 = output layer)")
    plt.ylabel("norm of dL/dW")
    plt.title("gradient norm per layer at initialisation")
    plt.legend()
    plt.show()
    """),
    md(r"""
    In the plain network the gradient of the hidden layers changes by a factor of about 30 from the top
    to the bottom (here it grows: batch normalisation in a deep plain stack is known to amplify
    gradients towards the input), so no single learning rate suits all layers. In the residual network
    the spread is several times smaller. (The input layer has $784 \times 32$ weights, so its gradient
    norm is larger in both.) Now train both, 300 steps of SGD with momentum:
    """),
    code("""
    depth_runs = {}
    for name, residual_net in [("plain, 20 hidden layers", False), ("residual, 20 hidden layers", True)]:
        model = deep_mlp(depth, residual=residual_net)
        depth_runs[name] = train_run(model, SGD(model.parameters(), lr=0.05, momentum=0.9), X_train, y_train,
                                     steps=300, validation_data=(X_val, y_val), eval_every=50)
        print(f"{name}: held-out accuracy {depth_runs[name]['val_accuracy'][-1]:.3f}")
    plot_runs(depth_runs, title="same depth, same parameters, same data")
    plt.show()
    """),
    md(r"""
    The residual network starts with a higher loss (ten additions make its outputs larger at
    initialisation) but passes the plain one within a few dozen steps and ends far ahead; the plain
    network, with the same layers and the same weights at the start, learns slowly. That is the ResNet
    paper's finding in miniature, and the
    reason why networks of 50, 101 or 152 layers became trainable. `cnnlib`'s `resnet_mini` uses
    convolutional basic blocks; when a block halves the map and doubles the channels, the identity no
    longer fits, and a strided $1 \times 1$ convolution (a "projection shortcut") makes the shapes match:
    """),
    code("""
    print(layer_costs(resnet_mini(), (1, 28, 28)))
    """),
    md(r"""
    ### Exercise 2

    ResNet-50 replaces the two $3 \times 3$ convolutions of a block by a **bottleneck** block: $1 \times 1$
    from 256 to 64 channels, $3 \times 3$ from 64 to 64, $1 \times 1$ from 64 back to 256. Count its
    weights and compare with two $3 \times 3$ convolutions of 256 channels. Check with `conv_cost`.
    """),
    exercise_answer(r"""
    Bottleneck: $256 \cdot 64 + 9 \cdot 64 \cdot 64 + 64 \cdot 256 = 16{,}384 + 36{,}864 + 16{,}384 = 69{,}632$.
    Two $3 \times 3$ layers of 256 channels: $2 \cdot 9 \cdot 256^2 = 1{,}179{,}648$, about 17 times more.
    `sum(conv_cost(a, b, k, 1, 1)[0] for a, b, k in [(256, 64, 1), (64, 64, 3), (64, 256, 1)])` gives
    69,632. This is Inception's trick inside a residual block: the expensive $3 \times 3$ works on 64
    channels only.
    """),
    md(r"""
    ## 10.5 DenseNet (2017): every layer sees all earlier maps

    ResNet *adds* a block's input to its output. DenseNet (Huang et al.) *concatenates* instead: inside a
    dense block, layer $l$ receives the feature maps of the block's input and of all $l - 1$ layers before
    it, $x_l = H_l([x_0, x_1, \dots, x_{l-1}])$, and contributes only $k$ new maps, the **growth rate**
    (e.g. $k = 12$ or 32). A block of $L$ layers has $L(L+1)/2$ direct connections instead of $L$. Since
    every layer can reuse all earlier features, each layer can be narrow, and DenseNets reach ResNet's
    accuracy with fewer parameters (DenseNet-121 has about 8 million, ResNet-50 about 25 million).
    The channels grow linearly through a block:
    """),
    code("""
    block = dense_block(in_channels=16, growth=12, layers=6)
    for l, (c_in, weights) in enumerate(zip(block["inputs"], block["params"]), start=1):
        print(f"layer {l}: sees {c_in:3d} channels, adds 12, 3x3 weights {weights:6,}")
    print(f"output: {block['out_channels']} channels; {block['connections']} direct connections for 6 layers")

    fig, ax = plt.subplots(figsize=(7, 1.8))
    n = 6
    for i in range(n + 1):
        ax.scatter([i], [0], s=200, color="C0" if i else "C2", zorder=3)
        for j in range(i + 1, n + 1):
            height = 0.15 * (j - i)
            arc = np.linspace(0, np.pi, 30)
            ax.plot(i + (j - i) * (1 - np.cos(arc)) / 2, height * np.sin(arc), color="0.55", linewidth=0.8)
    ax.set_xticks(range(n + 1), ["input"] + [f"layer {i}" for i in range(1, n + 1)])
    ax.set_yticks([])
    ax.set_title("a dense block: every layer feeds every later one")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    plt.show()
    """),
    md(r"""
    ## 10.6 AlphaGo's policy network (2016)

    Convolutions are not only for photographs. A Go board is a $19 \times 19$ grid whose patterns
    (shapes of stones) mean the same thing wherever they appear: the two assumptions of a CNN. AlphaGo's
    **policy network** (Silver et al., 2016) maps a board to a probability for every point, "where would
    a strong player move?":

    - input: $19 \times 19$ with 48 feature planes (stones, liberties, history, ...);
    - layer 1: $5 \times 5$ kernels, 192 filters; layers 2 to 12: $3 \times 3$ kernels, 192 filters
      (all padded, so the map stays $19 \times 19$, and all followed by ReLU);
    - layer 13: one $1 \times 1$ filter, then a softmax over the 361 points.

    There is no pooling: every point of the board matters. The value network, which scores a position,
    has a similar trunk. Counted by hand and by `cnnlib`:
    """),
    code("""
    layer1 = 5 * 5 * 48 * 192 + 192
    middle = 3 * 3 * 192 * 192 + 192
    last = 1 * 1 * 192 * 1 + 1
    print(f"by hand: {layer1:,} + 11 x {middle:,} + {last} = {layer1 + 11 * middle + last:,}")
    policy = alphago_policy()
    policy_costs = layer_costs(policy, (48, 19, 19))
    print(f"cnnlib:  {policy_costs.params:,} parameters, {policy_costs.multiply_adds / 1e9:.2f} billion "
          f"multiply-adds per board")
    print("receptive field of the last layer:", receptive_field([(5, 1)] + [(3, 1)] * 11 + [(1, 1)])[-1][0],
          "points: every output sees the whole 19x19 board")
    """),
    md(r"""
    ### Exercise 3

    (a) In the paper, the last layer has a different bias for each of the 361 points. How many
    parameters does that add? (b) Why does the 13-layer policy network need no pooling to see the whole
    board, and what would pooling cost it?
    """),
    exercise_answer(r"""
    (a) 361 biases instead of 1: 360 more, 3,882,793 in all, still about 3.9 million.
    (b) Twelve padded $5 \times 5$/$3 \times 3$ layers already give a receptive field of
    $5 + 11 \cdot 2 = 27 \ge 19$ points, so the top layer sees every stone. Pooling would shrink the map
    below $19 \times 19$ and throw away the exact position, but the output must name one of 361 exact
    points; a one-point error on a Go board is a different move.
    """),
    md(r"""
    ## 10.7 The costs side by side

    Parameters (memory, and capacity to overfit) and multiply-adds per input (time) for the networks of
    this lecture, all counted by `cnnlib` from real models, except VGG-16 (formula of section 10.2) and the
    inception module (section 10.3):
    """),
    code("""
    models = {
        "LeNet-5 (classic, 1998)": layer_costs(lenet5("classic"), (1, 32, 32)),
        "LeNet-5 (modern)": layer_costs(lenet5("modern"), (1, 32, 32)),
        "vgg_mini (cnnlib)": layer_costs(vgg_mini(), (1, 28, 28)),
        "resnet_mini (cnnlib)": layer_costs(resnet_mini(), (1, 28, 28)),
        "AlphaGo policy (2016)": policy_costs,
        "AlexNet (2012)": costs,
    }
    rows = [(name, table.params, table.multiply_adds) for name, table in models.items()]
    vgg16_madds = 0
    c, size = 3, 224
    for convs, width in VGG16_STAGES:
        for _ in range(convs):
            vgg16_madds += conv_cost(c, width, 3, size, size)[1]
            c = width
        size //= 2
    vgg16_madds += 512 * 7 * 7 * 4096 + 4096 * 4096 + 4096 * 1000
    rows.append(("VGG-16 (2014, formula)", vgg16, vgg16_madds))
    inception = inception_cost(INCEPTION_3A)
    rows.append(("one inception module (3a)", inception["params"], inception["multiply_adds"]))
    print(f"{'network':28s} {'parameters':>14s} {'multiply-adds':>16s}")
    for name, params, madds in rows:
        print(f"{name:28s} {params:14,} {madds:16,}")

    plt.figure(figsize=(6.5, 4))
    below = {"LeNet-5 (classic, 1998)", "vgg_mini (cnnlib)"}      # labels that would overlap a neighbour's
    for name, params, madds in rows:
        plt.scatter(params, madds, s=30)
        plt.annotate(name, (params, madds), fontsize=8, xytext=(4, -10 if name in below else 3),
                     textcoords="offset points")
    plt.xscale("log")
    plt.yscale("log")
    plt.xlabel("parameters")
    plt.ylabel("multiply-adds per input")
    plt.xlim(1e4, 1e9)
    plt.show()
    del alex                                                    # free AlexNet's 250 MB of weights
    print(f"the whole lecture: {time.perf_counter() - start_of_lecture:.0f} s")
    """),
    md(r"""
    Networks far apart in parameters can be close in computation and the other way round: the AlphaGo
    network has 16 times fewer parameters than AlexNet but does more arithmetic per input, because each
    of its weights is used at all 361 points and there is no pooling to shrink the maps. VGG-16 is the
    expensive end: 138 million parameters
    and 15 billion multiply-adds per image, which is why Inception's and ResNet's bottlenecks mattered.

    ### Exercise 4

    VGG-16's first two stages are conv3-conv3-pool2-conv3-conv3 (pools $2 \times 2$, stride 2). What is
    the receptive field after each layer? Use the rule $r' = r + (k - 1)j$, $j' = js$ by hand, then check
    with `receptive_field([(3, 1), (3, 1), (2, 2), (3, 1), (3, 1)])`.
    """),
    exercise_answer(r"""
    Start with $r = 1$, $j = 1$. conv: $r = 3$; conv: $r = 5$; pool ($k = 2$, $s = 2$): $r = 6$, $j = 2$;
    conv: $r = 6 + 2 \cdot 2 = 10$; conv: $r = 14$. After the pool, each $3 \times 3$ layer adds 4 input
    pixels instead of 2, because neighbouring units are now 2 pixels apart. The function returns
    $[(3, 1), (5, 1), (6, 2), (10, 2), (14, 2)]$.
    """),
    md(r"""
    ### Exercise 5

    In the plain-against-residual experiment of section 10.4, change `depth` to 4. Does the residual
    network still win clearly? What does that say about when shortcuts matter?
    """),
    exercise_answer(r"""
    With 4 hidden layers both networks train well (held-out accuracy about 0.89 plain and 0.92
    residual after 300 steps): the gradient passes a few layers without much change either way, so the
    plain network's product of Jacobians is still harmless.
    Shortcuts matter when the network is deep: the ResNet paper saw no problem at 18 layers and a clear
    one at 34 and beyond. Depth is what makes the product of Jacobians drift away from a useful size.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
