"""The checker kernel's side: test cells call the student's code through proxies.

The grader (:class:`autograder.execute.GuardedExecute`) runs every test cell
in a *checker* kernel of its own, never in the student's kernel. Before each
test cell it calls :func:`before_test`, which puts into the checker's
namespace exactly the names the instructor's answer cells define, as the
student kernel has them now:

- plain data (numbers, strings, bytes, containers of them, numeric arrays)
  arrives by value (see :mod:`autograder.wire`);
- a function arrives as a :class:`StudentFunction`: calling it sends the
  arguments to the student kernel and returns the result as plain data; it
  carries ``__answer_source__``, the submitted source of its answer cell;
- any other object arrives as a :class:`StudentObject`, an opaque handle:
  attributes and calls are forwarded, but comparing it, computing with it,
  ``bool``, ``len``, iteration or NumPy conversion raise
  :class:`OpaqueValueError` in the checker, so an expected value never
  travels to the student kernel.

Objects of the checker that a test passes to a student's function (e.g. the
``forward`` callback of a gradient check) become handles in the student
kernel: calls come back here as input requests on the student kernel's stdin
channel, and what the student passes arrives as plain data. A function is
call-only; of a cnnlib object only the attributes in ``SHARED_ATTRIBUTES``
can be read (a model's ``forward``, a parameter's ``data``).

Nothing that the student's code prints reaches the checker: its output stays
on the student kernel's channels, which the checker does not read.
"""

from __future__ import annotations

import base64
import builtins
import json
import os
import random
import re
import types

import numpy as np
import zmq
from jupyter_client.session import Session

from autograder import wire
from autograder.sandbox import explain_limit
from autograder.student_server import MODULE, PROMPT

REPLY = re.compile(r"'[A-Za-z0-9+/=]*'")  # the only reply text accepted: one base64 string literal
POLL_MS = 200  # how often a waiting call checks that the student kernel is alive
HIDDEN_MESSAGE = "(the message is not shown during hidden tests)"
# Exceptions raised by student code keep their class when it is one of these, so a test
# can catch e.g. the ValueError it asks for; others arrive as StudentError.
BUILTIN_ERRORS = ("ArithmeticError", "AssertionError", "AttributeError", "FloatingPointError", "IndexError",
                  "KeyError", "LookupError", "MemoryError", "NameError", "NotImplementedError", "OverflowError",
                  "RecursionError", "RuntimeError", "TypeError", "ValueError", "ZeroDivisionError")
# What student code may read of a cnnlib object the test hands it (a model, an optimizer, a parameter).
SHARED_ATTRIBUTES = frozenset({
    "forward", "backward", "parameters", "zero_grad", "step", "train", "eval", "training", "layers",
    "data", "grad", "shape", "dtype", "lr", "weight", "bias", "in_channels", "out_channels", "kernel_size",
    "stride", "padding", "in_features", "out_features", "num_features"})
WRITABLE_ATTRIBUTES = frozenset({"data", "grad"})


class StudentError(Exception):
    """The student's code raised an exception of its own class."""


class ProcessLimitError(StudentError):
    """The student's code hit the sandbox's process limit."""


class DiskLimitError(StudentError):
    """The student's code hit the sandbox's disk limit."""


class StudentKernelDied(RuntimeError):
    """The student's kernel stopped while the test waited for it."""


class ProtocolError(RuntimeError):
    """The student kernel answered something that is not a reply of the grader's protocol."""


class OpaqueValueError(TypeError):
    """A test compared or computed with an object that is not plain data."""


def _opaque(self, *args, **kwargs):
    raise OpaqueValueError(
        f"your code returned a `{object.__getattribute__(self, '_type')}` object where the test expected plain "
        "data (a number, string, tuple, list, dict or NumPy array of numbers); the grader does not compare, "
        "convert or compute with other objects")


class StudentObject:
    """An object of the student kernel: attributes forwarded, nothing else."""

    def __init__(self, kernel, handle_id: int, type_name: str):
        object.__setattr__(self, "_kernel", kernel)
        object.__setattr__(self, "_id", handle_id)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name):
        if name.startswith("_"):  # numpy's and Python's protocol lookups stay here
            raise AttributeError(name)
        return self._kernel.request(("getattr", self._id, name))

    def __setattr__(self, name, value):
        raise OpaqueValueError(f"the grader does not change attributes of your `{self._type}` object")

    def __repr__(self):
        return f"<{self._type} object from your notebook>"

    __str__ = __repr__
    __hash__ = object.__hash__
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _opaque
    __bool__ = __len__ = __iter__ = __reversed__ = __contains__ = __getitem__ = _opaque
    __index__ = __int__ = __float__ = __complex__ = __round__ = __array__ = _opaque
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _opaque
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _opaque
    __neg__ = __pos__ = __abs__ = __and__ = __or__ = __xor__ = __invert__ = _opaque


