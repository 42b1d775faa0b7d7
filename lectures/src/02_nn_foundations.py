"""Builds lectures/02_nn_foundations.ipynb (lecture 2: neural-network foundations, before convolutions)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 2: Neural-network foundations

    Every convolutional network ends in the pieces of an ordinary neural network: weighted sums,
    non-linear activations, a loss, and gradient descent on mini-batches. This lecture builds them
    up from a single neuron, with the notation the later lectures use: an input $x$, weights $w$
    (a matrix $W$ for a layer), a bias $b$, the weighted sum $z = w \cdot x + b$ and an activation
    $f(z)$.

    **What you will learn**

    - the perceptron, its update rule, and why it stops on separable data (and never on XOR);
    - logistic regression as a one-layer network: sigmoid, cross-entropy, softmax, and its
      $7{,}850$ parameters on $28 \times 28$ digits, trained here on real MNIST digits;
    - the common activation functions and their derivatives;
    - why a network needs non-linear activations: without them, layers collapse into one;
    - universal approximation: one hidden layer can fit any reasonable 1-D function, given enough units;
    - depth versus width: a function that a deep network builds with few units and a shallow one cannot;
    - the losses side by side (0-1, hinge, cross-entropy, squared) as functions of the score;
    - gradient descent, stochastic gradient descent and mini-batches;
    - the shapes of matrix derivatives: $\partial L / \partial W$ has the shape of $W$.
    """),
    code(SETUP),
    code("""
    import math
    import time

    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib import nn, plots
    from cnnlib.activations import sigmoid
    from cnnlib.data import load_mnist, train_val_split
    from cnnlib.gradcheck import numerical_gradient, rel_error
    from cnnlib.losses import softmax_cross_entropy
    from cnnlib.widgets.foundations import (AND_DATASET, activation, activation_explorer, collapse_linear,
                                            count_linear_pieces, fit_hidden_units, minibatch_loss_curves,
                                            perceptron_figure, perceptron_stepper, perceptron_train, sawtooth,
                                            score_losses, two_layer_gradients, universal_approximation_explorer)
    """),
    md(r"""
    ## 2.1 The perceptron

    Rosenblatt's perceptron (around 1960) is one neuron with a step activation:
    $$\hat y = \begin{cases} 1 & \text{if } z = w \cdot x + b > 0 \\ 0 & \text{otherwise.} \end{cases}$$
    Geometrically, $w \cdot x + b = 0$ is a line (a hyperplane in more dimensions); the perceptron
    says 1 on one side and 0 on the other.

    **Learning rule.** Visit the training points one by one. When the prediction is right, do
    nothing; when it is wrong, move the line towards the point:
    $$w \leftarrow w + \eta\,(y - \hat y)\,x, \qquad b \leftarrow b + \eta\,(y - \hat y).$$
    A missed positive ($y = 1$, $\hat y = 0$) adds $x$ to $w$, which raises $w \cdot x$ next time; a
    false positive subtracts it. If a separating line exists, the rule finds one after finitely many
    mistakes (the perceptron convergence theorem).

    Worked by hand on the logical AND of two bits, with $\eta = 1$ and $w = 0$, $b = 0$: in the first
    epoch only $(1, 1)$ is wrong ($z = 0$, so $\hat y = 0$), and the update gives $w = (1, 1)$,
    $b = 1$. That line now says 1 everywhere, so the next epoch makes three mistakes, and so on.
    The mistakes per epoch go $1, 3, 3, 2, 1, 0$; the final line is $2x_0 + x_1 - 2 = 0$.
    """),
    code("""
    X_and, y_and = AND_DATASET
    run = perceptron_train(X_and, y_and, lr=1.0)
    print("mistakes per epoch:", run["mistakes"])
    print("w =", run["w"], " b =", run["b"], " z for the four points:", X_and @ run["w"] + run["b"])
    """),
    md(r"""
    Step through the visits with the slider: the orange ring marks the point being visited, the red
    region is where the perceptron says 1.
    """),
    code("""
    perceptron_stepper()
    """),
    md(r"""
    The same rule on a slightly larger 2-D dataset, two clouds of 20 points each:
    """),
    code("""
    rng = np.random.default_rng(3)
    X_blobs = np.vstack([rng.normal([-1.0, -0.8], 0.55, (20, 2)), rng.normal([1.2, 1.0], 0.55, (20, 2))])
    y_blobs = np.repeat([0, 1], 20)
    order = rng.permutation(40)                                  # visit the two classes mixed
    X_blobs, y_blobs = X_blobs[order], y_blobs[order]
    blobs = perceptron_train(X_blobs, y_blobs, lr=0.5, epochs=100)
    print(f"converged: {blobs['converged']} after {len(blobs['mistakes'])} epochs; mistakes per epoch {blobs['mistakes']}")
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    early = blobs["steps"][2]
    perceptron_figure(X_blobs, y_blobs, early["w"], early["b"], ax=axes[0])
    axes[0].set_title("after 3 visits")
    perceptron_figure(X_blobs, y_blobs, blobs["w"], blobs["b"], ax=axes[1])
    axes[1].set_title("converged")
    fig.tight_layout()
    plt.show()
    """),
    md(r"""
    ### Exercise 1

    XOR labels the four corners $(0,0), (0,1), (1,0), (1,1)$ with $0, 1, 1, 0$. Run
    `perceptron_train(X_and, [0, 1, 1, 0], epochs=30)`. What happens, and why can no choice of
    $w, b$ work?
    """),
    exercise_answer(r"""
    It never converges: every epoch has at least one mistake. Suppose a line worked: $b \le 0$ (from
    $(0,0)$), $w_1 + b > 0$ and $w_0 + b > 0$ (from the two ones), and $w_0 + w_1 + b \le 0$. Adding the
    two middle inequalities gives $w_0 + w_1 + 2b > 0$, so $w_0 + w_1 + b > -b \ge 0$, a contradiction.
    XOR is not linearly separable; a hidden layer fixes it (section 2.4).
    """),
    md(r"""
    ## 2.2 Logistic regression: a one-layer network

    Replace the step by the smooth **sigmoid** $\sigma(z) = 1 / (1 + e^{-z})$ and read the output as a
    probability, $p = \sigma(w \cdot x + b) = P(y = 1 \mid x)$. Training minimises the average
    **cross-entropy**, the negative log-likelihood of the labels:
    $$L = -\frac{1}{N}\sum_{i=1}^{N} \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big].$$
    With $\sigma'(z) = \sigma(z)(1 - \sigma(z))$ the chain rule gives the simplest possible gradient,
    $$\frac{\partial L}{\partial z_i} = \frac{p_i - y_i}{N}, \qquad
      \frac{\partial L}{\partial w} = \frac{1}{N}\sum_i (p_i - y_i)\,x_i, \qquad
      \frac{\partial L}{\partial b} = \frac{1}{N}\sum_i (p_i - y_i):$$
    the error times the input, just like the perceptron rule, but for every point and with a soft error.

    For $K$ classes, each class $k$ gets its own row $w_k$ of a weight matrix $W$ and a score
    $s_k = w_k \cdot x + b_k$, and the **softmax** $p_k = e^{s_k} / \sum_l e^{s_l}$ turns the scores
    into probabilities; then $\partial L / \partial s = (p - \text{onehot}(y)) / N$. For MNIST,
    $x \in \mathbb{R}^{784}$ and $K = 10$: $W$ is $10 \times 784$ and $b$ has 10 entries,
    $784 \cdot 10 + 10 = 7{,}850$ parameters. It is a network with no hidden layer:
    `nn.Linear(784, 10)`.
    """),
    code("""
    print("nn.Linear(784, 10):", nn.count_parameters(nn.Linear(784, 10)), "parameters")

    images, labels = load_mnist("train-5k")                       # 5,000 real MNIST digits
    X_all = images.reshape(len(images), -1) / 255.0               # (5000, 784), pixels in [0, 1]
    X_train, X_test, y_train, y_test = train_val_split(X_all, labels, val_fraction=0.2, seed=0)
    print("training digits", X_train.shape, " held-out digits", X_test.shape)
    """),
    md(r"""
    Training is twenty lines of NumPy: mini-batches of 100, the softmax cross-entropy from `cnnlib`
    for the loss and $\partial L / \partial s$, and the two gradients $\partial L/\partial W =
    (\partial L/\partial s)^\top X$ and $\partial L/\partial b = \sum_i \partial L/\partial s_i$.
    """),
    code("""
    rng = np.random.default_rng(0)
    W, b = np.zeros((10, 784)), np.zeros(10)
    lr, batch, epochs = 0.5, 100, 15
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(X_train))
        for first in range(0, len(order), batch):
            idx = order[first:first + batch]
            loss, dscores = softmax_cross_entropy(X_train[idx] @ W.T + b, y_train[idx])   # dscores: (B, 10)
            W -= lr * dscores.T @ X_train[idx]                                            # (10, 784), like W
            b -= lr * dscores.sum(axis=0)                                                 # (10,), like b
        if epoch % 5 == 4:
            train_loss, _ = softmax_cross_entropy(X_train @ W.T + b, y_train)
            print(f"epoch {epoch + 1:2d}  training loss {train_loss:.3f}")
    seconds = time.perf_counter() - start
    train_accuracy = np.mean((X_train @ W.T + b).argmax(axis=1) == y_train)
    test_accuracy = np.mean((X_test @ W.T + b).argmax(axis=1) == y_test)
    print(f"{W.size + b.size:,} parameters, trained in {seconds:.1f} s")
    print(f"accuracy: training {train_accuracy:.3f}, held-out {test_accuracy:.3f}")
    """),
    md(r"""
    Each row of $W$ has one weight per pixel, so it can be drawn as a $28 \times 28$ image: red pixels
    push the score of that class up, blue ones down. A one-layer network can store only one such
    **template** per class.
    """),
    code("""
    plots.plot_images(W.reshape(10, 28, 28), titles=[f"class {k}" for k in range(10)], ncols=10,
                      cmap="RdBu_r", symmetric=True)
    plt.show()
    """),
    md(r"""
    ## 2.3 Activation functions and their derivatives

    Backpropagation multiplies the upstream gradient by each activation's local derivative $f'(z)$, so
    the derivative matters as much as the function:

    | activation | $f(z)$ | $f'(z)$ |
    |---|---|---|
    | sigmoid | $1/(1 + e^{-z})$ | $\sigma(z)(1 - \sigma(z))$, at most $1/4$ |
    | tanh | $\tanh z$ | $1 - \tanh^2 z$, at most 1 |
    | ReLU | $\max(0, z)$ | 1 for $z > 0$, 0 for $z < 0$ |
    | leaky ReLU | $\max(0.1z, z)$ | 1 or $0.1$ |
    | ELU | $z$ for $z > 0$, $e^z - 1$ otherwise | 1 or $e^z$ |
    | step | 1 for $z > 0$, else 0 | 0 (gradient descent cannot use it) |

    The sigmoid's derivative is at most $\sigma'(0) = 0.25$: through ten sigmoid layers a gradient
    shrinks by at least $0.25^{10} \approx 10^{-6}$. ReLU passes gradients through unchanged where a
    unit is active, one reason why deep networks use it. Pick an activation and move $z$:
    """),
    code("""
    for name in ["sigmoid", "tanh", "ReLU"]:
        f, df = activation(name, np.array([0.0, 2.0]))
        print(f"{name:8s} f(0) = {f[0]:.3f}  f'(0) = {df[0]:.3f}   f(2) = {f[1]:.3f}  f'(2) = {df[1]:.3f}")
    activation_explorer()
    """),
    md(r"""
    ## 2.4 Why a network needs non-linearity

    Stack two layers without an activation: $z_1 = W_1 x + b_1$, $z_2 = W_2 z_1 + b_2$. Then
    $$z_2 = W_2 (W_1 x + b_1) + b_2 = (W_2 W_1)\, x + (W_2 b_1 + b_2) = W x + b,$$
    one linear layer with $W = W_2 W_1$, $b = W_2 b_1 + b_2$. However many linear layers we stack, the
    network can only draw one hyperplane, and XOR stays out of reach. Numerically:
    """),
    code("""
    rng = np.random.default_rng(1)
    W1, b1 = rng.standard_normal((5, 3)), rng.standard_normal(5)
    W2, b2 = rng.standard_normal((2, 5)), rng.standard_normal(2)
    W_one, b_one = collapse_linear(W1, b1, W2, b2)
    x = rng.standard_normal((100, 3))
    two_layers = (x @ W1.T + b1) @ W2.T + b2
    print("one layer of shape", W_one.shape, "reproduces two: largest difference",
          np.abs(two_layers - (x @ W_one.T + b_one)).max())
    with_relu = np.maximum(0, x @ W1.T + b1) @ W2.T + b2
    best, *_ = np.linalg.lstsq(np.c_[x, np.ones(100)], with_relu, rcond=None)
    print("with a ReLU in between, the best single linear layer misses by up to",
          np.abs(np.c_[x, np.ones(100)] @ best - with_relu).max().round(3))
    """),
    md(r"""
    With a ReLU between the layers XOR is easy: $h_1 = \max(0, x_0 + x_1)$ and $h_2 = \max(0, x_0 + x_1 - 1)$,
    then $\hat y = h_1 - 2h_2$ gives $0, 1, 1, 0$ on the four corners.
    """),
    code("""
    H = np.maximum(0, X_and @ np.array([[1.0, 1.0], [1.0, 1.0]]).T + np.array([0.0, -1.0]))
    print("XOR with two ReLU units:", H @ np.array([1.0, -2.0]))
    """),
    md(r"""
    ## 2.5 Universal approximation

    One hidden layer of $n$ units computes $\hat y(x) = \sum_{j=1}^{n} v_j\, f(w_j x + b_j) + c$. The
    **universal approximation theorem** says that, with a non-polynomial activation $f$ and enough units,
    such a network comes arbitrarily close to any continuous function on a bounded interval. The picture
    behind it: a ReLU unit $\max(0, x - t_j)$ adds a bend at $t_j$, so $n$ units give a
    piecewise-linear curve with $n$ bends; a steep sigmoid unit is a soft step, and $n$ steps make a
    staircase. More units, finer pieces.

    The widget fixes the hidden layer (evenly spaced bends or steps) and fits the output weights
    $v, c$ by least squares, which takes milliseconds. The right panel shows each unit's contribution
    $v_j h_j(x)$; the network's output is their sum. Raise $n$ and watch the error fall; the step
    needs many more units than the sine.
    """),
    code("""
    universal_approximation_explorer()
    """),
    code("""
    xs = np.linspace(-1, 1, 400)
    widths = [2, 4, 8, 16, 32, 64]
    plt.figure(figsize=(5.5, 3.3))
    for target_name, target in [("sine", np.sin(3 * xs)), ("step", (xs > 0.1) * 1.0)]:
        for kind, style in [("ReLU", "o-"), ("sigmoid", "s--")]:
            errors = [fit_hidden_units(xs, target, n, kind)["rms_error"] for n in widths]
            plt.loglog(widths, errors, style, label=f"{target_name}, {kind}")
    plt.xticks(widths, [str(n) for n in widths])
    plt.minorticks_off()
    plt.xlabel("hidden units n")
    plt.ylabel("rms error")
    plt.legend(fontsize=8)
    plt.title("wider is better: error against width")
    plt.show()
    """),
    md(r"""
    The theorem promises that a good network **exists**; it says nothing about how many units that
    takes or whether gradient descent will find them. Here we cheated by fixing the hidden layer by
    hand and solving only for the output weights.

    ## 2.6 Depth versus width

    Width is not the only way to add pieces. The tent function
    $$t(x) = 2\,\mathrm{ReLU}(x) - 4\,\mathrm{ReLU}(x - \tfrac12)$$
    rises from 0 to 1 on $[0, \tfrac12]$ and falls back on $[\tfrac12, 1]$: two ReLU units, two linear
    pieces. Feed it into itself: $t(t(x))$ has 4 pieces, and $d$ layers of two units each give $2^d$
    pieces. A network with one hidden layer needs a bend per piece, so at least $2^d - 1$ units for the
    same function: depth $d = 10$ with 20 units in all against at least 1,023 units in a single layer.
    Deep networks can build complicated functions from few units by **composing**, which is also how
    a CNN builds parts from edges and objects from parts.
    """),
    code("""
    xs01 = np.linspace(0, 1, 2 ** 10 + 1)
    fig, axes = plt.subplots(1, 4, figsize=(12, 2.4), sharey=True)
    for depth, ax in zip([1, 2, 3, 4], axes):
        ys = sawtooth(xs01, depth)
        pieces = count_linear_pieces(xs01, ys)
        ax.plot(xs01, ys)
        ax.set_title(f"depth {depth}: {2 * depth} units, {pieces} pieces", fontsize=10)
    plt.show()
    for depth in [2, 4, 6, 10]:
        print(f"depth {depth:2d}: deep network {2 * depth:3d} ReLU units, one hidden layer at least {2 ** depth - 1:5d}")
    """),
    md(r"""
    ## 2.7 Loss functions side by side

    For a binary classifier with label $y = \pm 1$ and score $s = w \cdot x + b$, all common losses
    depend on the **margin** $y s$; here is a positive example ($y = +1$), so the horizontal axis is the
    score $s$ itself:

    - **0-1 loss**: 1 for a mistake ($s \le 0$), 0 otherwise: what we care about, but its gradient is 0;
    - **hinge** $\max(0, 1 - s)$ (the SVM): zero once the example is right by a margin of 1;
    - **cross-entropy** $\log(1 + e^{-s}) = -\log\sigma(s)$ (logistic regression): never quite zero,
      gradient $\sigma(s) - 1$;
    - **squared** $(s - 1)^2$: regression on the label; it also punishes scores that are *too* right;
    - **squared on the probability** $(\sigma(s) - 1)^2$: its gradient vanishes for very wrong scores,
      so a badly wrong network learns slowly. This is why classifiers use cross-entropy.
    """),
    code("""
    s = np.linspace(-3, 3, 601)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, (value, derivative) in score_losses(s).items():
        axes[0].plot(s, value, label=name)
        axes[1].plot(s, derivative, label=name)
    axes[0].set_ylim(-0.1, 4)
    axes[1].set_ylim(-2.5, 1.5)
    axes[0].set_title("loss of a positive example")
    axes[1].set_title("its derivative dL/ds")
    for ax in axes:
        ax.set_xlabel("score s")
        ax.axvline(0, color="0.8", linewidth=0.8)
    axes[0].legend(fontsize=8)
    plt.show()
    print("at s = 0:", {k: round(float(v[0][300]), 3) for k, v in score_losses(s).items()})
    """),
    md(r"""
    ## 2.8 Gradient descent, SGD and mini-batches

    The training loss is an average over $N$ examples, $L(\theta) = \frac{1}{N}\sum_i L_i(\theta)$, and so
    is its gradient. Three ways to take a step $\theta \leftarrow \theta - \eta\, g$:

    - **gradient descent**: $g = \nabla L$ over all $N$ examples: exact, but one step costs a full pass;
    - **stochastic gradient descent (SGD)**: $g = \nabla L_i$ for one random example $i$; on average it
      equals $\nabla L$ (an unbiased estimate), so many cheap, noisy steps;
    - **mini-batches**: $g = \frac{1}{B}\sum_{i \in \mathcal{B}} \nabla L_i$ over a random batch of $B$
      examples: noise shrinks like $1/\sqrt{B}$, and a batch is one matrix product, which hardware does fast.

    Softmax regression on 1,000 digits, five epochs, the same learning rate $\eta = 0.1$ for every batch
    size, the loss measured on all 1,000 digits:
    """),
    code("""
    subset = np.random.default_rng(0).permutation(len(X_train))[:1000]
    curves = minibatch_loss_curves(X_train[subset], y_train[subset], batch_sizes=[1, 10, 100, 1000],
                                   lr=0.1, epochs=5)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for batch, curve in curves.items():
        label = f"batch {batch}" + (" (gradient descent)" if batch == 1000 else " (SGD)" if batch == 1 else "")
        axes[0].plot(curve["examples"] / 1000, curve["loss"], label=label)
        axes[1].plot(np.maximum(curve["steps"], 1), curve["loss"], label=label)
    axes[0].set_xlabel("epochs (examples seen / 1,000)")
    axes[1].set_xlabel("updates (log scale)")
    axes[1].set_xscale("log")
    for ax in axes:
        ax.set_ylabel("training loss")
        ax.legend(fontsize=8)
    plt.show()
    print(f"start: log 10 = {math.log(10):.4f}; after 5 epochs:",
          {batch: round(float(c["loss"][-1]), 3) for batch, c in curves.items()})
    """),
    md(r"""
    Per example seen (left), small batches win: they update after every few examples, while gradient
    descent updates once per epoch. Per update (right), large batches make more progress per step and
    their curves are smooth; the single-example curve is the noisiest. In practice batches of 32 to 256
    balance the two, and a GPU processes such a batch almost as fast as a single example.

    ## 2.9 Shapes in matrix calculus

    For a scalar loss $L$ and a variable of any shape, $\partial L / \partial W$ collects one partial
    derivative per entry of $W$, so it **has the shape of $W$**. (The full Jacobian of a vector with respect
    to a matrix would be a larger object that we never build.) The shapes then decide the formula. For a
    batch $X$ of shape $(N, d)$:

    | forward | shape | backward | shape |
    |---|---|---|---|
    | $z_1 = X W_1$ | $(N, n_h)$ | $\partial L/\partial W_1 = X^\top\, \partial L/\partial z_1$ | $(d, n_h)$ like $W_1$ |
    | $h_1 = \mathrm{ReLU}(z_1)$ | $(N, n_h)$ | $\partial L/\partial z_1 = \partial L/\partial h_1 \odot [z_1 > 0]$ | like $z_1$ |
    | $\hat y = h_1 W_2$ | $(N, m)$ | $\partial L/\partial W_2 = h_1^\top\, \partial L/\partial \hat y$, $\;\partial L/\partial h_1 = \partial L/\partial \hat y\; W_2^\top$ | like $W_2$, like $h_1$ |
    | $L = \lVert \hat y \rVert^2$ | scalar | $\partial L/\partial \hat y = 2\hat y$ | like $\hat y$ |

    A check: $X^\top$ is $(d, N)$ and $\partial L/\partial z_1$ is $(N, n_h)$; their product is $(d, n_h)$,
    the only arrangement whose shapes fit. Every gradient is also checked against central differences:
    """),
    code("""
    rng = np.random.default_rng(2)
    X, W1, W2 = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((5, 2))
    g = two_layer_gradients(X, W1, W2)
    loss = lambda _: two_layer_gradients(X, W1, W2)["L"]
    for name, variable in [("dW1", W1), ("dW2", W2), ("dX", X)]:
        print(f"{name}: shape {g[name].shape} = shape of the variable {variable.shape}; "
              f"relative error vs numerical {rel_error(g[name], numerical_gradient(loss, variable)):.1e}")
    """),
    md(r"""
    ### Exercise 2

    Work out the example of section 2.9 by hand for $X = (1, 2)$ (one example), $W_1 = \begin{pmatrix}1 & 0\\ 0 & -1\end{pmatrix}$,
    $W_2 = \begin{pmatrix}1\\ 1\end{pmatrix}$: the forward values, $L$, and $\partial L/\partial W_1$. Check with
    `two_layer_gradients`.
    """),
    exercise_answer(r"""
    $z_1 = X W_1 = (1, -2)$, $h_1 = (1, 0)$, $\hat y = h_1 W_2 = 1$, $L = 1$. Backward: $\partial L/\partial \hat y = 2$,
    $\partial L/\partial h_1 = 2\, W_2^\top = (2, 2)$, $\partial L/\partial z_1 = (2, 2) \odot (1, 0) = (2, 0)$, and
    $\partial L/\partial W_1 = X^\top (2, 0) = \begin{pmatrix}2 & 0\\ 4 & 0\end{pmatrix}$: the second column is 0 because
    the second ReLU was off. `two_layer_gradients([[1., 2.]], [[1., 0.], [0., -1.]], [[1.], [1.]])["dW1"]` agrees.
    """),
    md(r"""
    ### Exercise 3

    (a) How many parameters has a network with one hidden layer of 100 units on MNIST ($784 \to 100 \to 10$)?
    (b) In the logistic regression of section 2.2, what are the shapes of `dscores`, `dscores.T @ X_train[idx]`
    and `dscores.sum(axis=0)` for a batch of 100?
    (c) Using the widget of section 2.3: what is the largest gradient factor a sigmoid layer can pass on,
    and what does that mean for a network of 20 sigmoid layers?
    """),
    exercise_answer(r"""
    (a) $100 (784 + 1) + 10 (100 + 1) = 78{,}500 + 1{,}010 = 79{,}510$, ten times the $7{,}850$ of logistic regression.
    (b) $(100, 10)$, $(10, 784)$ like `W`, and $(10,)$ like `b`.
    (c) $\sigma'(0) = 0.25$. Through 20 layers the local factors multiply to at most $0.25^{20} \approx 10^{-12}$,
    so the first layers barely learn (the vanishing gradient); ReLU's factor is 1 for active units.
    """),
    md(r"""
    ### Exercise 4

    In the universal-approximation widget, choose the **step** target and move $n$ from 1 to 40. What
    happens to the maximum error and to the rms error, and why?
    """),
    exercise_answer(r"""
    The rms error falls (about $0.25$ for one unit, $0.1$ for 8, $0.06$ for 40), but the maximum error
    stays near $0.5$ whatever $n$ is. A continuous piecewise-linear curve whose bends are $2/n$ apart has
    to climb from 0 to 1 over at least one interval, so next to the jump some point is about $0.5$ away
    from the target (least squares may overshoot a little). The band where the fit is wrong narrows like
    $1/n$, so the rms error keeps falling, roughly like $1/\sqrt{n}$. A continuous network cannot approximate
    a discontinuous function uniformly; the theorem is about continuous targets.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
