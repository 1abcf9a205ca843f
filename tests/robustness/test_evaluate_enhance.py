"""Evaluation tables and validation-guided fine-tuning on small MNIST data."""

from __future__ import annotations

import numpy as np
import pytest

from zkcert.errors import InputError
from zkcert.robustness.enhance import EnhanceConfig, enhance, weakest_perturbations
from zkcert.robustness.evaluate import EvalRow, Evaluation, evaluate, evaluation_sets, random_subset
from zkcert.robustness.perturbations import perturb

PERTS = ("fgsm", "contrast", "gaussian_noise")


@pytest.fixture(scope="module")
def sets_and_weak(mnist_mlp, mnist_train, mnist_images):
    sets, weak, _ = evaluation_sets(mnist_mlp, mnist_train, mnist_images, k=40, seed=0)
    return sets, weak


@pytest.fixture(scope="module")
def evaluation(mnist_mlp, sets_and_weak):
    return evaluate(mnist_mlp, sets_and_weak[0], perturbations=PERTS, severities=(1, 3, 5))


def test_sets(sets_and_weak, mnist_images):
    sets, weak = sets_and_weak
    assert len(sets["weak"]) == len(sets["random"]) == 40 == len(weak)
    assert sets["test"] is mnist_images


def test_table_is_complete_and_weak_is_clean_correct(evaluation):
    assert len(evaluation.rows) == 3 + 3 * len(PERTS) * 3
    assert evaluation.accuracy("weak", "clean", 0) == 1.0  # selected among correct samples
    assert evaluation.accuracy("random", "clean", 0) > 0.8
    for row in evaluation.rows:
        assert 0.0 <= row.accuracy <= 1.0


def test_weak_set_is_more_sensitive_than_random(evaluation):
    # The paper's premise, on one model: perturbed weak-robust samples fail more often.
    assert evaluation.mean_accuracy("weak") < evaluation.mean_accuracy("random") - 0.1
    assert evaluation.accuracy("weak", "fgsm", 5) <= evaluation.accuracy("weak", "fgsm", 1)


def test_evaluate_matches_direct_computation(mnist_mlp, sets_and_weak, evaluation):
    data = sets_and_weak[0]["test"]
    x = perturb(mnist_mlp, data, "contrast", 3)
    from zkcert.robustness._common import predict

    assert evaluation.accuracy("test", "contrast", 3) == pytest.approx(np.mean(predict(mnist_mlp, x) == data.y))


def test_weakest_perturbations_orders_by_accuracy():
    rows = tuple(EvalRow("weak", p, 1, a, 10) for p, a in [("jpeg", 0.9), ("fgsm", 0.1), ("contrast", 0.5)])
    ev = Evaluation(rows)
    assert weakest_perturbations(ev, top=2) == ("fgsm", "contrast")
    with pytest.raises(InputError, match="top_types must be in"):
        weakest_perturbations(ev, top=4)


def test_enhance_strategies(mnist_mlp, mnist_train, sets_and_weak, evaluation):
    before = [p.detach().clone() for p in mnist_mlp.parameters()]
    res = enhance(mnist_mlp, mnist_train, sets_and_weak[1], evaluation,
                  config=EnhanceConfig(top_types=1, copies=3, epochs=2), perturbations=PERTS)
    assert set(res.models) == {"none", "clean", "uniform", "guided"}
    assert res.guided_types == ("fgsm",)  # the attack hurts the weak set most
    assert res.pool_size == 120
    assert all(np.array_equal(a, b.detach()) for a, b in zip(before, mnist_mlp.parameters()))  # input untouched
    tuned = res.models["guided"]
    ev = {name: evaluate(m, {"test": sets_and_weak[0]["test"]}, perturbations=("fgsm",), severities=(3,))
          for name, m in res.models.items()}
    assert not np.array_equal(next(tuned.parameters()).detach(), before[0])
    assert ev["guided"].accuracy("test", "clean", 0) > 0.7  # fine-tuning did not wreck the model
    assert ev["guided"].accuracy("test", "fgsm", 3) > ev["none"].accuracy("test", "fgsm", 3)


def test_bad_inputs(mnist_mlp, mnist_train, mnist_images, evaluation):
    with pytest.raises(InputError, match="unknown perturbation"):
        evaluate(mnist_mlp, {"test": mnist_images}, perturbations=("fog",))
    with pytest.raises(InputError, match="severities must be"):
        evaluate(mnist_mlp, {"test": mnist_images}, perturbations=PERTS, severities=(0,))
    with pytest.raises(InputError, match="no evaluation sets"):
        evaluate(mnist_mlp, {})
    with pytest.raises(InputError, match="random subset size"):
        random_subset(mnist_images, 0)
    with pytest.raises(InputError, match="weak-robust selection is empty"):
        enhance(mnist_mlp, mnist_train, np.array([], dtype=int), evaluation)
    with pytest.raises(InputError, match="no perturbed results"):
        evaluation.mean_accuracy("nope")
