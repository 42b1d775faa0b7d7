"""The student kernel's side of the checker protocol (runs inside the sandbox).

The checker kernel sends each request as a silent ``execute_request`` whose
code is ``__import__("_autograder_student").serve("<base64>")`` and reads
the reply from the user expression ``__import__("_autograder_student").server.reply``.
Requests (tuples made by :mod:`wire`):

    ("names", [name, ...])            the current values of these names of the notebook
    ("call", id, args, kwargs, overrides)  call one of this kernel's objects, with some names of the
                                      notebook bound to checker functions meanwhile
    ("getattr", id, name)             read an attribute of one of them
    ("seed", seed)                    seed ``random`` and ``numpy.random`` before a test
    ("forget",)                       drop every object handed out so far

A reply is ``("ok", value)`` or ``("error", exception type name, message)``.
Values that are not plain data go back as handles (ids into ``objects``).

When the student's code calls a checker object it was given (a callback
such as ``forward`` in a gradient check), the request goes back to the
checker as an ``input_request`` on the kernel's stdin channel, prompt
``PROMPT + base64``; the checker answers with an ``input_reply``.

Nothing here is trusted: the student may replace any of it. The checker
only ever decodes plain data from what comes back.
"""

import base64
import random
import sys

try:
    import wire  # inside the sandbox: the file next to this one
except ImportError:  # imported from the package (the checker reads PROMPT)
    from autograder import wire

MODULE = "_autograder_student"
PROMPT = "\x00autograder:"
_MISSING = object()


class CheckerError(Exception):
    """A checker object called from student code failed."""


class Remote:
    """A checker object handed to the student's code: it can be called, and a
    few attributes of a library object can be read (the checker decides which)."""

    __slots__ = ("_id", "_type", "_callable")

    def __init__(self, handle_id, type_name, is_callable):
        object.__setattr__(self, "_id", handle_id)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_callable", is_callable)

    def __call__(self, *args, **kwargs):
        return _server.ask(("call", self._id, args, kwargs))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(f"the grader's {self._type} object does not share {name!r}")
        return _server.ask(("getattr", self._id, name))

    def __setattr__(self, name, value):
        _server.ask(("setattr", self._id, name, value))

    def __repr__(self):
        return f"<the grader's {self._type}>"


class Server:
    def __init__(self, namespace):
        self.namespace = namespace
        self.objects = {}
        self.ids = {}
        self.reply = ""

    # -- handles ---------------------------------------------------------------
    def export(self, obj):
        key = id(obj)
        if key not in self.ids:
            handle_id = len(self.objects) + 1
            self.ids[key] = handle_id
            self.objects[handle_id] = obj
        return self.ids[key], wire.type_name(obj), callable(obj)

    @staticmethod
    def remote_id(obj):
        return obj._id if type(obj) is Remote else None

    def own(self, handle_id):
        try:
            return self.objects[handle_id]
        except KeyError:
            raise wire.WireError(f"unknown object {handle_id}") from None

    def encode(self, value):
        return wire.encode(value, self.export, self.remote_id, describe)

    def decode(self, text):
        return wire.decode(text, Remote, self.own)

    # -- requests from the checker ---------------------------------------------
    def serve(self, request):
        try:
            result = ("ok", self.handle(self.decode(base64.b64decode(request))))
        except BaseException as error:  # the student's code may raise anything, KeyboardInterrupt too
            result = ("error", wire.type_name(error), _message(error))
        try:
            text = self.encode(result)
        except wire.WireError as error:
            text = self.encode(("error", "WireError", str(error)))
        self.reply = base64.b64encode(text.encode()).decode("ascii")

    def handle(self, request):
        op = request[0]
        if op == "names":
            return {name: self.namespace[name] for name in request[1] if name in self.namespace}
        if op == "call":
            overrides = request[4] if len(request) > 4 else {}
            saved = {name: self.namespace.get(name, _MISSING) for name in overrides}
            self.namespace.update(overrides)  # the test's own versions of some answers, for this call
            try:
                return self.own(request[1])(*request[2], **request[3])
            finally:
                for name, value in saved.items():
                    if value is _MISSING:
                        self.namespace.pop(name, None)
                    else:
                        self.namespace[name] = value
        if op == "getattr":
            return getattr(self.own(request[1]), request[2])
        if op == "seed":
            random.seed(request[1])
            if "numpy" in sys.modules:
                sys.modules["numpy"].random.seed(request[1])
            return None
        if op == "forget":
            self.objects.clear()
            self.ids.clear()
            return None
        raise ValueError(f"unknown request {op!r}")

    # -- requests to the checker -----------------------------------------------
    def ask(self, request):
        prompt = PROMPT + base64.b64encode(self.encode(request).encode()).decode("ascii")
        answer = _kernel_input(prompt)
        kind, *rest = self.decode(base64.b64decode(answer))
        if kind == "ok":
            return rest[0]
        raise CheckerError(f"{rest[0]}: {rest[1]}")


def describe(obj):
    """A cnnlib layer or parameter goes to the checker by value: its class and attributes
    (the checker rebuilds it with its own cnnlib). Forward caches stay here."""
    kind = type(obj)
    if kind.__module__ != "cnnlib.nn" or "cnnlib.nn" not in sys.modules:
        return None
    nn = sys.modules["cnnlib.nn"]
    if kind is nn.Parameter:
        return "cnnlib.nn.Parameter", {key: value for key, value in vars(obj).items()}
    if isinstance(obj, nn.Module):
        return "cnnlib.nn.Module", (kind.__name__, {key: None if key in CACHES else value
                                                    for key, value in vars(obj).items()})
    return None


CACHES = ("_cache", "_shape")  # what a layer keeps from its last forward pass: not sent


def _message(error):
    try:
        text = str(error)
    except BaseException:
        text = "(its message could not be read)"
    return wire.cut(text)


def _kernel_input(prompt):
    """ipykernel's input request on the stdin channel, to the client that sent the running request."""
    from IPython import get_ipython

    return get_ipython().kernel.raw_input(prompt)


_server = None


def install(shell):
    """Register the server as the module ``_autograder_student``."""
    global _server
    import types

    _server = Server(shell.user_ns)
    module = types.ModuleType(MODULE, "The student kernel's side of the checker protocol.")
    module.serve = _server.serve
    module.server = _server
    sys.modules[MODULE] = module
    return _server
