"""utils._params.make_init: the constructors of every public estimator."""

import inspect
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, clone

from sklearn_meta.utils._params import REQUIRED, make_init
from sklearn_meta.utils.discovery import all_estimators


class _Toy(BaseEstimator):
    __init__ = make_init({"estimator": REQUIRED, "n_shots": 5, "layers": (8, 8),
                          "random_state": None}, positional=1)


def test_signature_is_scikit_learn_s():
    sig = inspect.signature(_Toy)
    assert list(sig.parameters) == ["estimator", "n_shots", "layers", "random_state"]
    kinds = [p.kind for p in sig.parameters.values()]
    assert kinds == [inspect.Parameter.POSITIONAL_OR_KEYWORD] + [
        inspect.Parameter.KEYWORD_ONLY] * 3
    assert sig.parameters["estimator"].default is inspect.Parameter.empty
    assert sig.parameters["layers"].default == (8, 8)


def test_stores_arguments_unchanged_and_clones():
    marker = object()
    est = _Toy(marker, n_shots=3)
    assert est.estimator is marker and est.n_shots == 3 and est.layers == (8, 8)
    assert est.get_params() == {"estimator": marker, "n_shots": 3, "layers": (8, 8),
                                "random_state": None}
    assert vars(est) == est.get_params()  # nothing but the parameters
    assert repr(_Toy(1, layers=(4,))) == "_Toy(estimator=1, layers=(4,))"
    cloned = clone(_Toy(_Toy(2), random_state=0))
    assert cloned.random_state == 0 and cloned.estimator.estimator == 2
    assert pickle.loads(pickle.dumps(est.set_params(estimator=1))).get_params()["n_shots"] == 3


@pytest.mark.parametrize("call, match", [
    (lambda: _Toy(), "_Toy\\(\\): missing a required argument: 'estimator'"),
    (lambda: _Toy(1, 2), "_Toy\\(\\): too many positional arguments"),
    (lambda: _Toy(1, n_shot=2), "unexpected keyword argument 'n_shot'.*n_shots"),
])
def test_wrong_call_names_the_class_and_its_parameters(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_a_later_key_overrides_a_default_in_place():
    group = {"a": 1, "b": 2}
    init = make_init({**group, "c": 3, "a": 10})
    assert list(inspect.signature(init).parameters) == ["self", "a", "b", "c"]
    assert inspect.signature(init).parameters["a"].default == 10


_names = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
    lambda n: n not in {"self", "args", "kwargs"})
_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=5), st.tuples(st.integers()))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_names, _values, max_size=8), st.data())
def test_any_parameter_set_round_trips(params, data):
    """Whatever the set, the signature lists it in order with its defaults, and a call
    stores the defaults and the passed values unchanged."""
    positional = data.draw(st.integers(0, len(params)))
    init = make_init(params, positional=positional)
    cls = type("Est", (BaseEstimator,), {"__init__": init})
    sig = inspect.signature(cls).parameters
    assert list(sig) == list(params)
    assert all(sig[n].default is v for n, v in params.items())
    passed = {n: data.draw(_values) for n in params if data.draw(st.booleans())}
    est = cls(**passed)
    assert est.get_params() == {**params, **passed}
    assert clone(est).get_params() == est.get_params()


def test_required_after_default_is_refused():
    with pytest.raises(ValueError):
        make_init({"a": 1, "b": REQUIRED}, positional=2)


@pytest.mark.parametrize("name, cls", all_estimators(), ids=lambda x: getattr(x, "__name__", x))
def test_every_public_estimator_declares_its_parameters_once(name, cls):
    """No public estimator writes ``self.x = x`` by hand: its ``__init__`` is make_init's."""
    assert cls.__init__.__code__ is make_init({}).__code__, name
