"""Test helper: mean few-shot score of several meta-learners on the same episodes."""

from sklearn_meta.model_selection import evaluate_few_shot


def few_shot_means(estimators, train, test, scoring=None, n_episodes=20,
                   support="per_class"):
    """``{name: mean score}`` over ``n_episodes`` 5-shot episodes of ``test`` (5 rows
    per class by default, the protocol these tests were written for)."""
    res = evaluate_few_shot(estimators, train, test, n_shots=5, n_episodes=n_episodes,
                            scoring=scoring, support=support, random_state=0)
    return res.set_index("estimator")["mean"]
