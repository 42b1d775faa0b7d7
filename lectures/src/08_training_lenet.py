"""Builds lectures/08_training_lenet.ipynb (lecture 8: training LeNet-5)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 8: Training LeNet-5

    We put the pieces together: LeNet-5 (lecture 5), its backward pass (lecture 7) and an
    optimizer, trained with mini-batches on real MNIST digits. Then we look inside the trained
    network and at the digits it gets wrong.

    **What you will learn**

    - how plain SGD, SGD with momentum and Adam differ on the same network and the same mini-batches;
    - how to read a loss curve that updates while the network trains;
    - what the first-layer filters learn, and what the feature maps of one digit look like layer by layer;
    - how a confusion matrix and the misclassified digits show *which* mistakes a classifier makes.

    To keep the lecture fast we train on a few thousand digits for a few epochs; the same code
    trains on all 60,000.
    """),
    code(SETUP),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import display

    from cnnlib import nn, plots
    from cnnlib.data import DatasetNotFoundError, load_mnist, to_nchw, train_val_split
    from cnnlib.models import lenet5
    from cnnlib.optim import Adam
    from cnnlib.train import evaluate, fit, predict
    from cnnlib.widgets.training import LivePlot, OPTIMIZERS, compare_optimizers, feature_map_explorer

    images, labels = load_mnist("train-5k")            # 5,000 real MNIST digits
    X = to_nchw(images, pad_to=32)                      # (5000, 1, 32, 32) float32 in [0, 1]
    X_train, X_val, y_train, y_val = train_val_split(X, labels, val_fraction=0.2, seed=0)
    print("train", X_train.shape, "validation", X_val.shape)
    print(nn.summary(lenet5("modern"), (1, 32, 32)))
    """),
    md(r"""
    ## 8.1 Three optimizers

    With parameters $\theta$, learning rate $\eta$ and the mini-batch gradient $\nabla_\theta L$:

    - **SGD**: $\theta \leftarrow \theta - \eta\, \nabla_\theta L$.
    - **SGD + momentum**: a velocity $v \leftarrow \mu v + \nabla_\theta L$, $\theta \leftarrow \theta - \eta v$
      ($\mu = 0.9$). Steps in a consistent direction add up (up to $1/(1-\mu) = 10$ gradients), zig-zags
      cancel; so it gets a smaller $\eta$ (0.01) than plain SGD (0.05).
    - **Adam**: running means of the gradient ($m$) and of its square ($s$), bias-corrected;
      $\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat s} + \epsilon)$: a step size per parameter.

    Each optimizer trains the **same** starting network (seed 0) on the **same** mini-batches
    (1,000 digits, 2 epochs of 32-digit batches), so the curves differ only by the update rule.
    The plot redraws every 25 steps and after each epoch while the networks train.
    """),
    code("""
    print(OPTIMIZERS)
    live = LivePlot(title="optimizer comparison")
    display(live.widget)

    def new_lenet():
        return lenet5("modern", seed=0, dtype=np.float32)

    results = compare_optimizers(new_lenet, X_train[:1000], y_train[:1000], epochs=2, batch_size=32,
                                 validation_data=(X_val[:500], y_val[:500]), live=live, callback_every=25)
    for name, (history, _) in results.items():
        print(f"{name:15s} final mini-batch loss {history.batch_loss[-1]:.3f}, "
              f"validation accuracy {history.val_accuracy[-1]:.3f}")
    """),
    md(r"""
    The same curves as a static figure (it stays in the saved notebook):
    """),
    code("""
    plots.plot_history({name: history for name, (history, _) in results.items()})
    plt.show()
    """),
    md(r"""
    **Try it yourself.** The widget below runs the same comparison with all learning rates multiplied
    by the slider's value. Training starts only when you press *train* (about half a minute per
    epoch on a laptop).
    """),
    code("""
    from cnnlib.widgets.training import optimizer_comparison_widget

    optimizer_comparison_widget(new_lenet, X_train[:1000], y_train[:1000],
                                validation_data=(X_val[:500], y_val[:500]), epochs=1)
    """),
    md(r"""
    ## 8.2 Train one network a little longer

    We continue the Adam network on all 4,000 training digits for one more epoch, with the same live
    plot as a callback of `fit` (`callbacks=[live_more]`, redrawn every 50 steps and after the epoch).
    """),
    code("""
    model = results["Adam"][1]
    live_more = LivePlot(title="Adam, all 4,000 digits")
    display(live_more.widget)
    live_more.start("Adam")
    history = fit(model, X_train, y_train, epochs=1, batch_size=32,
                  optimizer=Adam(model.parameters(), lr=1e-3), validation_data=(X_val, y_val),
                  callbacks=[live_more], callback_every=50, progress=False)
    val_loss, val_accuracy = evaluate(model, X_val, y_val)
    print(f"validation accuracy {val_accuracy:.3f} on {len(X_val)} held-out digits")
    """),
    md(r"""
    If the official MNIST test set is on this machine (`$CNNLIB_DATA`, or downloaded once), we report
    the accuracy on it too; we never tune anything on it.
    """),
    code("""
    try:
        test_images, test_labels = load_mnist("test", download=False)
    except DatasetNotFoundError as err:
        print("official test set not available here:", str(err).splitlines()[0])
    else:
        test_loss, test_accuracy = evaluate(model, to_nchw(test_images, pad_to=32), test_labels)
        print(f"official MNIST test set: accuracy {test_accuracy:.3f} on {len(test_labels)} digits")
    """),
    md(r"""
    ## 8.3 What the first layer learned

    C1 has six $5\times5$ kernels. Drawn as images (red positive, blue negative), trained kernels
    look like the edge and stroke detectors of lecture 4, although nobody designed them.
    """),
    code("""
    plots.plot_filters(model, size=1.3)
    plt.show()
    """),
    md(r"""
    ## 8.4 One digit through the network

    Each row shows the output of one layer for a single digit: C1's six maps respond to strokes in
    different directions, max-pooling (S2) halves the resolution, and C3's sixteen maps combine
    them into larger parts. Use the slider to pick another validation digit.
    """),
    code("""
    plots.plot_feature_maps(model, X_val[0], layers=["input", "C1", "S2", "C3", "S4"], max_maps=8)
    plt.show()
    feature_map_explorer(model, X_val[:40], y_val[:40])
    """),
    md(r"""
    ## 8.5 Which mistakes?

    The confusion matrix counts, for every true class (row), how often each class was predicted
    (column). The diagonal holds the correct answers.
    """),
    code("""
    y_pred = np.argmax(predict(model, X_val), axis=1)
    cm = plots.confusion_matrix(y_val, y_pred, num_classes=10)
    plots.plot_confusion_matrix(cm, title=f"validation digits (accuracy {np.trace(cm) / cm.sum():.3f})")
    plt.show()
    off_diagonal = cm - np.diag(np.diag(cm))
    true_class, predicted_class = np.unravel_index(np.argmax(off_diagonal), cm.shape)
    print(f"most frequent mistake: {true_class} taken for {predicted_class} ({off_diagonal.max()} times)")
    """),
    code("""
    wrong = plots.misclassified(y_val, y_pred)
    print(len(wrong), "misclassified validation digits; the first ones (true -> predicted):")
    plots.plot_misclassified(X_val[:, :, 2:30, 2:30], y_val, y_pred, max_images=20)
    plt.show()
    """),
    md(r"""
    ## Exercises

    1. How many trainable parameters does C1 have, and how many multiplications does it do for one
       $32\times32$ digit?
    2. In 8.1, SGD with momentum uses a learning rate five times smaller than plain SGD, yet it gets
       further. Why?
    3. Re-run 6.1 with all learning rates halved (the widget's slider at 0.5, or
       `compare_optimizers(..., lr_scale=0.5)`). Which optimizer suffers most?
    4. Look at the misclassified digits. Are the mistakes ones a person could make? Which pair of
       classes does the confusion matrix say is hardest?
    """),
    exercise_answer(r"""
    1. $6 \cdot (5\cdot5\cdot1 + 1) = 156$ parameters. Each of the 6 maps has $28\times28$ outputs,
       each a $5\times5$ dot product: $6 \cdot 784 \cdot 25 = 117{,}600$ multiplications.
    2. Momentum accumulates the gradients of consecutive steps: in a direction where they agree the
       velocity grows up to $1/(1-\mu) = 10$ times one gradient, so the effective step there is
       up to $10 \cdot 0.01 = 0.1$, twice plain SGD's, while components that change sign from batch
       to batch cancel instead of making the path zig-zag.
    3. Plain SGD: its progress per step is proportional to $\eta$, so halving $\eta$ roughly halves
       how far it gets in 2 epochs. Adam's step size depends much less on the gradient's scale and
       changes least.
    4. Most are badly written or ambiguous digits (a 4 that is nearly a 9, a 7 with a bar like a 2).
       The hardest pair is printed under the confusion matrix; it depends on the run, often 4/9,
       3/5 or 7/9.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
