"""Robustness validation from weak-robust training samples: analyze, evaluate, enhance (after REVa)."""

from .attacks import MinimalPerturbation, deepfool_l2, fgsm, pgd, pgd_linf_bisection
from .corruptions import CORRUPTIONS, corrupt
from .evaluate import EvalRow, Evaluation, evaluate, evaluation_sets, random_subset
from .perturbations import ADVERSARIAL, PERTURBATIONS, perturb
from .resilience import ResilienceResult, neighbour_scores, resilience_scores, select_weak_robust

__all__ = [
    "ADVERSARIAL",
    "CORRUPTIONS",
    "PERTURBATIONS",
    "EvalRow",
    "Evaluation",
    "MinimalPerturbation",
    "ResilienceResult",
    "corrupt",
    "deepfool_l2",
    "evaluate",
    "evaluation_sets",
    "fgsm",
    "neighbour_scores",
    "perturb",
    "pgd",
    "pgd_linf_bisection",
    "random_subset",
    "resilience_scores",
    "select_weak_robust",
]
