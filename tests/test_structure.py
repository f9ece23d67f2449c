"""Structure checks of the package: no import cycle, no stack inspection, flat MROs."""

import ast
import re
import importlib
import inspect
import pkgutil
import textwrap
from pathlib import Path

import pytest

import sklearn_meta
from sklearn_meta.utils.discovery import all_estimators

PACKAGE = Path(sklearn_meta.__file__).parent


def _modules():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name, path):
    """Project modules imported at module level (not inside functions)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("sklearn_meta")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("sklearn_meta"):
                continue
            for a in node.names:  # "from . import _engine" imports a submodule
                sub = f"{mod}.{a.name}"
                out.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                        or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else mod)
    return out


def test_no_import_cycle():
    graph = {name: _imports(name, path) for name, path in _modules()}
    graph = {k: {m for m in v if m in graph and m != k} for k, v in graph.items()}
    # a package's __init__ importing its own submodules is not a cycle of concern
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in graph[node]:
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                if not all(b.startswith(a + ".") or a.startswith(b + ".")
                           for a, b in zip(cycle, cycle[1:])):
                    pytest.fail("import cycle: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node)


def test_no_stack_frame_inspection():
    for name, path in _modules():
        text = path.read_text()
        for word in ("currentframe", "f_back", "f_locals", "_getframe"):
            assert word not in text, (name, word)


def _public_estimators():
    out = []
    for info in pkgutil.walk_packages(sklearn_meta.__path__, "sklearn_meta."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and hasattr(obj, "fit") and not name.startswith("Base"):
                out.append(obj)
    out += [cls for _, cls in all_estimators()]  # the list the check generator runs over
    return sorted(set(out), key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _public_estimators(), ids=lambda c: c.__name__)
def test_at_most_five_project_classes_in_the_mro(cls):
    own = [k for k in cls.__mro__ if k.__module__.startswith("sklearn_meta")]
    assert len(own) <= 5, [k.__name__ for k in own]


def test_poor_score_is_set_in_one_place():
    # scikit-learn's mixins reset the sub-tags, so every hook that sets the estimator
    # type ends with base._episodic_score_tags, the only code that writes the tag
    places = [name for name, path in _modules() if "poor_score =" in path.read_text()]
    assert places == ["sklearn_meta.base"]
    text = (PACKAGE / "base.py").read_text()
    assert text.count("poor_score =") == 1


def test_families_do_not_import_each_others_private_modules():
    families = {"gradient", "metric", "model_based", "mixed_effects", "ensemble", "prior",
                "selection", "continual", "baselines"}
    for name, path in _modules():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in families:
            continue
        for mod in _imports(name, path):
            p = mod.split(".")
            if len(p) >= 3 and p[1] in families and p[1] != parts[1] and p[2].startswith("_"):
                pytest.fail(f"{name} imports {mod}")


def _documented_params(doc):
    lines = inspect.cleandoc(doc).split("\n")
    start = lines.index("Parameters") + 2
    names = []
    for line in lines[start:]:
        if line and set(line) == {"-"}:  # the next section's underline
            names.pop()  # its title was read as a parameter line
            break
        m = re.match(r"^(\*{0,2}[\w, *]+?) :", line)
        if m and not line.startswith(" "):
            names += [n.strip().lstrip("*") for n in m.group(1).split(",")]
        elif line and not line.startswith(" "):
            names.append(line.strip())  # a section title without " : "
    return [n for n in names if n]


@pytest.mark.parametrize("cls", _public_estimators(), ids=lambda c: c.__name__)
def test_documented_parameters_match_init(cls):
    """Every public estimator has its own docstring, documenting exactly ``__init__``."""
    doc = cls.__dict__.get("__doc__")
    assert doc, f"{cls.__name__} has no docstring of its own"
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert sorted(_documented_params(doc)) == sorted(params)
    # the text is the literal of the class body (placeholder lines of fill_doc at most,
    # no __doc__ built by str.format or an f-string), with an Examples doctest
    # (pytest runs --doctest-modules)
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    literal = ast.get_docstring(ast.Module(body=body[:1], type_ignores=[]), clean=False)
    assert literal is not None, f"{cls.__name__}: no docstring literal in the class body"
    assert doc.splitlines()[0] == literal.splitlines()[0]
    assert "\n    Examples\n    --------\n    >>> " in doc, f"{cls.__name__}: no Examples"


DOC = PACKAGE.parent / "doc"


def _api_rst_entries():
    """``{module: [names]}`` of the autosummary entries of doc/api.rst."""
    entries, module, in_summary = {}, None, False
    for line in (DOC / "api.rst").read_text().splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line)
        if m:
            module, in_summary = m.group(1), False
        elif line.startswith(".. autosummary::"):
            in_summary = True
        elif in_summary and line.startswith("   ") and not line.strip().startswith(":"):
            entries.setdefault(module, []).append(line.strip())
        elif in_summary and line.strip() and not line.startswith(" "):
            in_summary = False
    return entries


def _public_names():
    """``{module: [names]}`` of the ``__all__`` of every public module: those of
    ``sklearn_meta.__all__`` and their submodules without a leading underscore."""
    out = {}
    for top in sklearn_meta.__all__:
        module = importlib.import_module(f"sklearn_meta.{top}")
        names = [module.__name__]
        if hasattr(module, "__path__"):
            names += [i.name for i in pkgutil.walk_packages(module.__path__, f"{module.__name__}.")
                      if not any(p.startswith("_") for p in i.name.split("."))]
        for name in names:
            module = importlib.import_module(name)
            if hasattr(module, "__path__") and not getattr(module, "__all__", None):
                continue  # a package without names of its own (utils, continual)
            assert hasattr(module, "__all__"), f"public module {name} has no __all__"
            for item in module.__all__:
                assert hasattr(module, item), (name, item)
            if module.__all__:
                out[name] = list(module.__all__)
    return out


def test_public_api_matches_the_api_reference():
    """``__all__`` of the public modules and doc/api.rst list the same names."""
    public = {m: sorted(v) for m, v in _public_names().items()}
    documented = {m: sorted(v) for m, v in _api_rst_entries().items()}
    assert public == documented
    # every public name is public (no "_" name exported), and nothing is listed twice
    for module, names in public.items():
        assert not [n for n in names if n.startswith("_")], module
        assert len(set(names)) == len(names), module


def test_every_public_looking_module_is_listed_in_all():
    """A top-level module without a leading underscore is in ``sklearn_meta.__all__``
    (``cli`` is the command line, documented in doc/benchmark.rst)."""
    names = {info.name for info in pkgutil.iter_modules(sklearn_meta.__path__)}
    assert {n for n in names if not n.startswith("_")} - {"cli"} == set(sklearn_meta.__all__)
    assert sklearn_meta.gradient.MAMLClassifier.__name__ == "MAMLClassifier"  # lazy import


def test_low_level_task_helpers_are_private():
    import sklearn_meta.continual
    import sklearn_meta.model_selection
    import sklearn_meta.tasks

    assert sklearn_meta.tasks.__all__ == ["TaskSet", "as_task_arrays"]
    for name in ("is_task_sequence", "check_n_shots", "check_episode_labels",
                 "split_support_query", "check_random_state_seed"):
        assert not hasattr(sklearn_meta.tasks, name), name
    assert not hasattr(sklearn_meta.model_selection, "episodic_score")
    assert sklearn_meta.continual.__all__ == []
    assert not any(hasattr(importlib.import_module(f"sklearn_meta.{m}"), "ContinualMixin")
                   for m in sklearn_meta.__all__)


def _documented_default(text):
    """The value of a ``default=...`` text, or ``_UNPARSED`` (e.g. prose)."""
    for candidate in (text, text.split(" (")[0], text.split(" ")[0].rstrip(",")):
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError):
            continue
    return _UNPARSED


_UNPARSED = object()


@pytest.mark.parametrize("cls", _public_estimators(), ids=lambda c: c.__name__)
def test_documented_defaults_match_init(cls):
    """Each ``name : type, default=value`` line states the default of ``__init__``
    (the defaults are declared once per parameter group, utils._params.make_init)."""
    params = inspect.signature(cls).parameters
    checked = 0
    for line in inspect.cleandoc(cls.__doc__).split("\n"):
        m = re.match(r"^(\w+) : .*default=(.+)$", line)
        if not m or m.group(1) not in params:
            continue
        default = params[m.group(1)].default
        value = _documented_default(m.group(2).strip())
        if value is _UNPARSED or default is inspect.Parameter.empty:
            continue
        assert value == default, (cls.__name__, m.group(1), m.group(2), default)
        checked += 1
    assert checked, f"{cls.__name__}: no documented default was checked"
