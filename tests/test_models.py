import pytest
import torch
from torch import nn

from zkcert.errors import InputError, UnsupportedLayerError
from zkcert.models import check_compatible, check_supported, load_model, mlp, save_model, small_cnn


def test_save_load_roundtrip(tmp_path, tiny_mlp, tiny_data):
    save_model(tiny_mlp, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    x = torch.as_tensor(tiny_data.x)
    torch.testing.assert_close(loaded(x), tiny_mlp(x))


def test_cnn_roundtrip(tmp_path):
    model = small_cnn((1, 8, 8), 2, 10)
    save_model(model, tmp_path / "c.pt")
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(load_model(tmp_path / "c.pt")(x), model(x))


@pytest.mark.parametrize("layer", [nn.Sigmoid(), nn.LayerNorm(4), nn.Softmax(dim=1)])
def test_unsupported_layer_is_named(layer):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 4), layer, nn.Linear(4, 2))
    with pytest.raises(UnsupportedLayerError, match=f"layer 2 \\({type(layer).__name__}\\) is not supported"):
        check_supported(model)


def test_non_sequential_rejected():
    """A module that is not a chain of layers (here a bare Linear, whose forward calls F.linear on its own weight)."""
    with pytest.raises(UnsupportedLayerError, match="model Linear uses 'weight' in its forward directly"):
        check_supported(nn.Linear(2, 2))


def test_incompatible_shapes(tiny_data):
    with pytest.raises(InputError, match="does not accept inputs"):
        check_compatible(mlp(10, [4], 10), tiny_data.x, 10)
    with pytest.raises(InputError, match="but the data has 10 classes"):
        check_compatible(mlp(64, [4], 3), tiny_data.x, 10)


def test_bad_model_files(tmp_path, tiny_mlp):
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "missing.pt")
    save_model(tiny_mlp, tmp_path / "m.pt")
    raw = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(InputError, match="cannot read"):
        load_model(tmp_path / "cut.pt")
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(InputError, match="not a zkcert-model/v1 file"):
        load_model(tmp_path / "foreign.pt")