class StudentFunction(StudentObject):
    """A callable of the student kernel: a call sends the arguments there."""

    def __call__(self, *args, **kwargs):
        return self._kernel.request(("call", self._id, args, kwargs, self._kernel.overrides()))

    def __repr__(self):
        name = self.__dict__.get("__name__")
        return f"<function {name} from your notebook>" if name else f"<{self._type} from your notebook>"


class StudentKernel:
    """A connection from the checker to the student's kernel (shell and stdin channels only)."""

    def __init__(self, info: dict, pid: int | None = None):
        self.session = Session(key=info["key"].encode(), signature_scheme=info.get("signature_scheme", "hmac-sha256"))
        self.context = zmq.Context()
        self.shell = self.context.socket(zmq.DEALER)
        self.stdin = self.context.socket(zmq.DEALER)
        for socket, port in ((self.shell, "shell_port"), (self.stdin, "stdin_port")):
            # the kernel routes its input requests to the identity that sent the execute request
            socket.setsockopt(zmq.IDENTITY, self.session.bsession)
            socket.setsockopt(zmq.LINGER, 0)
            socket.connect(_address(info, port))
        self.pid = pid
        self.hidden = False
        self.exported: dict[int, tuple[object, bool]] = {}  # id -> (checker object, passed in by a test)
        self.export_ids: dict[int, int] = {}
        self.namespace: dict = {}  # the checker's namespace, and the answers as taken before the test
        self.answers: dict = {}

    def close(self) -> None:
        """Close the sockets, then the context. Left to the garbage collector, the context can be
        finalised before its sockets and wait for them for ever (pyzmq's term())."""
        for socket in (self.shell, self.stdin):
            socket.close(linger=0)
        self.context.term()

    def overrides(self) -> dict:
        """Answer names a test has rebound to checker functions (e.g. the library's parts of a
        pipeline, so that one part is graded alone): during a call the student's code sees those."""
        found = {}
        for name, taken in self.answers.items():  # taken is None for a name the student lacks
            now = self.namespace.get(name, taken)
            if now is not taken and callable(now) and type(now) not in (StudentObject, StudentFunction):
                found[name] = now
        return found

    # -- handles both ways ------------------------------------------------------
    def make_handle(self, handle_id: int, type_name: str, is_callable: bool) -> StudentObject:
        return (StudentFunction if is_callable else StudentObject)(self, handle_id, type_name)

    @staticmethod
    def student_id(obj):
        return object.__getattribute__(obj, "_id") if type(obj) in (StudentObject, StudentFunction) else None

    def export(self, obj, from_test: bool = True):
        """A handle for a checker object the student's code receives."""
        if isinstance(obj, (types.ModuleType, type)):
            raise wire.WireError(f"the grader does not hand a {wire.type_name(obj)} to student code")
        key = id(obj)
        if key not in self.export_ids:
            handle_id = len(self.exported) + 1
            self.export_ids[key] = handle_id
            self.exported[handle_id] = (obj, from_test)
        return self.export_ids[key], wire.type_name(obj), callable(obj)

    def rebuild(self, kind: str, state):
        """A cnnlib layer or parameter the student's code returned, rebuilt with the checker's cnnlib:
        only library classes, and only plain data, parameters and layers as their attributes."""
        import cnnlib.nn as nn

        if kind == "cnnlib.nn.Parameter" and isinstance(state, dict):
            p = nn.Parameter.__new__(nn.Parameter)
            p.data = _array(state.get("data"), "a parameter's data")
            p.grad = np.zeros_like(p.data)
            p.name = state.get("name") if isinstance(state.get("name"), str) else ""
            mask = state.get("mask")
            p.mask = None if mask is None else _array(mask, "a parameter's mask").astype(bool)
            if p.mask is not None and p.mask.shape != p.data.shape:
                raise wire.WireError("a parameter's mask does not match its data")
            return p
        if kind == "cnnlib.nn.Module" and isinstance(state, tuple) and len(state) == 2 \
                and isinstance(state[0], str) and isinstance(state[1], dict):
            cls = getattr(nn, state[0], None)
            if not (isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == "cnnlib.nn"):
                raise wire.WireError(f"{state[0][:60]!r} is not a layer of cnnlib.nn")
            layer = cls.__new__(cls)
            layer.__dict__.update((key, value) for key, value in state[1].items()
                                  if isinstance(key, str) and type(value) not in (StudentObject, StudentFunction))
            return layer
        raise wire.WireError(f"the grader does not take {kind[:60]!r} objects")

    def own(self, handle_id: int):
        try:
            return self.exported[handle_id][0]
        except (KeyError, TypeError):
            raise wire.WireError(f"unknown object {handle_id}") from None

    # -- one request --------------------------------------------------------------
    def request(self, request):
        message = wire.encode(request, self.export, self.student_id)
        code = f"__import__({MODULE!r}).serve({_b64(message)!r})"
        sent = self.session.send(self.shell, "execute_request", {
            "code": code, "silent": True, "store_history": False, "allow_stdin": True, "stop_on_error": False,
            "user_expressions": {"reply": f"__import__({MODULE!r}).server.reply"}})
        msg_id = sent["header"]["msg_id"]
        poller = zmq.Poller()
        poller.register(self.shell, zmq.POLLIN)
        poller.register(self.stdin, zmq.POLLIN)
        while True:
            events = dict(poller.poll(POLL_MS))
            if self.stdin in events:
                msg = self._receive(self.stdin)
                if msg is not None and msg["msg_type"] == "input_request":
                    answer = self.answer(str(msg["content"].get("prompt", "")))
                    self.session.send(self.stdin, "input_reply", {"value": answer}, parent=msg)
            if self.shell in events:
                msg = self._receive(self.shell)
                if msg is not None and msg["msg_type"] == "execute_reply" \
                        and msg["parent_header"].get("msg_id") == msg_id:
                    return self._result(msg["content"])
            if not events and not self.alive():
                raise StudentKernelDied("the notebook's kernel stopped while the test waited for your code "
                                        "(os._exit, a crash, a signal or too much memory)")

    def _receive(self, socket):
        try:
            _, msg = self.session.recv(socket, mode=zmq.NOBLOCK)
        except (ValueError, KeyError, TypeError):  # unsigned or malformed: not from the kernel
            return None
        return msg

    def _result(self, content):
        expression = content.get("user_expressions", {}).get("reply", {}) if content.get("status") == "ok" else {}
        text = expression.get("data", {}).get("text/plain", "") if expression.get("status") == "ok" else ""
        if not isinstance(text, str) or not REPLY.fullmatch(text):
            raise ProtocolError("the notebook's kernel did not answer the grader (did the notebook change the "
                                "grader's machinery in its kernel?)")
        reply = wire.decode(base64.b64decode(text[1:-1]), self.make_handle, self.own, self.rebuild)
        if not isinstance(reply, tuple) or not reply or reply[0] not in ("ok", "error"):
            raise ProtocolError("the notebook's kernel sent a malformed reply")
        if reply[0] == "ok" and len(reply) == 2:
            return reply[1]
        if len(reply) != 3 or not isinstance(reply[1], str) or not isinstance(reply[2], str):
            raise ProtocolError("the notebook's kernel sent a malformed reply")
        raise self.student_error(reply[1], reply[2])

    def student_error(self, type_name: str, message: str) -> Exception:
        type_name = type_name[:80]
        message = HIDDEN_MESSAGE if self.hidden else wire.cut(message)
        if self.hidden and type_name not in BUILTIN_ERRORS and type_name not in ("KeyboardInterrupt", "WireError"):
            type_name = "an exception of its own class"  # a class name is student-chosen text too
        if type_name == "KeyboardInterrupt":
            return RuntimeError("your code was interrupted (it ran out of time)")
        if type_name == "WireError":
            return StudentError(f"your code returned a value the grader cannot take: {message}")
        named = explain_limit(type_name, message)
        if named is not None:
            return {"ProcessLimitError": ProcessLimitError, "DiskLimitError": DiskLimitError}[named[0]](named[1])
        if type_name in BUILTIN_ERRORS:
            return getattr(builtins, type_name)(f"(raised in your code) {message}")
        return StudentError(f"{type_name} (raised in your code): {message}")

    # -- requests from the student's code ---------------------------------------
    def answer(self, prompt: str) -> str:
        """Run a call the student's code made on a checker object; the reply as text."""
        try:
            if not prompt.startswith(PROMPT):
                raise wire.WireError("not a request of the grader's protocol")
            request = wire.decode(base64.b64decode(prompt[len(PROMPT):]), self.make_handle, self.own)
            reply = ("ok", self.run(request))
            text = wire.encode(reply, lambda obj: self.export(obj, from_test=False), self.student_id)
        except Exception as error:  # any failure is the student's call failing, never the checker's
            text = wire.encode(("error", wire.type_name(error), wire.cut(str(error))))
        return _b64(text)

    def run(self, request):
        if not isinstance(request, tuple) or len(request) < 2 or not isinstance(request[1], int):
            raise wire.WireError("malformed request")
        op, target = request[0], self.own(request[1])
        if op == "call" and len(request) == 4 and isinstance(request[2], tuple) and isinstance(request[3], dict):
            if not callable(target):
                raise TypeError(f"the grader's {wire.type_name(target)} cannot be called")
            return target(*request[2], **request[3])
        if op in ("getattr", "setattr") and isinstance(request[2], str):
            name = request[2]
            if isinstance(target, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)) \
                    or not type(target).__module__.startswith("cnnlib") or name not in SHARED_ATTRIBUTES:
                raise AttributeError(f"the grader's {wire.type_name(target)} does not share {name!r}")
            if op == "getattr" and len(request) == 3:
                return getattr(target, name)
            if op == "setattr" and len(request) == 4 and name in WRITABLE_ATTRIBUTES:
                current, value = getattr(target, name), request[3]
                if not isinstance(current, np.ndarray) or not isinstance(value, np.ndarray) \
                        or value.shape != current.shape:
                    raise ValueError(f"{name} must stay an array of shape {getattr(current, 'shape', '?')}")
                current[...] = value
                return None
        raise wire.WireError("malformed request")

    def alive(self) -> bool:
        if not self.pid:
            return True
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
        except OSError:
            return os.name != "posix" or not os.path.isdir("/proc")


