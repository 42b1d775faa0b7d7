"""Exercise rules: what an answer cell must not use, enforced in the student's kernel.

An answer cell of a source notebook may declare a rule in its metadata::

    cell.metadata["autograder"] = {
        "forbid": ["cnnlib.conv.conv2d_forward", "scipy.signal", ...],
        "rule": "write the loops yourself",
    }

``forbid`` holds dotted names: a module (or package) forbids all of it, ``module.attr``
one function or class. All answers of a notebook run in one student kernel, so
grading enforces the union of the notebook's rules.

Enforcement does not patch anything at run time (student code runs first and could
undo a patch). Instead :func:`build_overlay` writes, once per assignment, files that
the sandbox bind-mounts read-only over the real ones inside the student's kernel
(``AUTOGRADER_EXTRA_BINDS``, see :mod:`autograder.sandbox`):

- a copy of the ``cnnlib`` package in which every forbidden function or class is
  replaced *in the source* by a stub that raises :class:`ForbiddenByRule` naming the
  rule; so are the private helpers of such a module that only forbidden code uses
  (they do the same work), while everything else is unchanged. The copy is
  precompiled, and the real package folder (its sources and ``.pyc`` files) is not
  visible under it: ``__import__``, ``importlib``, ``exec(open(module.__file__).read())``
  and re-exports such as ``cnnlib.functional.conv2d_forward`` all reach the stub;
- for a third-party module (``scipy.signal``, ``torch``), a stub module or package
  whose import raises :class:`ForbiddenByRule` (an ``ImportError``). A forbidden
  function of a third-party package is forbidden through the modules that implement
  it (:data:`IMPLEMENTED_IN`: ``skimage.feature.hog`` is ``skimage.feature._hog`` and
  its compiled histogram helper).

What the grader calls::

    binds_file = rules.prepare(assignment_source_folder, workdir)   # None: no rules
    # student kernel only: env["AUTOGRADER_EXTRA_BINDS"] = str(binds_file)

The checker kernel keeps the real, complete cnnlib. The visible tests also say the
rule early, from the answer's source text: :func:`cnnlib.checks.check_rule`.
"""
from __future__ import annotations

import ast
import compileall
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder import cells

__all__ = ["Rule", "ForbiddenByRule", "IMPLEMENTED_IN", "notebook_rules", "forbidden_union", "build_overlay",
           "prepare", "overlay_digest"]

#: Third-party functions forbidden through the modules that implement them (import fails).
IMPLEMENTED_IN = {
    "skimage.feature.hog": ("skimage.feature._hog", "skimage.feature._hoghistogram"),
}

#: Name of the module the overlay adds to cnnlib; it defines the stubs' exception.
EXCEPTION_MODULE = "_forbidden_by_rule"
BINDS_FILE = "extra_binds.json"

_EXCEPTION_SOURCE = '''\
"""The error of a function or module that an exercise rule forbids while grading."""


class ForbiddenByRule(ImportError, RuntimeError):
    """Raised by a function, class or module that this exercise's rules forbid while grading."""
'''


class ForbiddenByRule(ImportError, RuntimeError):
    """What a stub raises (the overlay defines its own copy with the same name)."""


@dataclass(frozen=True)
class Rule:
    """The rule of one answer cell."""

    grade_id: str
    forbid: tuple[str, ...]
    rule: str

    def message(self, name: str, helper_of: str | None = None) -> str:
        what = f"{name} (a helper of {helper_of})" if helper_of else name
        return f"{self.grade_id}'s rule: {self.rule}; {what} is not available while grading"


# --- reading the rules ----------------------------------------------------------------

def _cells(notebook):
    if isinstance(notebook, (str, os.PathLike)):
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    return notebook["cells"]


