"""Models people train: BatchNorm folded against torch's own outputs, Dropout and Identity dropped, torch.fx chains and their refusals."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zkcert.errors import UnsupportedLayerError
from zkcert.folding import Folded, fold
from zkcert.metric import flat_params
from zkcert.models import check_supported, fold_names, layer_configs, load_model, save_model


def _warmed(model: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    """The model after a few training-mode batches (BatchNorm running statistics away from 0 and 1), in eval mode."""
    torch.manual_seed(0)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, *shape) * 2 + 0.5)
        for m in model.modules():  # non-trivial affine parameters too
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.uniform_(0.5, 2.0)
                m.bias.uniform_(-1.0, 1.0)
    return model.eval()


def _cnn(bias: bool = False, affine: bool = True) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, bias=bias), nn.BatchNorm2d(3, affine=affine), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout2d(0.3),
        nn.Flatten(), nn.Linear(48, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5), nn.Identity(), nn.Linear(6, 10),
    )


@pytest.mark.parametrize("bias,affine", [(False, True), (True, True), (True, False)])
def test_batchnorm_folds_to_torch_outputs(bias, affine):
    """The folded chain computes what torch computes in eval mode, to float32 tolerance, with one parameter set per affine layer."""
    model = _warmed(_cnn(bias, affine), (1, 8, 8))
    folded = check_supported(model)
    assert [type(m).__name__ for m in folded] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear"]
    x = torch.randn(32, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
    assert flat_params(model).size == sum(p.numel() for p in folded.parameters()) == 3 * 9 + 3 + 48 * 6 + 6 + 6 * 10 + 10
    assert fold_names(model) == (
        "BatchNorm2d (layer 1) folded into Conv2d (layer 0)", "Dropout2d (layer 4) dropped: the identity in eval mode",
        "BatchNorm1d (layer 7) folded into Linear (layer 6)", "Dropout (layer 9) dropped: the identity in eval mode",
        "Identity (layer 10) dropped: the identity in eval mode",
    )


def test_folding_reads_eval_mode_even_from_a_model_in_training_mode():
    """The certificate is about the eval-mode function: running statistics, not the batch's."""
    model = _warmed(_cnn(), (1, 8, 8))
    x = torch.randn(8, 1, 8, 8)
    with torch.no_grad():
        expected = model(x)
        model.train()
        torch.testing.assert_close(check_supported(model)(x), expected, rtol=1e-5, atol=1e-5)


def test_a_plain_supported_sequential_is_itself_and_folds_nothing(tiny_mlp):
    assert check_supported(tiny_mlp) is tiny_mlp and fold_names(tiny_mlp) == ()


def test_save_model_keeps_the_folds(tmp_path):
    model = _warmed(_cnn(), (1, 8, 8))
    save_model(model, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert isinstance(loaded, Folded) and loaded.folds == fold_names(model) and layer_configs(loaded) == layer_configs(model)
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=1e-5, atol=1e-5)


class _Chain(nn.Module):
    """A typical hand-written CNN: modules in __init__, functional relu and a view in forward, nested Sequential."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, bias=False)
        self.bn = nn.BatchNorm2d(2)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(18, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.bn(self.conv(x))))
        return self.head(x.view(x.size(0), -1))


def test_fx_reads_a_straight_chain():
    model = _warmed(_Chain(), (1, 8, 8))
    folded = check_supported(model)
    assert [type(m).__name__ for m in folded] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    x = torch.randn(8, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
    assert fold_names(model)[0] == "BatchNorm2d (layer 1) folded into Conv2d (layer 0)"


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3, padding=1)
        self.block = nn.Conv2d(2, 2, 3, padding=1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return self.fc(torch.flatten(self.block(x) + x, 1))


class _Dynamic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1)) if x.sum() > 0 else -self.fc(x.flatten(1))


class _Sigmoid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc(torch.flatten(x, 1)))


@pytest.mark.parametrize("model,message", [
    (_Residual(), r"^model _Residual is not a straight chain: the output of module 'stem' \(Conv2d\) feeds 2 operations \(block, add\)"),
    (_Dynamic(), r"^model _Dynamic is not an nn.Sequential and torch.fx cannot trace it \(TraceError\)"),
    (_Sigmoid(), r"^model _Sigmoid: operation 'sigmoid' \(sigmoid\) is not a supported layer"),
    (nn.Sequential(nn.Flatten(), nn.ReLU(), nn.BatchNorm1d(64), nn.Linear(64, 10)), r"^layer 2 \(BatchNorm1d\) does not follow a Linear"),
    (nn.Sequential(nn.Flatten(), nn.Linear(64, 4), nn.BatchNorm1d(4, track_running_stats=False)), r"keeps no running statistics"),
])
def test_what_is_not_a_chain_is_refused_in_one_line_naming_it(model, message):
    with pytest.raises(UnsupportedLayerError, match=message) as info:
        check_supported(model)
    assert "\n" not in str(info.value)


def test_fold_makes_a_new_model_and_leaves_the_given_one_alone():
    model = _warmed(_cnn(), (1, 8, 8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold(model)
    with torch.no_grad():
        folded[0].weight.add_(1.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
