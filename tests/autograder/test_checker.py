"""The checker's proxies against a real student kernel (autograder/checker.py, student_server.py).

The test process plays the checker: it connects to a kernel started with
autograder/kernel_boot.py (no sandbox: only this file's own, honest code runs
there) and calls into it through :class:`autograder.checker.StudentKernel`.
"""

import numbers
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jupyter_client")

from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

from autograder import checker  # noqa: E402

BOOT = Path(checker.__file__).with_name("kernel_boot.py")


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernel")
    km = KernelManager(kernel_name="student-under-test")
    km._kernel_spec = KernelSpec(argv=[sys.executable, str(BOOT), "-f", "{connection_file}"],
                                 display_name="student", language="python")
    km.transport = "ipc"
    km.connection_file = str(folder / "kernel.json")
    km.ip = str(folder / "ipc")
    km.start_kernel(cwd=str(folder))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)

    def run(code):
        reply = kc.execute_interactive(textwrap.dedent(code), timeout=60, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]

    info = km.get_connection_info(session=False)
    info = {key: value.decode() if isinstance(value, bytes) else value for key, value in info.items()}
    kernel = checker.StudentKernel(info, km.provisioner.process.pid)
    yield kernel, run
    kernel.close()  # a context left to the garbage collector once hung a later test in its term()
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def names(kernel, *wanted):
    return kernel.request(("names", list(wanted)))


def test_functions_are_called_with_data_and_return_data(student):
    kernel, run = student
    run("""
        import numpy as np
        def double(x, scale=2):
            return np.asarray(x) * scale, {"shape": np.shape(x)}
        ANSWER = 156
    """)
    found = names(kernel, "double", "ANSWER", "UNDEFINED")
    assert set(found) == {"double", "ANSWER"} and found["ANSWER"] == 156
    out, info = found["double"](np.arange(6.0).reshape(2, 3), scale=3)
    np.testing.assert_array_equal(out, np.arange(6.0).reshape(2, 3) * 3)
    assert info == {"shape": (2, 3)}
    assert callable(found["double"]) and repr(found["double"]).startswith("<")


def test_lying_values_arrive_as_plain_data(student):
    kernel, run = student
    run("""
        class Liar(int):
            def __eq__(self, other): return True
            __hash__ = int.__hash__
        class Huge(float):
            def __lt__(self, other): return True
            def __gt__(self, other): return True
        def liar(): return Liar(0)
        def huge(): return Huge(5.0)
    """)
    found = names(kernel, "liar", "huge")
    assert found["liar"]() == 0 and found["liar"]() != 156
    assert type(found["huge"]()) is float and not found["huge"]() < 1e-8


def test_opaque_objects_are_never_compared_or_converted(student):
    kernel, run = student
    run("""
        import numbers
        SEEN = []
        class Anything:
            def __eq__(self, other):
                SEEN.append(other)
                return True
            def __bool__(self): return True
            def __len__(self): return 1
        numbers.Integral.register(Anything)
        def anything(): return Anything()
        def seen(): return len(SEEN)
    """)
    found = names(kernel, "anything", "seen")
    value = found["anything"]()
    assert isinstance(value, checker.StudentObject)
    for attempt in (lambda: value == 156, lambda: 156 == value, lambda: bool(value), lambda: len(value),
                    lambda: list(value), lambda: np.asarray(value, dtype=float), lambda: value + 1,
                    lambda: int(value), lambda: value < 3, lambda: np.allclose(value, 3)):
        with pytest.raises(checker.OpaqueValueError, match="`Anything` object"):
            attempt()
    assert not isinstance(value, numbers.Integral)
    assert found["seen"]() == 0  # no expected value ever reached the student's object


def test_callbacks_are_call_only(student):
    kernel, run = student
    run("""
        def apply(f, x):
            return f(x) * 2
        def probe(f):
            found = []
            for name in ("__globals__", "__code__", "__closure__", "__self__", "func_globals", "secret"):
                try:
                    getattr(f, name)
                    found.append(name)
                except Exception:
                    pass
            return found
    """)
    secret = "the expected answer 42"
    found = names(kernel, "apply", "probe")
    assert found["apply"](lambda x: x + 1, 4) == 10
    assert found["probe"](lambda: secret) == []


