"""Start ipykernel for grading, with the test machinery protected (runs inside the sandbox).

``python kernel_boot.py -f CONNECTION_FILE`` is what :mod:`autograder.sandbox`
starts. Before any student code runs it imports what the tests use (numpy,
numpy.testing, random, math, cnnlib.checks) and installs the module
``_autograder_guard``, which remembers the original objects:

- the notebook's own names for the checks and numpy (``check_true``, ``np``: a
  test cell calls what an earlier cell imported);
- the attributes of ``builtins``, ``numpy``, ``numpy.testing``, ``numpy.linalg``,
  ``random``, ``math``, ``cnnlib`` and ``cnnlib.checks`` (and the code of every
  Python function among them), their ``sys.modules`` entries, ``sys.meta_path``;
- the hooks of the IPython shell that decide what a cell's errors and results
  look like (``showtraceback``, custom exception handlers, display hooks, AST and
  input transformers, event callbacks, the shell's and kernel's methods).

The grader (:class:`autograder.execute.GuardedExecute`) asks it, through
``user_expressions`` of a silent request, for

- ``before(seed)`` ahead of every test cell: put every remembered object back
  (a patch made by an answer cell cannot help a test) and seed ``random`` and
  ``numpy.random``, so every test cell starts from the same state;
- ``after()`` once the test cell has run: the names of remembered objects that
  changed *while the test ran* (student code the test called patched them);
  the grader then fails that test.

This is a file of its own, not part of the autograder package, because only
this file (not the package, which sits next to the assignment sources) is
visible inside the sandbox. It must not import anything from the repository
except cnnlib.
"""

import sys
import types

GUARD = "_autograder_guard"
WATCHED_MODULES = ("builtins", "numpy", "numpy.testing", "numpy.linalg", "random", "math",
                   "cnnlib", "cnnlib.checks")
SHELL_ATTRIBUTES = ("showtraceback", "_showtraceback", "showsyntaxerror", "showindentationerror",
                    "run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                    "custom_exceptions", "CustomTB", "InteractiveTB", "SyntaxTB", "displayhook",
                    "display_pub", "display_formatter", "compile", "excepthook", "user_ns")
SHELL_LISTS = ("ast_transformers", "input_transformers_post", "input_transformers_cleanup")
# (sys.displayhook and sys.excepthook are swapped by IPython around every execution.)
SYS_ATTRIBUTES = ("stdout", "stderr", "breakpointhook")
# Callbacks that run before a cell's code (a post-run callback cannot undo an error output).
EVENTS = ("pre_execute", "pre_run_cell")
# Builtins that IPython and ipykernel themselves swap around every execution.
KERNEL_BUILTINS = {"exit", "quit", "get_ipython", "input", "raw_input", "display", "_", "__", "___"}


def _function_state(value):
    return (value.__code__, value.__defaults__, value.__kwdefaults__)


def _classes(obj):
    """The Python classes of an object's type (their methods can be patched)."""
    return [cls for cls in type(obj).__mro__ if cls is not object and hasattr(cls, "__dict__")
            and not isinstance(cls.__dict__, dict) and cls.__module__.split(".")[0] in ("IPython", "ipykernel")]


