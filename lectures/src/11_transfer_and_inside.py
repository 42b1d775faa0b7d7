"""Builds lectures/11_transfer_and_inside.ipynb (lecture 11: transfer learning, what units respond to, adversarial digits)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 11: Transfer learning and looking inside

    A trained network is more than a classifier: its convolutional layers compute features that
    may serve another task, and the same backward pass that trains the weights can also change
    the **input**. This lecture uses one small network trained on handwritten digits three ways:
    it lends its features to a new task, it shows which images its units respond to, and it is
    fooled by digits changed by a few grey levels.

    **What you will learn**

    - transfer learning: a pretrained feature extractor with a new head, frozen or fine-tuned, against
      training from scratch, with few labelled examples;
    - the gradient of a score with respect to the input, $\partial L / \partial x$, computed by the same backward pass;
    - activation maximisation: gradient ascent on the image to see what a unit responds to, in the
      first layer (its own kernel) and deeper;
    - the fast gradient sign method (FGSM), $x + \epsilon\,\operatorname{sign}(\nabla_x L)$, that fools
      the network, and why a tiny change per pixel adds up over 784 pixels.

    Everything trains on a few thousand images for a few hundred steps in float32, so the numbers
    are those of a small experiment, not of ImageNet.
    """),
    code(SETUP),
    code("""
    import copy

    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib import nn, plots
    from cnnlib.data import (DatasetNotFoundError, FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist,
                             to_nchw, train_val_split)
    from cnnlib.optim import Adam
    from cnnlib.train import evaluate, predict, train_step
    from cnnlib.widgets.inside import (fgsm, fgsm_accuracy, fgsm_explorer, input_gradient, maximize_activation,
                                       softmax)

    images, labels = load_mnist("train-5k")                     # 5,000 real MNIST digits
    X = to_nchw(images)                                          # (5000, 1, 28, 28) float32 in [0, 1]
    X_train, X_val, y_train, y_val = train_val_split(X, labels, val_fraction=0.2, seed=0)
    """),
    md(r"""
    ## 11.1 The source task and the new task

    **Transfer learning** trains a network on a *source* task with plenty of data and reuses what it
    learned on a *target* task with little. Our source is digit recognition (4,000 MNIST digits). Our
    target is **Fashion-MNIST**: $28 \times 28$ grey images of ten kinds of clothing, the same format
    as MNIST but a different world. If Fashion-MNIST is not on this machine (and cannot be
    downloaded), the cell says so and falls back to a nearer target: the network learns digits
    0-4 and must then tell apart 5-9.
    """),
    code("""
    try:
        try:
            f_train, fy_train = load_fashion_mnist("train", download=False)
            f_test, fy_test = load_fashion_mnist("test", download=False)
        except DatasetNotFoundError:                              # not installed: try the mirrors once
            f_train, fy_train = load_fashion_mnist("train")
            f_test, fy_test = load_fashion_mnist("test")
    except (DatasetNotFoundError, OSError) as err:
        print("*** Fashion-MNIST is not available here:", str(err).splitlines()[0])
        print("*** FALLBACK: source task = digits 0-4, new task = digits 5-9 (labels 5-9 become 0-4).")
        target = "digits 5-9"
        source_classes = [0, 1, 2, 3, 4]
        is_source = np.isin(y_train, source_classes)
        new_train, new_test = np.flatnonzero(~is_source), np.flatnonzero(~np.isin(y_val, source_classes))
        T_train, Ty_train = X_train[new_train], y_train[new_train] - 5
        T_test, Ty_test = X_val[new_test], y_val[new_test] - 5
        class_names = [str(k) for k in range(5, 10)]
    else:
        target = "Fashion-MNIST"
        source_classes = list(range(10))
        rng = np.random.default_rng(1)
        pick = rng.permutation(len(f_train))[:2000]               # a small labelled pool for the new task
        T_train, Ty_train = to_nchw(f_train[pick]), fy_train[pick]
        T_test, Ty_test = to_nchw(f_test[:2000]), fy_test[:2000]
        class_names = list(FASHION_MNIST_CLASSES)
    n_new = len(class_names)
    print(f"new task: {target}, {n_new} classes; labelled pool {len(T_train)}, test {len(T_test)} images")
    shown = [np.flatnonzero(Ty_train == k)[0] for k in range(n_new)]
    plots.plot_images(T_train[shown], titles=[class_names[k][:11] for k in range(n_new)], ncols=n_new)
    plt.show()
    """),
    md(r"""
    The network: two convolution + ReLU + max-pool stages compute 256 features
    ($16 \times 4 \times 4$), and one linear layer, the **head**, turns them into class scores. We
    train it on the source task only.
    """),
    code("""
    def small_cnn(n_classes=10, seed=0):
        return nn.Sequential(
            ("conv1", nn.Conv2d(1, 8, 5, seed=seed, dtype=np.float32)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),                                              # 8 x 12 x 12
            ("conv2", nn.Conv2d(8, 16, 5, seed=seed + 1, dtype=np.float32)), ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)), ("flatten", nn.Flatten()),                   # 16 x 4 x 4 = 256
            ("head", nn.Linear(256, n_classes, seed=seed + 2, dtype=np.float32)))


    def train(model, params, X, y, steps, lr, batch_size=32, seed=0):
        optimizer, rng = Adam(params, lr=lr), np.random.default_rng(seed)
        for _ in range(steps):
            batch = rng.integers(0, len(X), batch_size)
            train_step(model, optimizer, X[batch], y[batch])
        return model


    is_source = np.isin(y_train, source_classes)
    digits_net = small_cnn()
    train(digits_net, digits_net.parameters(), X_train[is_source], y_train[is_source], steps=400, lr=2e-3,
          batch_size=64)
    val_source = np.isin(y_val, source_classes)
    print(nn.summary(digits_net, (1, 28, 28)))
    print(f"source task: validation accuracy {evaluate(digits_net, X_val[val_source], y_val[val_source])[1]:.3f}")
    """),
    md(r"""
    ## 11.2 Three ways to learn the new task

    Everything up to the flatten is the **feature extractor** $\phi(x) \in \mathbb{R}^{256}$; the head is
    a linear layer. With $n$ labelled images of the new task:

    1. **frozen features + new head**: keep $\phi$ as it is and train only a new head
       (a logistic regression on $\phi(x)$). The features are computed once, so this is fast;
    2. **fine-tuning**: start from 1 and then train *all* layers with a smaller learning rate, so
       the features can adapt a little without forgetting everything;
    3. **from scratch**: the same architecture with random weights, all layers trained on the $n$ images.

    Each method gets the same number of steps on the same mini-batches; the test images are never
    used for training.
    """),
    code("""
    def feature_extractor(net):
        return nn.Sequential(*[(name, copy.deepcopy(layer)) for name, layer in net.named_children()
                               if name != "head"])


    def three_ways(n, steps=300, seed=0):
        X_n, y_n = T_train[:n], Ty_train[:n]
        features = feature_extractor(digits_net)
        F_n, F_test = predict(features, X_n), predict(features, T_test)          # phi(x), once
        head = nn.Linear(256, n_new, seed=5, dtype=np.float32)
        train(head, head.parameters(), F_n, y_n, steps, lr=5e-3, seed=seed)
        frozen = evaluate(head, F_test, Ty_test)[1]

        tuned = nn.Sequential(*features.named_children(), ("head", head))        # start from the frozen model
        train(tuned, tuned.parameters(), X_n, y_n, steps, lr=5e-4, seed=seed)
        fine_tuned = evaluate(tuned, T_test, Ty_test)[1]

        scratch_net = small_cnn(n_new, seed=10)
        train(scratch_net, scratch_net.parameters(), X_n, y_n, steps, lr=2e-3, seed=seed)
        scratch = evaluate(scratch_net, T_test, Ty_test)[1]
        return {"frozen features + new head": frozen, "fine-tuning": fine_tuned, "from scratch": scratch}


    sizes = [100, 1000]
    table = {n: three_ways(n) for n in sizes}
    print(f"test accuracy on {len(T_test)} images of {target}, 300 steps each")
    print(f"{'method':28s}" + "".join(f"{f'n = {n}':>10s}" for n in sizes))
    for method in table[sizes[0]]:
        print(f"{method:28s}" + "".join(f"{table[n][method]:10.3f}" for n in sizes))
    for n in sizes:
        best = max(table[n], key=table[n].get)
        print(f"with {n} labelled images the best is: {best}")
    """),
    md(r"""
    **Reading the table.** Transfer pays when the source features fit the new task and labelled data
    is scarce. Frozen features cost almost nothing to train (one linear layer on 256 numbers), and
    with 100 images a network trained from scratch has few examples to learn its own filters from.
    But features are only as general as their source: edge and stroke detectors learned on 4,000
    digits describe thin pen strokes, not the textures and large shapes of clothing, so on
    Fashion-MNIST a network from scratch can match or beat them once it sees enough images. With
    ImageNet as the source (a million images, a thousand classes), the first layers learn general
    edges, colours and textures, and frozen or fine-tuned features win on most image tasks: that is
    the usual recipe (download a pretrained network, cut off its classification layer, train a new
    one).

    ## 11.3 What do the units respond to?

    To see what a unit wants, change the **image** rather than the weights. The gradient of the
    unit's activation $a(x)$ with respect to $x$ comes from the same backward pass as training, run
    down to the input. Gradient **ascent** with a small penalty that keeps the image bounded,
    $$x \leftarrow x + \eta\,\big(\nabla_x a(x) - \lambda x\big),$$
    converges to an image that maximises $a(x) - \tfrac{\lambda}{2}\lVert x\rVert^2$: this is
    **activation maximisation**.

    ### 11.3.1 First layer: the unit wants its own kernel

    A first-layer unit is linear in its $5 \times 5$ window: $a = w \cdot x + b$, so
    $\nabla_x a = w$ and the ascent stops where $w = \lambda x$, at $x = w / \lambda$. The optimised
    images (bottom row) are the kernels (top row), up to scale.
    """),
    code("""
    kernels = digits_net["conv1"].weight.data                     # (8, 1, 5, 5)
    best, history = maximize_activation(digits_net, "conv1", np.arange(8), (1, 5, 5), steps=60, lr=0.5, decay=1.0)
    unit = lambda a: a / np.sqrt((a**2).sum(axis=(1, 2, 3), keepdims=True))     # scale each image to length 1
    print("largest difference between x*/|x*| and w/|w|:", np.abs(unit(best) - unit(kernels)).max())
    plots.plot_images(np.concatenate([kernels, best]),
                      titles=[f"w {k}" for k in range(8)] + [f"x* {k}" for k in range(8)], ncols=8, cmap="RdBu_r",
                      symmetric=True, suptitle="conv1: kernels (top), images found by gradient ascent (bottom)")
    plt.show()
    """),
    md(r"""
    ### 11.3.2 Deeper: the second convolution and the class scores

    A unit of `conv2` at the centre of its map sees a $14 \times 14$ patch of the digit (receptive
    field $5 + (2-1)\cdot 1 + (5-1)\cdot 2 = 14$, lecture 5). It is no longer linear in $x$ (a ReLU
    and a max-pool sit between), so the ascent finds a local optimum. Maximising a **class score**
    of the head gives the pattern the whole network associates most with that class.

    Plain gradient ascent from faint noise gives speckled images (first row below): the network
    also responds to fine pixel patterns that no pen would draw, and nothing in the objective
    asks for a natural image. Two regularisers (Yosinski et al., 2015) help: blur the image a little
    every few steps, and keep it a valid image, with pixels in $[0, 1]$, starting from black.
    """),
    code("""
    plain, plain_history = maximize_activation(digits_net, "head", source_classes, (1, 28, 28), steps=150,
                                               lr=0.05, decay=0.05, seed=0)
    start = np.zeros((len(source_classes), 1, 28, 28))
    smooth, smooth_history = maximize_activation(digits_net, "head", source_classes, (1, 28, 28), steps=150,
                                                 lr=0.05, decay=0.05, blur_sigma=0.8, clip=(0, 1), start=start)
    plots.plot_images(plain, titles=[f"score {k}" for k in source_classes], ncols=10, cmap="RdBu_r",
                      symmetric=True, suptitle="class scores, plain ascent (red brighter, blue darker)")
    plots.plot_images(smooth, titles=[f"score {k}" for k in source_classes], ncols=10,
                      suptitle="class scores, blurred and kept in [0, 1]")
    plt.show()
    print("class scores after the ascent, plain:  ", np.round(plain_history[-1], 1))
    print("class scores after the ascent, smooth: ", np.round(smooth_history[-1], 1))

    units, _ = maximize_activation(digits_net, "conv2", np.arange(16), (1, 28, 28), steps=150, lr=0.05,
                                   decay=0.05, blur_sigma=0.8, clip=(0, 1), start=np.zeros((16, 1, 28, 28)))
    plots.plot_images(units[:, :, 7:21, 7:21], titles=[f"conv2 #{k}" for k in range(16)], ncols=8,
                      suptitle="conv2, centre unit: its 14x14 receptive field")
    plt.show()
    """),
    md(r"""
    The smoothed class images look like rough digits: the network needs a few telling strokes in
    the right places (in this run, the loop of a 0 and the slanted bar of a 1). The `conv2` units respond to
    larger parts than the edges of `conv1`: bars in one direction, blobs, corners and ends of strokes.
    Activation maximisation of a network trained on ImageNet gives, in the same way, textures in
    middle layers and object parts (eyes, wheels) in the last ones.

    ## 11.4 Confuse your ConvNet: adversarial digits

    The gradient with respect to the input also says how to make the network **wrong**. The
    **fast gradient sign method** (Goodfellow, Shlens & Szegedy, 2015) takes one step that raises the
    loss of the true class $y$:
    $$x_\text{adv} = \operatorname{clip}_{[0,1]}\big(x + \epsilon\,\operatorname{sign}(\nabla_x L(x, y))\big).$$
    Every pixel moves by at most $\epsilon$. Why is that enough? For a linear score $s = w \cdot x$ the
    step changes the score by $\epsilon\,w \cdot \operatorname{sign}(w) = \epsilon \sum_i |w_i|$:
    $\epsilon$ times the **sum** over all 784 pixels. A change invisible in each pixel becomes large
    in the score, and ReLU networks are piecewise linear. A random $\pm\epsilon$ pattern of the same
    size, by contrast, mostly cancels out.
    """),
    code("""
    val_digits = np.flatnonzero(np.isin(y_val, source_classes))[:500]
    Xa, ya = X_val[val_digits], y_val[val_digits]
    eps_values = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]
    curves = fgsm_accuracy(digits_net, Xa, ya, eps_values, random_signs_seed=0)
    print(f"{'epsilon':>8s}  {'FGSM':>6s}  {'random signs':>12s}")
    for eps, a_fgsm, a_random in zip(curves["eps"], curves["fgsm"], curves["random"]):
        print(f"{eps:8.2f}  {a_fgsm:6.3f}  {a_random:12.3f}")
    plt.figure(figsize=(5, 3))
    plt.plot(curves["eps"], curves["fgsm"], "o-", color="tab:red", label="FGSM")
    plt.plot(curves["eps"], curves["random"], "s--", color="0.5", label="random signs, same size")
    plt.xlabel("epsilon (fraction of the 0-1 pixel range)")
    plt.ylabel("accuracy")
    plt.ylim(0, 1.02)
    plt.legend()
    plt.title(f"{len(ya)} validation digits")
    plt.show()
    """),
    md(r"""
    **Explore.** Pick a digit and move $\epsilon$. The first digits are ones that $\epsilon = 0.1$
    already fools; further on come digits the network is surer of. The middle panel is the perturbation
    $\epsilon\,\operatorname{sign}(\nabla_x L)$ (red: brighter, blue: darker; clipped where the pixel is
    already 0 or 1); the bars compare the class probabilities before and after.
    """),
    code("""
    _, grads, _ = input_gradient(digits_net, Xa[:100], ya[:100])
    fooled = predict(digits_net, fgsm(Xa[:100], grads, 0.1)).argmax(axis=1) != ya[:100]
    order = np.argsort(~fooled, kind="stable")[:30]             # fooled at eps = 0.1 first
    print(f"{fooled.sum()} of the first 100 digits are fooled at eps = 0.1")
    fgsm_explorer(digits_net, Xa[order], ya[order], eps=0.1)
    """),
    md(r"""
    The same gradient that trains the network undoes its answer. Defences train on adversarial
    examples (adversarial training) or bound how fast the scores can change; none makes the effect
    disappear, and adversarial images made for one network often fool another trained on the same
    task.

    ## Exercises

    1. **FGSM by hand.** A linear score $s = w \cdot x$ with $w = (1, -2, 3)$ at $x = (0.5, 0.5, 0.5)$,
       $\epsilon = 0.1$, and the step raises $s$. What is $x_\text{adv}$ and by how much does $s$ change?
       For a $28 \times 28$ image with $|w_i| = 0.01$ for every pixel, how much can $\epsilon = 0.1$ change $s$?
    2. **Why a new head?** The new task has 10 (or 5) classes, the old one 10. Why not keep the old
       head, and why does training only the head on frozen features need just one forward pass per image?
    3. **The kernel is the answer.** In 11.3.1, why does the ascent with $\lambda = 1$ end at exactly
       $x = w$, whatever the bias? What would happen with $\lambda = 0$?
    4. **Random is not adversarial.** Check in the table of section 11.4 how much random $\pm\epsilon$ noise
       costs compared with FGSM at $\epsilon = 0.2$, and explain the difference with the linear score of
       exercise 1 (hint: the sum of 784 random signs times $w_i$).
    """),
    exercise_answer(r"""
    1. $\operatorname{sign}(w) = (1, -1, 1)$, so $x_\text{adv} = (0.6, 0.4, 0.6)$ and $s$ rises by
       $\epsilon \sum |w_i| = 0.1 \cdot 6 = 0.6$ (from $1.0$ to $1.6$). With 784 pixels:
       $0.1 \cdot 784 \cdot 0.01 = 0.784$, although no pixel moved by more than $0.1$.
       `fgsm(np.full(3, 0.5), np.array([1., -2., 3.]), 0.1)` gives the same.
    2. The old head scores the *old* classes (digits): its rows are templates for 0-9 in feature space
       and mean nothing for clothing. With the feature extractor frozen, $\phi(x)$ never changes, so it
       is computed once per image and the head trains on 256 numbers per image instead of
       running the convolutions at every step.
    3. The activation is $a = w \cdot x + b$ for the window, so $\nabla_x a = w$ and the update is
       $x \leftarrow x + \eta(w - \lambda x)$: its fixed point is $x = w/\lambda$; the bias adds a
       constant to $a$ and does not change the gradient. With $\lambda = 0$ every step adds $\eta w$:
       the image grows without bound, since a linear function has no maximum.
    4. Random noise costs little (the digits stay readable and most are still right), FGSM much more.
       With random signs $r_i$ the score changes by $\epsilon \sum_i r_i w_i$, a sum of terms that cancel:
       about $\epsilon \sqrt{\sum w_i^2}$ ($= 0.1 \cdot 28 \cdot 0.01 = 0.028$ in exercise 1's example)
       instead of $\epsilon \sum |w_i| = 0.784$: the direction matters, not the size.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