def test_cnnlib_models_cross_by_value_and_checker_models_by_method(student):
    from cnnlib import nn
    from cnnlib.losses import softmax_cross_entropy
    from cnnlib.optim import SGD

    kernel, run = student
    run("""
        from cnnlib import nn
        from cnnlib.losses import softmax_cross_entropy
        def build(seed=0):
            return nn.Sequential(("fc1", nn.Linear(4, 3, seed=seed)), ("relu", nn.ReLU()),
                                 ("fc2", nn.Linear(3, 2, seed=seed)))
        def train_step(model, optimizer, x, y):
            optimizer.zero_grad()
            loss, dscores = softmax_cross_entropy(model.forward(x), y)
            model.backward(dscores)
            optimizer.step()
            return loss
    """)
    found = names(kernel, "build", "train_step")
    model = found["build"](seed=1)
    assert isinstance(model, nn.Sequential)  # rebuilt with the checker's own cnnlib
    assert [name for name, _ in model.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert model.parameters()[0] is model.layers[0].weight  # identity kept: one Parameter, not two copies
    x = np.random.default_rng(0).standard_normal((5, 4))
    assert model.forward(x).shape == (5, 2)

    mine, reference = found["build"](seed=2), found["build"](seed=2)
    y = np.array([0, 1, 1, 0, 1])
    loss = found["train_step"](mine, SGD(mine.parameters(), lr=0.1), x, y)
    expected_loss, dscores = softmax_cross_entropy(reference.forward(x), y)
    optimizer = SGD(reference.parameters(), lr=0.1)
    optimizer.zero_grad()
    reference.backward(dscores)
    optimizer.step()
    assert loss == pytest.approx(expected_loss)
    for p, q in zip(mine.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data)


def test_student_errors_keep_builtin_classes_and_hidden_tests_withhold_messages(student):
    kernel, run = student
    run("""
        class Custom(Exception): pass
        def fails(kind, *args):
            raise {"value": ValueError, "custom": Custom}[kind](f"inputs were {args}")
    """)
    found = names(kernel, "fails")
    with pytest.raises(ValueError, match=r"inputs were \(1, 2\)"):
        found["fails"]("value", 1, 2)
    with pytest.raises(checker.StudentError, match="Custom"):
        found["fails"]("custom")
    kernel.hidden = True
    try:
        with pytest.raises(ValueError) as raised:
            found["fails"]("value", 77, 88)
        assert "77" not in str(raised.value) and "not shown" in str(raised.value)
    finally:
        kernel.hidden = False


def test_results_too_big_or_not_data_are_refused_with_a_message(student):
    kernel, run = student
    run("""
        def deep():
            x = []
            for _ in range(100):
                x = [x]
            return x
        def loop():
            x = []
            x.append(x)
            return x
    """)
    found = names(kernel, "deep", "loop")
    for name in ("deep", "loop"):
        with pytest.raises(checker.StudentError, match="nested more than"):
            found[name]()


def test_a_replaced_server_is_a_protocol_error_not_a_pass(student):
    kernel, run = student
    run("""
        import sys, types
        fake = types.ModuleType("_autograder_student")
        fake.serve = lambda request: None
        fake.server = types.SimpleNamespace(reply="['ok', 156]")
        real = sys.modules["_autograder_student"]
        sys.modules["_autograder_student"] = fake
    """)
    try:
        with pytest.raises(checker.ProtocolError):
            names(kernel, "ANSWER")
    finally:
        run('sys.modules["_autograder_student"] = real')
    assert names(kernel, "ANSWER") == {"ANSWER": 156}


def test_a_test_can_swap_in_its_own_parts_of_a_pipeline(student):
    kernel, run = student
    run("""
        def part(x):
            return -1
        def pipeline(x):
            return part(x) * 10
    """)
    found = names(kernel, "part", "pipeline")
    namespace = dict(found)
    kernel.namespace, kernel.answers = namespace, dict(found)
    assert namespace["pipeline"](3) == -10
    namespace["part"] = lambda x: x + 1  # the test's own part: the student's pipeline calls it
    assert namespace["pipeline"](3) == 40
    namespace["part"] = found["part"]
    assert namespace["pipeline"](3) == -10
    assert names(kernel, "part")["part"](0) == -1  # the student's own part is back in its kernel
    kernel.namespace, kernel.answers = {}, {}


def test_dtypes_cross_as_types(student):
    kernel, run = student
    run("""
        import numpy as np
        def zeros(dtype=np.float64):
            return np.zeros(2, dtype=dtype), dtype is np.float32
    """)
    array, same = names(kernel, "zeros")["zeros"](dtype=np.float32)
    assert array.dtype == np.float32 and same is True


def test_a_swapped_in_part_reaches_a_student_who_lacks_it(student):
    kernel, run = student
    run("""
        def pipeline_only(x):
            return missing_part(x) * 10
    """)
    found = names(kernel, "pipeline_only")
    namespace = dict(found)
    kernel.namespace, kernel.answers = namespace, dict(found, missing_part=None)
    namespace["missing_part"] = lambda x: x + 1
    try:
        assert namespace["pipeline_only"](3) == 40
        del namespace["missing_part"]
        with pytest.raises(NameError):
            namespace["pipeline_only"](3)
    finally:
        kernel.namespace, kernel.answers = {}, {}


def test_answer_names_come_in_one_request_and_a_bad_one_is_named(student, monkeypatch):
    """before_test takes every answer name in one round trip; when one cannot cross, each
    is asked for alone, so the others still arrive and the message names the bad one."""
    kernel, run = student
    run("""
        GOOD = 3
        def fine(x):
            return x + 1
    """)
    shell = types.SimpleNamespace(user_ns={"STALE": "left from an earlier test"})
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    monkeypatch.setattr(checker, "_kernel", kernel)
    sent = []
    request = kernel.request
    monkeypatch.setattr(kernel, "request", lambda what: sent.append(what[0]) or request(what))

    assert checker.before_test(7, ["GOOD", "fine", "ABSENT"], {"fine": "def fine(x): ..."}) == ["ABSENT"]
    assert sent == ["seed", "names"]
    assert shell.user_ns["GOOD"] == 3 and shell.user_ns["fine"](1) == 2
    assert shell.user_ns["fine"].__name__ == "fine" and "ABSENT" not in shell.user_ns

    run("""
        LOOP = []
        LOOP.append(LOOP)
    """)
    sent.clear()
    missing = checker.before_test(7, ["GOOD", "LOOP", "fine", "STALE"], {})
    assert sent == ["seed", "names", "names", "names", "names", "names"]
    assert missing[0].startswith("LOOP (") and "nested more than" in missing[0] and missing[1:] == ["STALE"]
    assert shell.user_ns["GOOD"] == 3 and shell.user_ns["fine"](2) == 3
    assert "LOOP" not in shell.user_ns and "STALE" not in shell.user_ns
