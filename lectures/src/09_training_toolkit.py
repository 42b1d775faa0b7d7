"""Builds lectures/09_training_toolkit.ipynb (lecture 9: initialisation, normalisation, regularisation, optimisers)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 9: Training toolkit

    Backpropagation tells us the gradient; it does not tell us where to start, how big a step to
    take, or how to stop a network from memorising its training set. AlexNet's recipe in 2012 was
    already a list of such tricks: ReLU, dropout 0.5, data augmentation, batches of 128, SGD with
    momentum 0.9 and a learning rate of $10^{-2}$ lowered by hand during training. Later came
    careful initialisation, batch normalisation and Adam. This lecture takes the tools one at a
    time: where each comes from (a short derivation), what it does to the numbers inside a network
    (a picture or a widget), and what it changes when we train on real images (a small experiment
    with `cnnlib`).

    **What you will learn**

    - why the scale of the initial weights decides whether signals survive 10 layers, and how
      Xavier/Glorot and He initialisation follow from one variance calculation;
    - batch normalisation: its forward pass, its backward pass derived by hand, and the difference
      between training (batch statistics) and evaluation (running statistics);
    - batch, layer, instance and group normalisation as four ways to choose the values that share a mean;
    - inverted dropout, and why the backward pass must reuse the forward mask;
    - data augmentation of digits with `cnnlib.augment`;
    - weight decay as an L2 penalty and as a shrinking step;
    - learning-rate schedules (step, cosine, warm-up);
    - the update rules of momentum and Adam, on a narrow valley and on digits.

    Every experiment trains tiny networks for a few hundred steps in float32, so the whole notebook
    runs in about a minute. The effects are real but small-scale; the exercises ask you to push them.
    """),
    code(SETUP),
    code("""
    import time

    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib import nn, plots
    from cnnlib.augment import augment
    from cnnlib.batchnorm import batchnorm_backward, batchnorm_forward
    from cnnlib.data import load_fashion_mnist, load_mnist, train_val_split
    from cnnlib.gradcheck import numerical_gradient, rel_error
    from cnnlib.optim import SGD, Adam
    from cnnlib.widgets.toolkit import (INITS, activation_stds, augmentation_explorer, augmented,
                                        draw_normalizations, init_explorer, init_std, lr_schedule, normalize,
                                        optimizer_path, optimizer_path_explorer, plot_runs, schedule_explorer,
                                        train_run, variance_gain)

    start_of_lecture = time.perf_counter()
    images, labels = load_mnist("train-5k")                           # 5,000 real MNIST digits
    X_all = (images.reshape(len(images), -1) / 255).astype(np.float32)   # (5000, 784), float32 for speed
    X_train, X_val, y_train, y_val = train_val_split(X_all, labels, val_fraction=0.2, seed=0)
    print("digits: training", X_train.shape, " held-out", X_val.shape)

    # Fashion-MNIST (clothes) overfits more readily than digits: we use it for the regularisers
    try:
        clothes, clothes_labels = load_fashion_mnist("train", download=False)
        hard_name = "Fashion-MNIST"
    except Exception as err:                                        # not installed, offline: use digits instead
        print(f"Fashion-MNIST is not available here ({type(err).__name__}); the regularisation "
              "experiments use MNIST digits instead.")
        clothes, clothes_labels = images, labels
        hard_name = "MNIST"
    pick = np.random.default_rng(0).permutation(len(clothes))[:1500]   # a random 1,500 (the digit file is sorted by class)
    X_hard = (clothes[pick].reshape(1500, -1) / 255).astype(np.float32)
    y_hard = clothes_labels[pick]
    X_small, y_small = X_hard[:500], y_hard[:500]                  # only 500 training images: easy to memorise
    X_hard_val, y_hard_val = X_hard[500:], y_hard[500:]
    print(f"{hard_name}: 500 training images, {len(X_hard_val)} held out")


    def mlp(sizes, std=None, batchnorm=False, dropout=0.0, seed=0):
        '''A fully connected ReLU network, e.g. sizes [784, 64, 64, 10]; float32.

        std(fan_in, fan_out) sets the initial weight scale (default: He); batchnorm puts a
        BatchNorm1d after every hidden linear layer, dropout a Dropout after every hidden ReLU.
        '''
        rng = np.random.default_rng(seed)
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            hidden = i < len(sizes) - 2
            linear = nn.Linear(fan_in, fan_out, bias=not (batchnorm and hidden), seed=rng, dtype=np.float32)
            if std is not None:
                linear.weight.data[...] = rng.standard_normal(linear.weight.shape) * std(fan_in, fan_out)
            layers.append(linear)
            if hidden:
                layers += [nn.BatchNorm1d(fan_out, dtype=np.float32)] if batchnorm else []
                layers.append(nn.ReLU())
                layers += [nn.Dropout(dropout, seed=rng)] if dropout else []
        return nn.Sequential(*layers)
    """),
    md(r"""
    ## 9.1 Weight initialisation

    Take one layer, $z_j = \sum_{i=1}^{n_\text{in}} w_{ji}\, h_i$, with weights drawn independently
    with mean 0 and variance $\mathrm{Var}(w)$, independent of the inputs $h_i$. The terms are
    uncorrelated with mean 0, so their variances add:
    $$\mathrm{Var}(z_j) = n_\text{in}\, \mathrm{Var}(w)\, \mathbb{E}[h_i^2].$$
    If $h = \mathrm{ReLU}(z')$ for a symmetric pre-activation $z'$ of the layer below, half of the
    values are zeroed and $\mathbb{E}[h^2] = \tfrac12 \mathrm{Var}(z')$. Layer by layer,
    $$\mathrm{Var}(z^{(l)}) = \underbrace{\tfrac12\, n_\text{in} \mathrm{Var}(w)}_{\text{gain}}\;
      \mathrm{Var}(z^{(l-1)}) \quad\Longrightarrow\quad
      \mathrm{Var}(z^{(L)}) = \text{gain}^{\,L-1}\, \mathrm{Var}(z^{(1)}).$$
    A gain of $0.9$ or $1.1$ looks harmless, but after 50 layers it is a factor $0.005$ or $117$. The
    only safe gain is 1:

    - **He initialisation** (He et al., 2015, for ReLU): $\mathrm{Var}(w) = 2 / n_\text{in}$, gain exactly 1.
    - **Xavier/Glorot initialisation** (Glorot & Bengio, 2010, for tanh, which is linear near 0 so
      $\mathbb{E}[h^2] \approx \mathrm{Var}(z')$): the forward pass wants $n_\text{in}\mathrm{Var}(w) = 1$;
      the backward pass multiplies by $W^\top$, summing over $n_\text{out}$ terms, and wants
      $n_\text{out}\mathrm{Var}(w) = 1$. The compromise is $\mathrm{Var}(w) = 2/(n_\text{in} + n_\text{out})$;
      `cnnlib` draws it uniform in $\pm\sqrt{6/(n_\text{in} + n_\text{out})}$, since a uniform variable on
      $[-a, a]$ has variance $a^2/3$.

    With ReLU, Xavier's gain is $\tfrac12$ when $n_\text{in} = n_\text{out}$: the signal halves in variance at
    every layer. A "small" initialisation with standard deviation 0.01 is worse: the gain is
    $256 \cdot 10^{-4} / 2 = 0.0128$ for 256 units.
    """),
    code("""
    print("variance gain per layer, 256 units:")
    for init in INITS:
        print(f"  {init:17s} std {init_std(init, 256, 256):.4f}   with ReLU {variance_gain(init, 'ReLU', 256):8.4f}"
              f"   with tanh {variance_gain(init, 'tanh', 256):8.4f}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
    for init in INITS:
        stats = activation_stds(init, "ReLU", depth=20)
        axes[0].semilogy(np.arange(1, 21), stats["z_std"], "o-", markersize=3, label=init)
        axes[1].semilogy(np.arange(1, 21), stats["grad_std"], "o-", markersize=3, label=init)
    axes[0].set_title("forward: std of z at each layer (ReLU)")
    axes[1].set_title("backward: std of dL/dh arriving at each layer")
    for ax in axes:
        ax.set_xlabel("layer")
        ax.legend(fontsize=8)
    plt.show()
    """),
    md(r"""
    The backward pass obeys the same arithmetic with $n_\text{out}$ in place of $n_\text{in}$, so a
    network whose forward signal vanishes also has vanishing gradients in its first layers. Try it: choose
    an initialisation, an activation and the depth. The left panel shows the spread of the
    pre-activations (forward) and of the gradients (backward) at each layer; the right panel the shape
    of the activations at the first, middle and last layer. With tanh and a large initialisation the
    units saturate at $\pm 1$, and their derivative $1 - \tanh^2$ is then 0.
    """),
    code("""
    init_explorer()
    """),
    md(r"""
    Now train. The same 12-layer ReLU network ($784 \to 64 \to \dots \to 64 \to 10$, ten hidden
    $64 \times 64$ layers) with three initialisations, SGD with momentum, 200 steps of 64 digits:
    """),
    code("""
    deep = [784] + [64] * 10 + [10]
    init_runs = {}
    for init in ["small (std 0.01)", "Xavier", "He"]:
        model = mlp(deep, std=INITS[init])
        init_runs[init] = train_run(model, SGD(model.parameters(), lr=0.02, momentum=0.9), X_train, y_train,
                                    steps=200, validation_data=(X_val, y_val), eval_every=50)
        print(f"{init:17s} held-out accuracy after 200 steps: {init_runs[init]['val_accuracy'][-1]:.3f}")
    plot_runs(init_runs, title="the same network, three initialisations")
    plt.show()
    """),
    md(r"""
    The small initialisation never leaves $\log 10 \approx 2.30$: its signals and gradients are $10^{-20}$
    times too small after ten layers, so nothing learns. Xavier learns, but more slowly than He, whose
    gain of 1 keeps every layer's gradient at a useful size.

    ### Exercise 1

    Why not start with all weights equal to zero (or all equal to the same constant)?
    """),
    exercise_answer(r"""
    Every unit of a layer would compute the same value and receive the same gradient, so they stay
    identical forever: the layer behaves like a single unit (the *symmetry* problem). With zeros and
    ReLU it is worse still: every hidden activation is 0, so every weight gradient except the last
    layer's bias is 0 and nothing moves at all. Random initial weights break the symmetry; their
    *scale* is what this section is about.
    """),
    md(r"""
    ## 9.2 Batch normalisation

    Good initialisation sets the scale at step 0; training then changes the weights and the scales
    drift again. Batch normalisation (Ioffe & Szegedy, 2015) re-standardises the values of each
    feature over the mini-batch at every step. For one feature with values $x_1, \dots, x_m$ in a
    mini-batch $\mathcal{B}$:
    $$\mu_\mathcal{B} = \frac1m \sum_{i=1}^m x_i, \qquad
      \sigma_\mathcal{B}^2 = \frac1m \sum_{i=1}^m (x_i - \mu_\mathcal{B})^2, \qquad
      \hat x_i = \frac{x_i - \mu_\mathcal{B}}{\sqrt{\sigma_\mathcal{B}^2 + \epsilon}}, \qquad
      y_i = \gamma \hat x_i + \beta.$$
    The learned scale $\gamma$ and shift $\beta$ let the network undo the normalisation where that
    helps (with $\gamma = \sigma_\mathcal{B}$, $\beta = \mu_\mathcal{B}$ it is the identity). After a
    convolution, a "feature" is a channel and the statistics run over the batch *and* all positions,
    $m = N \cdot H \cdot W$ values (`nn.BatchNorm2d`); the bias of the convolution before it is then
    redundant, since $\beta$ does its job.

    **Backward pass.** Given $\partial L/\partial y_i$, the parameters are easy:
    $\partial L/\partial\gamma = \sum_i \frac{\partial L}{\partial y_i}\hat x_i$ and
    $\partial L/\partial\beta = \sum_i \frac{\partial L}{\partial y_i}$. For the inputs, note that every
    $x_i$ also moves $\mu_\mathcal{B}$ and $\sigma^2_\mathcal{B}$, and through them every $\hat x_j$.
    Follow the graph backwards, writing $s = \sqrt{\sigma^2_\mathcal{B} + \epsilon}$:
    $$\frac{\partial L}{\partial \hat x_i} = \gamma\,\frac{\partial L}{\partial y_i}, \qquad
      \frac{\partial L}{\partial \sigma^2_\mathcal{B}} = \sum_j \frac{\partial L}{\partial \hat x_j}\,(x_j - \mu_\mathcal{B})
        \cdot \left(-\tfrac12\right) s^{-3}, \qquad
      \frac{\partial L}{\partial \mu_\mathcal{B}} = -\frac1s \sum_j \frac{\partial L}{\partial \hat x_j}$$
    (the second path into $\mu_\mathcal{B}$, through $\sigma^2_\mathcal{B}$, carries
    $\sum_j (x_j - \mu_\mathcal{B}) = 0$). Each $x_i$ reaches the loss along three paths:
    $$\frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial \hat x_i}\frac1s
      + \frac{\partial L}{\partial \sigma^2_\mathcal{B}}\,\frac{2(x_i - \mu_\mathcal{B})}{m}
      + \frac{\partial L}{\partial \mu_\mathcal{B}}\,\frac1m .$$
    Substituting $x_j - \mu_\mathcal{B} = s\,\hat x_j$ and collecting terms gives the compact form that
    `cnnlib.batchnorm.batchnorm_backward` uses:
    $$\frac{\partial L}{\partial x_i} = \frac{\gamma}{m\,s}\left( m\,\frac{\partial L}{\partial y_i}
      - \sum_j \frac{\partial L}{\partial y_j} - \hat x_i \sum_j \frac{\partial L}{\partial y_j}\hat x_j \right).$$
    The two subtracted sums remove the parts of the upstream gradient along $(1, \dots, 1)$ and along
    $\hat x$: the layer's output has mean $\beta$ and scale $\gamma$ whatever its input, so no change of
    the input's mean or scale can change the loss. Checked against the formula and against central
    differences, in float64:
    """),
    code("""
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(6, 4))                     # m = 6 examples, 4 features
    gamma, beta, dout = rng.normal(size=4), rng.normal(size=4), rng.normal(size=(6, 4))
    out, cache = batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)

    m, eps = x.shape[0], 1e-5
    s = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / s
    dx_formula = gamma / (m * s) * (m * dout - dout.sum(axis=0) - x_hat * (dout * x_hat).sum(axis=0))
    dx_numeric = numerical_gradient(lambda _: np.sum(batchnorm_forward(x, gamma, beta)[0] * dout), x)
    print("each output feature: mean", out.mean(axis=0).round(6), " std", out.std(axis=0).round(4))
    print("    gamma            ", gamma.round(4), "   beta", beta.round(4))
    print(f"dx: cnnlib vs formula {rel_error(dx, dx_formula):.1e}, cnnlib vs central differences "
          f"{rel_error(dx, dx_numeric):.1e}")
    print(f"largest component of dx along (1,...,1): {np.abs(dx.sum(axis=0)).max():.1e}; along x_hat: "
          f"{np.abs((dx * x_hat).sum(axis=0)).max():.1e} (0 but for the epsilon in s)")
    """),
    md(r"""
    **Training and evaluation.** During training the statistics come from the mini-batch, so an
    example's output depends on which other examples share its batch, and a batch of one would be
    normalised to exactly $\beta$. At test time we want one deterministic answer per example. So while
    it trains, the layer keeps running averages
    $$\mu_\text{run} \leftarrow (1 - \alpha)\,\mu_\text{run} + \alpha\,\mu_\mathcal{B}, \qquad
      \sigma^2_\text{run} \leftarrow (1 - \alpha)\,\sigma^2_\text{run} + \alpha\,\tfrac{m}{m-1}\sigma^2_\mathcal{B}$$
    (momentum $\alpha = 0.1$ in `cnnlib` and PyTorch; the variance is the unbiased one), and
    `model.eval()` switches every batch-norm layer to normalising with them. Forgetting `eval()` before
    testing is a classic bug. A batch of one cannot be normalised in training at all (its variance is 0),
    and `cnnlib` refuses it, as PyTorch does.
    """),
    code("""
    layer = nn.BatchNorm1d(2)
    data_rng = np.random.default_rng(1)
    history = []
    for step in range(60):                                     # batches from N(mean (3, -1), std (2, 0.5))
        batch = data_rng.normal([3.0, -1.0], [2.0, 0.5], size=(32, 2))
        layer.forward(batch)
        history.append(np.r_[layer.running_mean, np.sqrt(layer.running_var)])
    history = np.array(history)
    plt.figure(figsize=(5.5, 2.8))
    for k, name in enumerate(["mean, feature 0", "mean, feature 1", "std, feature 0", "std, feature 1"]):
        plt.plot(history[:, k], label=name)
    plt.xlabel("training batches seen")
    plt.title("running statistics converge to (3, -1) and (2, 0.5)")
    plt.legend(fontsize=8, ncol=2)
    plt.show()

    pair = np.array([[3.0, -1.0], [5.0, -0.5]])
    print("training mode, a batch of two:", layer.forward(pair).round(3).tolist(), "(always -1 and +1)")
    try:
        layer.forward(pair[:1])
    except ValueError as err:
        print("training mode, a batch of one: ValueError:", err)
    layer.eval()
    print("evaluation mode, one example at a time:", layer.forward(pair[:1]).round(3), layer.forward(pair[1:]).round(3))
    """),
    md(r"""
    **Other ways to choose the group.** Batch normalisation shares statistics along the batch axis,
    which is a problem when batches are tiny (detection, segmentation) or examples come one at a time.
    Picture the activations of a convolutional layer as a block with axes $N$ (batch), $C$ (channels)
    and $H, W$ (positions, flattened to one axis). The blue values below share one mean and one variance
    (Wu & He, 2018):

    - **batch norm**: one channel, all examples, all positions;
    - **layer norm**: one example, all channels and positions (used in transformers and RNNs);
    - **instance norm**: one example, one channel (used in style transfer: it removes each image's contrast);
    - **group norm**: one example, a group of channels; 1 group is layer norm, $C$ groups is instance norm.

    Only batch norm mixes examples, so only batch norm needs running statistics and behaves
    differently in `eval()`.
    """),
    code("""
    draw_normalizations(shape=(6, 6, 6), groups=2)
    plt.show()
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(4, 6, 3, 3))
    print("group norm with 1 group == layer norm:", np.allclose(normalize(x, "group", groups=1), normalize(x, "layer")))
    print("group norm with C groups == instance norm:", np.allclose(normalize(x, "group", groups=6), normalize(x, "instance")))
    """),
    md(r"""
    In training, batch normalisation lets a deep network take larger steps. The 12-layer network of
    section 9.1 (He initialisation) with and without a `BatchNorm1d` after each hidden layer, same
    learning rate $0.05$:
    """),
    code("""
    bn_runs = {}
    for name, use_bn in [("no batch norm", False), ("batch norm", True)]:
        model = mlp(deep, batchnorm=use_bn)
        bn_runs[name] = train_run(model, SGD(model.parameters(), lr=0.05, momentum=0.9), X_train, y_train,
                                  steps=300, validation_data=(X_val, y_val), eval_every=50)
        print(f"{name:14s} held-out accuracy {bn_runs[name]['val_accuracy'][-1]:.3f}")
    plot_runs(bn_runs)
    plt.show()
    """),
    md(r"""
    ### Exercise 2

    (a) Run the cell above with `lr=0.1`. What happens without batch norm, and why does batch norm
    protect the network? (b) A `Conv2d(64, 128, 3)` is followed by `BatchNorm2d(128)`. How many
    trainable parameters does the batch norm add, how many running statistics does it store, and
    which parameters of the convolution become useless?
    """),
    exercise_answer(r"""
    (a) Without batch norm the loss becomes `nan` within a few dozen steps: a large step makes some
    weights large, the next layer's inputs grow, its gradients grow, and the growth compounds through
    twelve layers. With batch norm each layer's output is re-standardised, so a layer's output scale no
    longer depends on the scale of its weights ($\mathrm{BN}(aWx) = \mathrm{BN}(Wx)$ for $a > 0$), and the
    gradient with respect to $W$ shrinks as $W$ grows, a built-in brake.
    (b) $\gamma$ and $\beta$ per channel: $2 \cdot 128 = 256$ parameters, plus $2 \cdot 128$ running
    statistics that are not trained. The convolution's 128 biases are useless: subtracting the batch
    mean removes any constant added per channel, so `bias=False` is the custom.
    """),
    md(r"""
    ## 9.3 Dropout

    Dropout (Srivastava et al., 2014) switches each hidden unit off at random during training. With
    drop probability $p$ and an independent mask $r_j \sim \mathrm{Bernoulli}(1 - p)$ per unit and
    per example, **inverted dropout** computes
    $$\tilde h_j = \frac{r_j\, h_j}{1 - p}, \qquad \mathbb{E}[\tilde h_j] = \frac{(1 - p)\, h_j}{1 - p} = h_j.$$
    Dividing by $1 - p$ during training keeps the expected activation unchanged, so at test time the
    layer is simply the identity (the original paper instead scaled the weights by $1 - p$ at test time).
    The backward pass of $\tilde h_j = r_j h_j/(1-p)$ is
    $$\frac{\partial L}{\partial h_j} = \frac{r_j}{1 - p}\,\frac{\partial L}{\partial \tilde h_j}:$$
    the **same mask** as the forward pass. A dropped unit contributed nothing to the loss, so it gets no
    gradient; drawing a fresh mask for the backward pass would compute the gradient of a different network.

    Why it helps: every step trains a different "thinned" network, $2^n$ of them sharing weights, and no
    unit can rely on a particular other unit being present, so features must be useful on their own.
    Evaluation then averages, approximately, over all the thinned networks.
    """),
    code("""
    drop = nn.Dropout(p=0.5, seed=0)
    h = np.arange(1.0, 9.0).reshape(1, 8)
    h_tilde = drop.forward(h)
    dh = drop.backward(np.ones_like(h))
    print("h        ", h[0])
    print("forward  ", h_tilde[0], "(kept values doubled)")
    print("backward ", dh[0], "(the same units get gradient 2, the dropped ones 0)")
    means = np.mean([drop.forward(h) for _ in range(4000)], axis=0)
    print("average over 4,000 masks", means[0].round(2), "= h")
    drop.eval()
    print("eval mode", drop.forward(h)[0])
    """),
    md(r"""
    The experiment: a $784 \to 256 \to 256 \to 10$ network on only 500 training images (Fashion-MNIST
    if it is installed, else digits), with and without dropout $p = 0.5$ after each hidden layer, Adam,
    400 steps. Watch the held-out loss (middle) and the gap between the training accuracy (dashed) and
    the held-out accuracy (solid).
    """),
    code("""
    def plot_regularisation(runs, title):
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
        plot_runs(runs, metrics=("loss", "val_loss"), axes=axes[:2])
        for k, (name, run) in enumerate(runs.items()):
            axes[2].plot(run["eval_step"], run["train_accuracy"], "--", color=f"C{k}")
            axes[2].plot(run["eval_step"], run["val_accuracy"], "o-", markersize=3, color=f"C{k}", label=name)
        axes[2].set_title("accuracy: training (dashed), held-out (solid)", fontsize=10)
        axes[2].set_xlabel("step")
        axes[2].legend(fontsize=8)
        fig.suptitle(title, fontsize=11)
        fig.tight_layout()
        plt.show()
        for name, run in runs.items():
            print(f"{name:18s} training accuracy {run['train_accuracy'][-1]:.3f}, held-out accuracy "
                  f"{run['val_accuracy'][-1]:.3f}, held-out loss {run['val_loss'][-1]:.3f} "
                  f"(lowest {run['val_loss'].min():.3f})")

    dropout_runs = {}
    for name, p in [("no dropout", 0.0), ("dropout 0.5", 0.5)]:
        model = mlp([784, 256, 256, 10], dropout=p)
        dropout_runs[name] = train_run(model, Adam(model.parameters(), lr=1e-3), X_small, y_small, steps=400,
                                       validation_data=(X_hard_val, y_hard_val), eval_every=50)
    plot_regularisation(dropout_runs, f"dropout, 500 {hard_name} training images")
    """),
    md(r"""
    With about 270,000 weights and 500 images the network can memorise: without dropout it reaches 100%
    training accuracy, and its held-out loss turns around and climbs while the held-out accuracy stays flat:
    the network becomes confidently wrong on the images it gets wrong. Dropout slows the memorising and
    keeps the held-out loss lower. On this tiny budget it does not buy much accuracy; on large networks
    trained for long (AlexNet's two 4096-unit layers) it was essential.

    ## 9.4 Data augmentation

    The best regulariser is more data. When there is none, we can make plausible new examples from the
    old ones: a digit shifted by two pixels, turned by ten degrees or slightly warped is still the same
    digit. `cnnlib.augment` does this in NumPy with seeded randomness: whole-pixel shifts, rotations by
    bilinear interpolation, Simard's elastic distortion (a smoothed random displacement field) and
    noise. AlexNet used random crops and horizontal flips of ImageNet photographs (a flipped cat is a
    cat; a flipped 2 is not a 2).
    """),
    code("""
    one_of_each = [int(np.flatnonzero(labels == d)[0]) for d in range(10)]   # the 5,000 digits are sorted by class
    digits = images[one_of_each[:6]] / 255.0
    rows = [digits]
    for transform, strength in [("shift", 2), ("rotate", 15), ("elastic", 34), ("noise", 0.2)]:
        rows.append(np.stack([augmented(d, transform, strength, copies=1, seed=k)[0] for k, d in enumerate(digits)]))
    plots.plot_images(np.concatenate(rows), ncols=6, size=1.0,
                      titles=[f"{name}" if i % 6 == 0 else "" for name in
                              ["original", "shift 2", "rotate 15", "elastic 34", "noise 0.2"] for i in range(6)])
    plt.show()
    """),
    md(r"""
    Try the transforms and their strength. At what angle does a 6 start to look like a 9, or a rotated
    1 like a 7? Augmentation must stay inside the set of transformations that keep the label.
    """),
    code("""
    augmentation_explorer(images[one_of_each] / 255.0)          # the slider "digit" picks the class 0-9
    """),
    md(r"""
    The experiment: a $784 \to 256 \to 10$ network on only 500 training digits, with and without
    augmentation (every batch gets a fresh random shift of up to 2 pixels and rotation of up to
    10 degrees), 400 steps. A fully connected network has no built-in tolerance to shifts, so it must
    learn it from examples.
    """),
    code("""
    def shift_and_rotate(batch, rng):
        return augment(batch.reshape(-1, 28, 28), rng=rng, shift=2, rotate=10).reshape(len(batch), -1)

    augment_runs = {}
    for name, transform in [("no augmentation", None), ("shift + rotate", shift_and_rotate)]:
        model = mlp([784, 256, 10])
        augment_runs[name] = train_run(model, SGD(model.parameters(), lr=0.05, momentum=0.9), X_train[:500],
                                       y_train[:500], steps=400, validation_data=(X_val, y_val), eval_every=50,
                                       transform=transform)
    plot_regularisation(augment_runs, "augmentation, 500 MNIST training digits")
    """),
    md(r"""
    Augmentation helps far more than dropout did here: the network sees a new variant of each digit at
    every visit, so memorising the 500 originals is no longer enough, and the held-out accuracy rises by
    several points.

    ## 9.5 Weight decay

    Add an L2 penalty to the loss, $\tilde L(\theta) = L(\theta) + \tfrac{\lambda}{2}\lVert w\rVert^2$
    (the $\lambda R(\theta)$ of a regularised logistic regression). Its gradient adds $\lambda w$, and a
    gradient step becomes
    $$w \leftarrow w - \eta(\nabla L + \lambda w) = (1 - \eta\lambda)\, w - \eta \nabla L:$$
    every step first shrinks ("decays") the weights by the factor $1 - \eta\lambda$, then follows the
    gradient. Weights that the data do not keep pushing up drift back to 0, which favours smoother
    functions. `SGD(params, lr, weight_decay=λ)` does exactly this. (With Adam the shrinking gets divided
    by Adam's per-parameter scale; AdamW applies $(1 - \eta\lambda)$ directly instead.) Usually biases and
    batch-norm parameters are left undecayed; here everything is decayed for simplicity.
    """),
    code("""
    decay_runs = {}
    for name, wd in [("no weight decay", 0.0), ("weight decay 3e-3", 3e-3)]:
        model = mlp([784, 256, 256, 10])
        decay_runs[name] = train_run(model, SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=wd),
                                     X_small, y_small, steps=400, validation_data=(X_hard_val, y_hard_val),
                                     eval_every=50)
    plot_regularisation(decay_runs, f"weight decay, 500 {hard_name} training images")
    plot_runs(decay_runs, metrics=("weight_norm",))
    plt.show()
    print("weight norm at the end:", {name: round(float(run["weight_norm"][-1]), 1) for name, run in decay_runs.items()})
    """),
    md(r"""
    Without decay the weights keep growing as the network pushes its training scores to extremes; with
    decay they stay markedly smaller and the held-out loss stays lower. As with dropout, the accuracy
    changes by a point or two at most on this small problem.

    ## 9.6 Learning-rate schedules

    Early in training, large steps cross the loss landscape quickly; late in training they bounce around
    the bottom of a valley, and mini-batch noise keeps the loss from settling. So the learning rate is
    lowered as training goes on:

    - **step decay**: $\eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}$, e.g. divide by 10 every $s$ steps
      (AlexNet divided by 10 by hand whenever the validation error stopped improving, three times in all);
    - **cosine**: $\eta_t = \eta_\text{min} + \tfrac12(\eta_0 - \eta_\text{min})\big(1 + \cos(\pi t / T)\big)$
      over a run of $T$ steps: smooth, and no step times to choose;
    - **warm-up**: grow $\eta$ linearly over the first few hundred steps before the decay, so that the
      first, largest gradients of a freshly initialised network do not throw it far off.
    """),
    code("""
    steps = np.arange(400)
    plt.figure(figsize=(6, 2.8))
    for kind in ["constant", "step", "cosine", "warmup + cosine"]:
        plt.plot(steps, lr_schedule(kind, steps, 400, lr0=0.2, gamma=0.1, warmup=40), label=kind)
    plt.xlabel("step")
    plt.ylabel("learning rate")
    plt.legend(fontsize=8)
    plt.show()
    schedule_explorer(total_steps=400, lr0=0.2)
    """),
    code("""
    schedule_runs = {}
    for kind in ["constant", "step", "cosine"]:
        model = mlp([784, 128, 10])
        schedule_runs[kind] = train_run(model, SGD(model.parameters(), lr=0.2, momentum=0.9), X_train, y_train,
                                        steps=400, validation_data=(X_val, y_val), eval_every=50,
                                        schedule=lambda t, kind=kind: lr_schedule(kind, t, 400, lr0=0.2))
        print(f"{kind:9s} held-out accuracy {schedule_runs[kind]['val_accuracy'][-1]:.3f}")
    plot_runs(schedule_runs, metrics=("loss", "val_accuracy", "lr"))
    plt.show()
    """),
    md(r"""
    With a constant rate the training loss stays noisy; each drop of the step schedule makes the loss
    fall at once, and the cosine schedule ends lowest of the three.

    ## 9.7 Momentum and Adam

    Plain SGD, $\theta \leftarrow \theta - \eta\, g$ with a stochastic gradient $g$, has one learning rate
    for all parameters. In a long narrow valley that is a bad compromise: the rate that is safe across
    the steep walls crawls along the flat floor. For the valley
    $L(w) = \tfrac12(a w_0^2 + b w_1^2)$ with curvatures $a = 1$ and $b = 20$, one SGD step multiplies
    $w_1$ by $(1 - \eta b)$, which diverges for $\eta > 2/b = 0.1$, while $w_0$ shrinks only by
    $(1 - \eta a)$ per step.

    **Momentum** (the heavy ball) keeps a velocity $v$, an exponentially weighted sum of past gradients:
    $$v \leftarrow \mu\, v + g, \qquad \theta \leftarrow \theta - \eta\, v \qquad (\mu = 0.9 \text{ typically}).$$
    Gradients that keep their sign (along the floor) add up, to a step of up to $\eta g / (1 - \mu)$, ten
    times larger for $\mu = 0.9$; gradients that flip sign (across the walls) cancel.

    **Adam** (Kingma & Ba, 2015) gives every parameter its own rate, the "per-parameter adaptive
    learning rate" $\eta_1, \dots, \eta_p$. It keeps running means of the gradient and of its square,
    $$m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2,$$
    corrects their bias towards the zero start, $\hat m = m / (1 - \beta_1^t)$,
    $\hat v = v / (1 - \beta_2^t)$, and steps
    $$\theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}$$
    with $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$ by default. Dividing by $\sqrt{\hat v}$
    (the typical size of that parameter's gradient) makes the step size roughly $\eta$ whatever the
    curvature: at $t = 1$, $\hat m = g$ and $\sqrt{\hat v} = |g|$, so every parameter moves by exactly
    $\eta$. The paths below come from `cnnlib.optim` itself, driving a two-entry `Parameter`:
    """),
    code("""
    for name in ["SGD", "SGD + momentum 0.9", "Adam"]:
        run = optimizer_path(name, lr=0.05, steps=1)
        print(f"{name:19s} first step from (-4, 1.5): {np.round(run['path'][1] - run['path'][0], 4)}")
    print("SGD at lr 0.09 after 100 steps: loss", optimizer_path("SGD", 0.09, 100)["loss"][-1].round(6),
          "| at lr 0.11:", f"{optimizer_path('SGD', 0.11, 100)['loss'][-1]:.3g}")
    optimizer_path_explorer(lr=0.02, steps=60)
    """),
    md(r"""
    Move the learning rate: at $0.02$ SGD is still far from the minimum along $w_0$, momentum overshoots
    and comes back, Adam walks a straight diagonal at about $\eta$ per step, which at this rate makes it
    the slowest of the three (its learning rate is a distance per step, not a multiple of the gradient).
    Above $0.1$ SGD leaves the valley. On digits, the same three optimizers with their usual settings, 300 steps:
    """),
    code("""
    optimizer_runs = {}
    for name, make in [("SGD lr 0.02", lambda p: SGD(p, lr=0.02)),
                       ("SGD + momentum 0.9, lr 0.02", lambda p: SGD(p, lr=0.02, momentum=0.9)),
                       ("Adam lr 1e-3", lambda p: Adam(p, lr=1e-3))]:
        model = mlp([784, 128, 10])
        optimizer_runs[name] = train_run(model, make(model.parameters()), X_train, y_train, steps=300,
                                         validation_data=(X_val, y_val), eval_every=50)
    plot_runs(optimizer_runs)
    plt.show()
    print(f"all experiments of this lecture: {time.perf_counter() - start_of_lecture:.0f} s")
    """),
    md(r"""
    ### Exercise 3

    Momentum 0.9 multiplies a steady gradient's step by up to 10. If plain SGD works well at
    $\eta = 0.1$, what learning rate would you try first with momentum 0.9, and why? Check the effective
    step with `optimizer_path`.
    """),
    exercise_answer(r"""
    About $\eta = 0.01$: with a constant gradient $g$, the velocity tends to $v = g + 0.9 g + 0.81 g +
    \dots = g / (1 - 0.9) = 10 g$, so the step $\eta v$ is ten times SGD's. Keeping $\eta v$ the same
    means dividing $\eta$ by 10. That is why `cnnlib.widgets.training.OPTIMIZERS` pairs momentum 0.9 with
    $\eta = 0.01$ and plain SGD with $0.05$. On the valley, `optimizer_path("SGD + momentum 0.9", 0.01,
    60)` and `optimizer_path("SGD", 0.1, 60)` end at losses of the same order (momentum still
    oscillates a little).
    """),
    md(r"""
    ### Exercise 4

    (a) Show that Adam's first update moves every parameter by exactly $\eta$ (up to $\epsilon$),
    whatever the size of its gradient. (b) Why is the bias correction needed? What would the first
    step be without it?
    """),
    exercise_answer(r"""
    (a) At $t = 1$: $m = (1 - \beta_1) g$, $v = (1 - \beta_2) g^2$; after correction $\hat m = g$ and
    $\hat v = g^2$, so the step is $\eta\, g / (|g| + \epsilon) \approx \eta\,\mathrm{sign}(g)$. The test
    in `tests/cnnlib/test_widgets_toolkit.py` checks $(0.05, -0.05)$ for the valley.
    (b) Without correction the step is $\eta (1 - \beta_1) g / (\sqrt{1 - \beta_2}\,|g|) =
    \eta \cdot 0.1 / 0.0316 \approx 3.2\,\eta$ per parameter in the first step, and it takes about
    $1/(1 - \beta_2) = 1000$ steps for $v$ to forget its zero start: early steps would be too large by a
    varying factor.
    """),
    md(r"""
    ### Exercise 5

    Combine the tools: train `mlp([784, 256, 256, 10], batchnorm=True, dropout=0.2)` on the 500 training
    images with augmentation, Adam and a cosine schedule for 600 steps. Which single change made the
    largest difference to the held-out accuracy in this lecture, and why is that plausible for a dataset
    of 500 images?
    """),
    exercise_answer(r"""
    Augmentation: on 500 digits it raised the held-out accuracy by several points, while dropout and
    weight decay mainly lowered the held-out *loss*. With so few images, the main problem is that the
    network has not seen enough variation (positions, slants); augmentation supplies exactly that,
    while dropout and weight decay can only make the network use what it has seen more cautiously. A
    convolutional network would need less of it, because weight sharing and pooling already give some
    tolerance to shifts.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