def notebook_rules(notebook) -> dict[str, Rule]:
    """grade_id -> :class:`Rule` of every answer cell that declares one, in notebook order.

    ``notebook``: a path, or a notebook as nbformat or plain JSON dicts.
    """
    found = {}
    for cell in _cells(notebook):
        meta = cell.get("metadata", {})
        declared = meta.get("autograder", {}).get("forbid")
        if declared is None:
            continue
        grade_id = cells.grade_id(cell) or cell.get("id")
        rule = meta["autograder"].get("rule", "")
        if (not isinstance(declared, list) or not all(isinstance(n, str) and n for n in declared)
                or not isinstance(rule, str)):
            raise ValueError(f"answer cell {grade_id!r}: metadata autograder.forbid must be a list of dotted "
                             "names and autograder.rule a sentence")
        found[grade_id] = Rule(grade_id, tuple(declared), rule)
    return found


def forbidden_union(rules) -> dict[str, list[Rule]]:
    """Forbidden dotted name -> the rules that forbid it (first one first), over ``rules``
    (a dict from :func:`notebook_rules` or an iterable of :class:`Rule`)."""
    union: dict[str, list[Rule]] = {}
    for rule in (rules.values() if isinstance(rules, dict) else rules):
        for name in rule.forbid:
            union.setdefault(name, []).append(rule)
    return union


# --- cnnlib: stubs written into the source ----------------------------------------------

