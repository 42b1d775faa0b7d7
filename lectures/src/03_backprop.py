"""Builds lectures/03_backprop.ipynb (lecture 3: backpropagation on computational graphs)."""
import sys

from course_tools.notebooks import SETUP, code, exercise_answer, lecture_notebook, main, md

cells = [
    md(r"""
    # Lecture 3: Backpropagation on computational graphs

    A neural network is a long chain of simple operations. Training it needs the
    derivative of the loss with respect to every weight, and **backpropagation**
    gets all of them in one backward sweep by applying the chain rule locally, gate
    by gate.

    **What you will learn**

    - the chain rule for one variable and for several paths ($f = yz$, $y = x^3$, $z = x^2$ gives $5x^4$);
    - how to draw an expression as a computational graph and run the forward and backward passes on it;
    - the one rule of the backward pass: **downstream = upstream × local**;
    - the gate patterns: add distributes, multiply swaps, max routes, copy adds;
    - derivatives of vectors and matrices, and why a gradient has the shape of its variable;
    - a two-layer network trained in about 20 lines of NumPy, then the same with `cnnlib`.
    """),
    code(SETUP),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnnlib.autodiff import Value, backward_steps, draw_graph, lecture_example, sigmoid_neuron_example
    from cnnlib.gradcheck import numerical_gradient, rel_error
    from cnnlib.widgets.backprop import (backprop_stepper, chain_rule_example, chain_rule_terms,
                                         gate_explorer, gate_gradients)
    """),
    md(r"""
    ## 3.1 The chain rule

    If $f(x) = g(h(x))$ then
    $$\frac{df}{dx} = \frac{dg}{dh}\,\frac{dh}{dx}.$$
    With $u = h(x)$ we call $\frac{df}{du}$ the **upstream** gradient (how much the
    output cares about $u$) and $\frac{du}{dx}$ the **local** gradient (how much $u$
    moves when $x$ moves). Their product is the gradient passed **downstream** to $x$.

    `cnnlib.autodiff.Value` records every operation as a node of a graph and knows
    each local gradient. Here $f(x) = \tanh(x^2)$ at $x = 0.8$, checked against a
    central difference $\frac{f(x+h) - f(x-h)}{2h}$:
    """),
    code("""
    x = Value(0.8, "x")
    u = x**2
    f = u.tanh()
    f.backward()
    h = 1e-6
    numeric = (np.tanh((0.8 + h) ** 2) - np.tanh((0.8 - h) ** 2)) / (2 * h)
    print(f"local gradients: du/dx = {u.local_grads[0]:.4f}, df/du = {f.local_grads[0]:.4f}")
    print(f"chain rule:      df/dx = {x.grad:.6f}")
    print(f"numerical:       df/dx = {numeric:.6f}")
    """),
    md(r"""
    Why not let a computer algebra system differentiate the whole network symbolically? The
    rules (sum, product, chain) are easy to apply, but the expression for a deep network's
    derivative grows with every layer, repeats the same sub-expressions many times and is thrown
    away once evaluated. Backpropagation never writes the derivative down: it passes **numbers**
    backwards and reuses each intermediate result once, so the gradient costs about as much as the
    forward pass.
    """),
    md(r"""
    ## 3.2 The multivariate chain rule

    When $x$ reaches $f$ along several paths, the contributions of the paths **add**.
    For $f = y\,z$ with $y = x^3$ and $z = x^2$:
    $$\frac{df}{dx} = \frac{\partial f}{\partial y}\frac{dy}{dx} + \frac{\partial f}{\partial z}\frac{dz}{dx}
      = z \cdot 3x^2 + y \cdot 2x = 3x^4 + 2x^4 = 5x^4,$$
    which is the derivative of $f = x^5$, as it must be.
    """),
    code("""
    for x0 in [1.0, 2.0, -1.5]:
        terms = chain_rule_terms(x0)
        print(f"x = {x0:5}: via y {terms['via_y']:8.3f} + via z {terms['via_z']:8.3f} = {terms['total']:8.3f}"
              f"   5x^4 = {5 * x0**4:8.3f}")

    f, inputs = chain_rule_example(2.0)
    f.backward()
    draw_graph(f)
    plt.show()
    """),
    md(r"""
    ## 3.3 A computational graph: $f(x, y, z) = (x + y)\,z$

    Introduce $q = x + y$, so $f = q z$. At $x = -2$, $y = 5$, $z = -4$ the forward
    pass gives $q = 3$ and $f = -12$. Going backward:

    | node | upstream | local | downstream |
    |---|---|---|---|
    | $f$ | 1 | | |
    | $z$ | $\partial f/\partial f = 1$ | $\partial f/\partial z = q = 3$ | $3$ |
    | $q$ | 1 | $\partial f/\partial q = z = -4$ | $-4$ |
    | $x$ | $-4$ | $\partial q/\partial x = 1$ | $-4$ |
    | $y$ | $-4$ | $\partial q/\partial y = 1$ | $-4$ |

    Each box below shows the forward value (`data`) and the gradient (`grad`).
    """),
    code("""
    f, inputs = lecture_example()          # x = -2, y = 5, z = -4
    f.backward()
    print({name: v.grad for name, v in inputs.items()})
    draw_graph(f)
    plt.show()
    """),
    md(r"""
    ## 3.4 The sigmoid neuron

    A neuron with two inputs computes
    $$f(w, x) = \frac{1}{1 + e^{-(w_0 x_0 + w_1 x_1 + w_2)}}.$$
    Built from primitive gates (×, +, negate, exp, +1, 1/x), the backward pass needs
    only the local gradient of each gate. With the lecture's values $w = (2, -3, -3)$,
    $x = (-1, -2)$ the output is $0.73$ and the gradients are about
    $\partial f/\partial w = (-0.20, -0.39, 0.20)$, $\partial f/\partial x = (0.39, -0.59)$.
    """),
    code("""
    f, inputs = sigmoid_neuron_example()
    f.backward()
    print(f"f = {f.data:.4f}")
    print({name: round(v.grad, 4) for name, v in inputs.items()})
    draw_graph(f)
    plt.show()
    """),
    md(r"""
    The whole tail $1/(1 + e^{-z})$ is the sigmoid $\sigma(z)$, whose derivative is
    $\sigma(z)(1 - \sigma(z))$. One `sigmoid` gate replaces five primitive gates and
    gives the same gradients: we are free to choose how coarse the gates are, as
    long as we know each gate's local gradient.
    """),
    code("""
    f_gate, inputs_gate = sigmoid_neuron_example(primitive=False)
    f_gate.backward()
    print(f"sigmoid gate: local gradient σ(1-σ) = {f.data * (1 - f.data):.4f}")
    print({name: round(v.grad, 4) for name, v in inputs_gate.items()})
    """),
    md(r"""
    ## 3.5 The backward pass, one node at a time

    Drag the **backward step** slider. Step 0 is the forward pass; every further step
    takes one node (red), whose gradient is complete, and sends **upstream × local**
    to each of its inputs. A node used twice (like $x$ in the $5x^4$ example) collects
    the sum of its contributions. Pick another graph in the dropdown.
    """),
    code("""
    backprop_stepper()
    """),
    md(r"""
    ## 3.6 Gate patterns

    Four gates explain most of the gradient flow in a network:

    - **add distributes**: $a + b$ passes the upstream gradient unchanged to both inputs;
    - **multiply swaps**: $a \cdot b$ sends $u\,b$ to $a$ and $u\,a$ to $b$;
    - **max routes**: $\max(a, b)$ sends all of $u$ to the larger input and 0 to the other;
    - **copy adds**: a value used in two places receives the sum of both upstream gradients.
    """),
    code("""
    for gate in ["add", "multiply", "max", "copy"]:
        out, down = gate_gradients(gate, a=3.0, b=-4.0, upstream=2.0, upstream2=1.0)
        print(f"{gate:9s} forward {out!s:12s} downstream {down}")
    gate_explorer()
    """),
    md(r"""
    ### Exercise 1

    (a) Let $f(x, y, z) = \max(x, y) \cdot z$ at $x = 1$, $y = 4$, $z = -2$. Work out
    $\partial f/\partial x$, $\partial f/\partial y$ and $\partial f/\partial z$ by hand with the
    gate patterns, then check with `Value` (`Value(1.0).max(Value(4.0))`).

    (b) A **maxout** unit outputs the larger of two linear functions,
    $f = \max(w_1 \cdot x + b_1,\ w_2 \cdot x + b_2)$. With $x = (1, 2)$, $w_1 = (1, 0)$, $b_1 = 0$,
    $w_2 = (0, 1)$, $b_2 = 0.5$ and an upstream gradient of 1, which parameters get a gradient, and what is it?
    """),
    exercise_answer(r"""
    Forward: $m = \max(1, 4) = 4$, $f = 4 \cdot (-2) = -8$.
    Multiply swaps: $\partial f/\partial z = m = 4$ and $\partial f/\partial m = z = -2$.
    Max routes: $y$ is larger, so $\partial f/\partial y = -2$ and $\partial f/\partial x = 0$.

    ```python
    x, y, z = Value(1.0, "x"), Value(4.0, "y"), Value(-2.0, "z")
    f = x.max(y) * z
    f.backward()
    x.grad, y.grad, z.grad   # (0.0, -2.0, 4.0)
    ```

    (b) The two pieces are $1$ and $2 + 0.5 = 2.5$, so the max routes everything to the second:
    $\partial f/\partial w_2 = x = (1, 2)$, $\partial f/\partial b_2 = 1$, $\partial f/\partial x = w_2 = (0, 1)$,
    and $w_1$, $b_1$ get 0. A maxout unit is piecewise linear like a ReLU (which is the special
    case $w_1 = 0$, $b_1 = 0$).
    """),
    md(r"""
    ## 3.7 Vectors and matrices

    For a linear layer $y = W x$ with $W \in \mathbb{R}^{m \times n}$, $x \in \mathbb{R}^{n}$ and an
    upstream gradient $\frac{\partial L}{\partial y} \in \mathbb{R}^{m}$:
    $$\frac{\partial L}{\partial W} = \frac{\partial L}{\partial y}\,x^\top \quad (m \times n), \qquad
      \frac{\partial L}{\partial x} = W^\top \frac{\partial L}{\partial y} \quad (n).$$
    The full Jacobian $\partial y/\partial W$ would have $m \cdot m \cdot n$ entries, almost all zero;
    we never build it. A useful check: **the gradient of a variable has the shape of
    the variable**, and there is usually only one way to multiply the pieces so that the
    shapes work. For a batch $X$ of shape $(N, n)$ and $Y = X W^\top$ of shape $(N, m)$:
    $\partial L/\partial W = (\partial L/\partial Y)^\top X$ and $\partial L/\partial X = (\partial L/\partial Y)\, W$.
    """),
    code("""
    rng = np.random.default_rng(0)
    N, n, m = 4, 3, 2
    X, W = rng.standard_normal((N, n)), rng.standard_normal((m, n))
    dY = rng.standard_normal((N, m))                  # upstream gradient, shape of Y
    loss = lambda _: np.sum((X @ W.T) * dY)           # a scalar whose gradient w.r.t. Y is dY

    dW, dX = dY.T @ X, dY @ W                         # shapes (m, n) and (N, n)
    print("dW", dW.shape, "relative error", rel_error(dW, numerical_gradient(loss, W)))
    print("dX", dX.shape, "relative error", rel_error(dX, numerical_gradient(loss, X)))
    """),
    md(r"""
    ## 3.8 A two-layer network in NumPy

    Three classes of 2-D points lying on interleaved spiral arms cannot be separated by
    lines. A network with one hidden layer of ReLUs can:
    $$h = \max(0, X W_1 + b_1), \qquad s = h W_2 + b_2, \qquad
      L = \frac{1}{N}\sum_i -\log \frac{e^{s_{i y_i}}}{\sum_k e^{s_{ik}}} .$$
    The backward pass is the gate patterns again: softmax cross-entropy gives
    $\partial L/\partial s = (p - \text{onehot}(y))/N$, multiply swaps for the matrix products,
    add distributes into the biases (summed over the batch), and the ReLU routes like max.
    """),
    code("""
    def spiral(points_per_class=100, classes=3, seed=0):
        rng = np.random.default_rng(seed)
        X, y = [], []
        for c in range(classes):
            r = np.linspace(0.05, 1, points_per_class)
            angle = np.linspace(c * 4, (c + 1) * 4, points_per_class) + 0.2 * rng.standard_normal(points_per_class)
            X.append(np.c_[r * np.sin(angle), r * np.cos(angle)])
            y.append(np.full(points_per_class, c))
        return np.concatenate(X), np.concatenate(y)

    X, y = spiral()
    print(X.shape, np.bincount(y))
    """),
    code("""
    rng = np.random.default_rng(0)
    H, lr = 100, 1.0
    W1, b1 = 0.01 * rng.standard_normal((2, H)), np.zeros(H)
    W2, b2 = 0.01 * rng.standard_normal((H, 3)), np.zeros(3)
    for step in range(2001):
        h = np.maximum(0, X @ W1 + b1)                        # forward
        s = h @ W2 + b2
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(y)), y]).mean()
        ds = p.copy()                                         # backward: dL/ds = (p - onehot) / N
        ds[np.arange(len(y)), y] -= 1
        ds /= len(y)
        dW2, db2 = h.T @ ds, ds.sum(axis=0)
        dh = (ds @ W2.T) * (h > 0)                            # ReLU routes
        dW1, db1 = X.T @ dh, dh.sum(axis=0)
        for param, grad in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2)):
            param -= lr * grad                                # gradient descent step
        if step % 500 == 0:
            print(f"step {step:4d}  loss {loss:.3f}  accuracy {(s.argmax(axis=1) == y).mean():.2f}")
    """),
    md(r"""
    ## 3.9 The same network with cnnlib

    `cnnlib.nn` packs each forward/backward pair into a module; `train_step` runs
    forward, softmax cross-entropy, backward and one optimizer step.
    """),
    code("""
    from cnnlib import nn
    from cnnlib.optim import SGD
    from cnnlib.train import accuracy, predict, train_step

    model = nn.Sequential(nn.Linear(2, 100, seed=0), nn.ReLU(), nn.Linear(100, 3, seed=1))
    optimizer = SGD(model.parameters(), lr=1.0)
    for step in range(2001):
        loss = train_step(model, optimizer, X, y)
        if step % 500 == 0:
            print(f"step {step:4d}  loss {loss:.3f}")
    print("training accuracy", accuracy(predict(model, X), y))
    """),
    code("""
    grid = np.linspace(-1.1, 1.1, 200)
    gx, gy = np.meshgrid(grid, grid)
    regions = predict(model, np.c_[gx.ravel(), gy.ravel()]).argmax(axis=1).reshape(gx.shape)
    plt.figure(figsize=(4.5, 4.5))
    plt.contourf(gx, gy, regions, alpha=0.3, levels=[-0.5, 0.5, 1.5, 2.5], cmap="brg")
    plt.scatter(X[:, 0], X[:, 1], c=y, s=12, cmap="brg")
    plt.title("decision regions of the two-layer network")
    plt.show()
    """),
    md(r"""
    ### Exercise 2

    In the NumPy network, what are the shapes of `dh`, `dW1` and `db1`? Why is `db1`
    a sum over the batch?
    """),
    exercise_answer(r"""
    `dh` has the shape of `h`, $(N, H) = (300, 100)$; `dW1` the shape of `W1`, $(2, 100)$;
    `db1` the shape of `b1`, $(100,)$. The bias is added to every row of the batch
    (it is *copied* $N$ times), and copy adds: its gradient is the sum of the $N$ row
    gradients.
    """),
    md(r"""
    ### Exercise 3

    Replace the ReLU by a sigmoid in the NumPy network. Which single line of the backward
    pass changes, and to what?
    """),
    exercise_answer(r"""
    Only the line for `dh`: the ReLU's local gradient `(h > 0)` becomes the sigmoid's
    $\sigma(1 - \sigma)$, i.e. `dh = (ds @ W2.T) * h * (1 - h)` with `h = 1 / (1 + np.exp(-(X @ W1 + b1)))`.
    """),
]


def build():
    return lecture_notebook(__file__, cells)


if __name__ == "__main__":
    sys.exit(main(__file__, build))