def _address(info: dict, port: str) -> str:
    if info.get("transport", "tcp") == "ipc":
        return f"ipc://{info['ip']}-{info[port]}"
    return f"tcp://{info['ip']}:{info[port]}"


def _array(value, what: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise wire.WireError(f"{what} is not an array")
    return value


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


# --- what the grader calls in the checker kernel ------------------------------------

_kernel: StudentKernel | None = None


def connect(info_json: str, pid: int | None) -> None:
    """Connect to the student's kernel (its connection file's content)."""
    global _kernel
    _kernel = StudentKernel(json.loads(info_json), pid)


def before_test(seed: int, names: list[str], sources: dict[str, str]) -> list[str]:
    """Seed both kernels and take the answer names from the student's kernel.

    Returns the names the student's notebook does not define (or that could not
    be taken: their reason goes to the checker's log).
    """
    from IPython import get_ipython

    random.seed(seed)
    np.random.seed(seed)
    _kernel.hidden = False
    _kernel.request(("seed", seed))
    namespace = get_ipython().user_ns
    _kernel.namespace, _kernel.answers = namespace, {}
    missing = []
    try:  # all in one request: one round trip before every test, not one per name
        together = _kernel.request(("names", list(names)))
    except (StudentError, wire.WireError, ValueError, TypeError):
        together = None  # one of them cannot be taken: each is asked for alone, to say which
    for name in names:
        if isinstance(together, dict):
            values = together
        else:
            try:
                values = _kernel.request(("names", [name]))
            except (StudentError, wire.WireError, ValueError, TypeError) as error:
                values = {}
                missing.append(f"{name} ({error})")
        if isinstance(values, dict) and name in values:
            value = values[name]
            if type(value) is StudentFunction:
                value.__dict__.update(__name__=name, __qualname__=name, __answer_source__=sources.get(name, ""))
            namespace[name] = _kernel.answers[name] = value
        else:
            namespace.pop(name, None)
            _kernel.answers[name] = None
            if not missing or not missing[-1].startswith(name):
                missing.append(name)
    return missing


def enter_hidden() -> None:
    """From here on the test cell is hidden: student messages are withheld."""
    _kernel.hidden = True