def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(package_dir: Path, path: Path, package: str) -> str:
    parts = list(path.relative_to(package_dir).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def _references(node) -> set[str]:
    """Names a piece of code refers to: plain names, attribute names, imported names."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
        elif isinstance(sub, ast.ImportFrom):
            found.update(alias.name for alias in sub.names)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value.isidentifier():
            found.add(sub.value)  # getattr(module, "_name"), __all__ entries
    return found


def _definitions(tree) -> dict[str, ast.AST]:
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _owner(module: str, name: str, union: dict[str, list[Rule]]):
    """(rule, forbidden name) that forbids ``module.name`` directly or through a parent module."""
    dotted = f"{module}.{name}"
    for forbidden, rules in union.items():
        if dotted == forbidden or dotted.startswith(forbidden + ".") or module == forbidden \
                or module.startswith(forbidden + "."):
            return rules[0], forbidden
    return None


def plan_stubs(package_dir: Path, union: dict[str, list[Rule]], package: str = "cnnlib"):
    """module -> {name: message} of the package's definitions to replace by stubs.

    Forbidden names are stubbed, and so are the private helpers of a module holding
    forbidden code that no allowed code of the package refers to (they do the same work).
    """
    trees, stubs, module_rule = {}, {}, {}
    for path in sorted(Path(package_dir).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        module = _module_name(Path(package_dir), path, package)
        trees[module] = (path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    for forbidden in union:
        if forbidden.startswith(package + ".") or forbidden == package:
            known = forbidden in trees or any(
                forbidden.rpartition(".")[0] == m and forbidden.rpartition(".")[2] in _definitions(t)
                for m, (_, t) in trees.items())
            if not known:
                raise ValueError(f"rule of {union[forbidden][0].grade_id!r} forbids {forbidden}, which cnnlib "
                                 "does not define (a module, or a function or class at the top of one)")
    for module, (_, tree) in trees.items():
        for name in _definitions(tree):
            owner = _owner(module, name, union)
            if owner:
                stubs.setdefault(module, {})[name] = owner[0].message(f"{module}.{name}")
                module_rule.setdefault(module, owner[0])
    # Private helpers of modules with forbidden code: kept only if allowed code reaches them.
    reached, queue = set(), []
    for module, (_, tree) in trees.items():
        definitions = _definitions(tree)
        for node in tree.body:
            name = getattr(node, "name", None)
            if name in definitions and (name in stubs.get(module, {}) or _is_private(name)):
                continue
            queue.append(node)
    helpers = {}  # private name -> its definitions that are not stubs, in every module
    for module, (_, tree) in trees.items():
        for name, node in _definitions(tree).items():
            if _is_private(name) and name not in stubs.get(module, {}):
                helpers.setdefault(name, []).append(node)
    while queue:
        new = _references(queue.pop()) - reached
        reached |= new
        for name in new:
            queue += helpers.get(name, [])
    for module in list(stubs):
        _, tree = trees[module]
        rule = module_rule[module]
        forbidden_here = f"the forbidden code of {module}"
        for name in _definitions(tree):
            if _is_private(name) and name not in reached and name not in stubs[module]:
                stubs[module][name] = rule.message(f"{module}.{name}", helper_of=forbidden_here)
    return {module: (trees[module][0], names) for module, names in stubs.items()}


def _stub_source(node, message: str) -> str:
    name, text = node.name, repr(message)
    from_module = f"from cnnlib.{EXCEPTION_MODULE} import ForbiddenByRule as _ForbiddenByRule"
    if isinstance(node, ast.ClassDef):
        return (f"class {name}:\n"
                f"    \"\"\"Not available while grading (an exercise rule).\"\"\"\n\n"
                f"    def __init__(self, *args, **kwargs):\n"
                f"        {from_module}\n"
                f"        raise _ForbiddenByRule({text})\n")
    return (f"def {name}(*args, **kwargs):\n"
            f"    \"\"\"Not available while grading (an exercise rule).\"\"\"\n"
            f"    {from_module}\n"
            f"    raise _ForbiddenByRule({text})\n")


def rewrite_source(source: str, names: dict[str, str]) -> str:
    """``source`` with each top-level definition in ``names`` replaced by a stub raising its message;
    every other line unchanged."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    definitions = _definitions(tree)
    for name in sorted(names, key=lambda n: -definitions[n].lineno):
        node = definitions[name]
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        lines[start:node.end_lineno] = [_stub_source(node, names[name])]
    return "".join(lines)


def _write_cnnlib(package_dir: Path, target: Path, union) -> None:
    plan = plan_stubs(package_dir, union)
    shutil.copytree(package_dir, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (target / f"{EXCEPTION_MODULE}.py").write_text(_EXCEPTION_SOURCE, encoding="utf-8")
    for path, names in plan.values():
        copy = target / path.relative_to(package_dir)
        copy.write_text(rewrite_source(path.read_text(encoding="utf-8"), names), encoding="utf-8")
    if not compileall.compile_dir(str(target), quiet=1, force=True):
        raise RuntimeError("the cnnlib overlay does not compile")


# --- third-party modules --------------------------------------------------------------------

def _third_party_module_stub(message: str) -> str:
    return (f'"""Not available while grading (an exercise rule)."""\n\n\n'
            f"class ForbiddenByRule(ImportError, RuntimeError):\n"
            "    \"\"\"Raised by a function, class or module that this exercise's rules forbid "
            "while grading.\"\"\"\n\n\n"
            f"raise ForbiddenByRule({message!r})\n")


def _find_spec(name: str):
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None


def _third_party_modules(union) -> dict[str, str]:
    """Third-party module -> message, for every forbidden name outside cnnlib that is installed."""
    modules = {}
    for name, rules in union.items():
        if name == "cnnlib" or name.startswith("cnnlib."):
            continue
        for module in IMPLEMENTED_IN.get(name, (name,)):
            if _find_spec(module) is None:
                if name in IMPLEMENTED_IN or "." not in name or _find_spec(name.rpartition(".")[0]) is None:
                    continue  # not installed: nothing to hide
                raise ValueError(f"rule of {rules[0].grade_id!r} forbids {name}: name a module, or add the "
                                 "modules implementing it to autograder.rules.IMPLEMENTED_IN")
            modules.setdefault(module, rules[0].message(name))
    return modules


def _write_third_party(modules: dict[str, str], folder: Path) -> list[list[str]]:
    binds, copies = [], {}
    for module, message in sorted(modules.items()):
        spec = _find_spec(module)
        origin = Path(spec.origin).resolve()
        if spec.submodule_search_locations:  # a package: a stub package over its folder
            stub = folder / module
            stub.mkdir(parents=True)
            (stub / "__init__.py").write_text(_third_party_module_stub(message), encoding="utf-8")
            binds.append([str(stub), str(origin.parent)])
        elif origin.suffix == ".py":
            stub = folder / f"{module}.py"
            stub.write_text(_third_party_module_stub(message), encoding="utf-8")
            binds.append([str(stub), str(origin)])
        else:  # compiled: a copy of its folder in which a .py stub takes the extension's place
            copies.setdefault(origin.parent, []).append((module, origin, message))
    for parent, members in copies.items():
        copy = folder / ("copy-of-" + hashlib.sha256(str(parent).encode()).hexdigest()[:12])
        shutil.copytree(parent, copy, symlinks=True)
        for module, origin, message in members:
            (copy / origin.name).unlink()
            (copy / f"{module.rpartition('.')[2]}.py").write_text(_third_party_module_stub(message), encoding="utf-8")
        # Plain-module stubs of the same folder go into the copy too (one bind per folder).
        for bind in [b for b in binds if Path(b[1]).parent == parent]:
            shutil.copyfile(bind[0], copy / Path(bind[1]).name)
            cached = copy / "__pycache__"
            for pyc in cached.glob(Path(bind[1]).stem + ".*.pyc") if cached.is_dir() else []:
                pyc.unlink()
            binds.remove(bind)
        binds.append([str(copy), str(parent)])
    return binds


# --- the overlay ------------------------------------------------------------------------------

def cnnlib_dir() -> Path:
    """The folder of the cnnlib package the sandbox shows the student kernel."""
    spec = importlib.util.find_spec("cnnlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cnnlib is not installed")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def build_overlay(rules, folder) -> list[list[str]]:
    """Write the overlay of ``rules`` into the empty or new ``folder``; return its
    ``[source, target]`` bind pairs (parents before children)."""
    union = forbidden_union(rules)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    binds = []
    if any(name == "cnnlib" or name.startswith("cnnlib.") for name in union):
        package = cnnlib_dir()
        _write_cnnlib(package, folder / "cnnlib", union)
        binds.append([str((folder / "cnnlib").resolve()), str(package)])
    third_party = _third_party_modules(union)
    if third_party:
        (folder / "third_party").mkdir()
        binds += _write_third_party(third_party, (folder / "third_party").resolve())
    for root, _, files in os.walk(folder):  # readable by the sandbox's unprivileged user
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return sorted(binds, key=lambda pair: (len(Path(pair[1]).parts), pair[1]))


def overlay_digest(rules) -> str:
    """Changes whenever the rules, cnnlib's source, the interpreter or this module change."""
    digest = hashlib.sha256()
    digest.update(repr(sorted((r.grade_id, r.forbid, r.rule) for r in
                              (rules.values() if isinstance(rules, dict) else rules))).encode())
    digest.update(sys.version.encode())
    digest.update(Path(__file__).read_bytes())
    package = cnnlib_dir()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def prepare(assignment_source_folder, workdir) -> Path | None:
    """Build (or reuse) the overlay of an assignment's rules in ``workdir``; return the JSON
    file of bind pairs for ``AUTOGRADER_EXTRA_BINDS``, or ``None`` when no answer has a rule.

    ``assignment_source_folder``: ``assignments/<id>`` (holding ``<id>.ipynb``).
    ``workdir``: a folder that lives as long as the grading run; the overlay is built there
    once per assignment (and content) and shared by every student's kernel.
    """
    source = Path(assignment_source_folder)
    notebook = source / f"{source.name}.ipynb"
    rules = notebook_rules(notebook)
    if not rules:
        return None
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    final = workdir / f"rules-{source.name}-{overlay_digest(rules)}"
    binds_file = final / BINDS_FILE
    if not binds_file.exists():
        building = Path(tempfile.mkdtemp(prefix=f".rules-{source.name}-", dir=workdir))
        try:
            binds = build_overlay(rules, building / "overlay")
            # Paths inside the folder that is renamed below: write them as they will be.
            binds = [[s.replace(str(building.resolve()), str(final.resolve())), t] for s, t in binds]
            (building / BINDS_FILE).write_text(json.dumps(binds, indent=1) + "\n", encoding="utf-8")
            os.chmod(building, 0o755)
            os.chmod(building / BINDS_FILE, 0o644)
            try:
                os.rename(building, final)
            except OSError:  # another process finished first: use its overlay
                if not binds_file.exists():
                    raise
        finally:
            if building.exists():
                shutil.rmtree(building, ignore_errors=True)
    return binds_file