class Guard:
    """A snapshot of the objects tests rely on, and the means to restore and check them."""

    def __init__(self, shell):
        import numpy.random

        self.shell = shell
        self.kernel = getattr(shell, "kernel", None)
        self.modules = {name: sys.modules[name] for name in WATCHED_MODULES if name in sys.modules}
        self.contents = {name: {key: value for key, value in vars(module).items()
                                if not (name == "builtins" and key in KERNEL_BUILTINS)}
                         for name, module in self.modules.items()}
        self.functions = {}
        for name, contents in self.contents.items():
            for key, value in contents.items():
                if isinstance(value, types.FunctionType):
                    self.functions[f"{name}.{key}"] = (value, _function_state(value))
        self.meta_path = list(sys.meta_path)
        # names a notebook imports the checks and numpy under (from cnnlib.checks import check_true)
        checks = self.contents.get("cnnlib.checks", {})
        self.notebook_names = {key: value for key, value in checks.items()
                               if isinstance(value, types.FunctionType) and value.__module__ == "cnnlib.checks"
                               and not key.startswith("_")}
        self.notebook_names.update(np=self.modules["numpy"], numpy=self.modules["numpy"])
        self.sys = {name: getattr(sys, name, None) for name in SYS_ATTRIBUTES}
        self.shell_attributes = {name: shell.__dict__[name] for name in SHELL_ATTRIBUTES if name in shell.__dict__}
        self.shell_lists = {name: list(getattr(shell, name)) for name in SHELL_LISTS if hasattr(shell, name)}
        self.events = {event: list(shell.events.callbacks.get(event, [])) for event in EVENTS}
        self.classes = {}
        for owner in (shell, self.kernel, getattr(shell, "displayhook", None)):
            if owner is not None:
                for cls in _classes(owner):
                    self.classes[cls] = dict(vars(cls))
        from IPython.core import interactiveshell

        self.classes[interactiveshell.ExecutionResult] = dict(vars(interactiveshell.ExecutionResult))
        self.numpy_random = numpy.random

    # -- comparing and restoring ----------------------------------------------
    def changes(self, restore):
        """Names of remembered objects that differ from the snapshot; put them back if ``restore``."""
        changed = []
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                changed.append(f"sys.modules[{name!r}]")
                if restore:
                    sys.modules[name] = module
            current = vars(module)
            for key, value in self.contents[name].items():
                if current.get(key, changed) is not value:
                    changed.append(f"{name}.{key}")
                    if restore:
                        current[key] = value
        for name, (function, state) in self.functions.items():
            if _function_state(function) != state:
                changed.append(f"{name} (its code)")
                if restore:
                    function.__code__, function.__defaults__, function.__kwdefaults__ = state
        if sys.meta_path != self.meta_path:
            changed.append("sys.meta_path")
            if restore:
                sys.meta_path[:] = self.meta_path
        for name, value in self.sys.items():
            if getattr(sys, name, None) is not value:
                changed.append(f"sys.{name}")
                if restore:
                    setattr(sys, name, value)
        if sys.gettrace() is not None:
            changed.append("sys.settrace")
            if restore:
                sys.settrace(None)
        shell = self.shell
        namespace = shell.user_ns  # test cells call checks and numpy by their notebook names
        for key, value in self.notebook_names.items():
            if key in namespace and namespace[key] is not value:
                changed.append(f"the notebook's name {key}")
                if restore:
                    namespace[key] = value
        for name in SHELL_ATTRIBUTES:
            now = shell.__dict__.get(name, self)
            if now is not self.shell_attributes.get(name, self):
                changed.append(f"the IPython shell's {name}")
                if restore:
                    if name in self.shell_attributes:
                        shell.__dict__[name] = self.shell_attributes[name]
                    else:
                        del shell.__dict__[name]
        for name, items in self.shell_lists.items():
            if list(getattr(shell, name)) != items:
                changed.append(f"the IPython shell's {name}")
                if restore:
                    getattr(shell, name)[:] = items
        callbacks = shell.events.callbacks
        for event, items in self.events.items():
            if list(callbacks.get(event, [])) != items:
                changed.append(f"IPython's {event} callbacks")
                if restore:
                    callbacks[event] = list(items)
        for cls, contents in self.classes.items():
            current = dict(vars(cls))
            for key in set(contents) | set(current):
                if key == "__weakref__" or key == "__dict__":
                    continue
                if current.get(key, self) is not contents.get(key, self):
                    changed.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
                    if restore:
                        if key in contents:
                            setattr(cls, key, contents[key])
                        else:
                            delattr(cls, key)
        return changed

    def before(self, seed):
        """Ahead of a test cell: restore everything, seed the random generators."""
        restored = self.changes(restore=True)
        self.modules["random"].seed(seed) if "random" in self.modules else None
        self.numpy_random.seed(seed)
        return restored

    def after(self):
        """After a test cell: what its code changed (and put it back)."""
        return self.changes(restore=True)


def install(shell):
    """Import what tests use, snapshot it, register ``_autograder_guard``."""
    import math  # noqa: F401
    import random  # noqa: F401

    import numpy  # noqa: F401
    import numpy.linalg  # noqa: F401
    import numpy.testing  # noqa: F401

    try:
        import cnnlib.checks  # noqa: F401
    except Exception:  # the kernel also serves notebooks without cnnlib
        pass
    guard = Guard(shell)
    module = types.ModuleType(GUARD, "The grader's record of the objects tests rely on.")
    module.before = guard.before
    module.after = guard.after
    sys.modules[GUARD] = module
    return guard


def main():
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    install(app.shell)
    app.start()


if __name__ == "__main__":
    main()
