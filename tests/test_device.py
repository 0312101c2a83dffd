import pytest
import torch

from gen3d.device import DeviceError, autocast, resolve_device


def test_auto_picks_an_available_device():
    dev = resolve_device("auto")
    assert dev.type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert dev.type != "cuda"


def test_unavailable_explicit_device_is_an_error_not_a_fallback():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")  # the error path needs a machine without it
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_unknown_device_names_the_choices():
    with pytest.raises(DeviceError, match="auto, cpu, cuda, mps"):
        resolve_device("tpu")


def test_bf16_autocast_on_cpu():
    lin = torch.nn.Linear(4, 4)
    with autocast(torch.device("cpu"), enabled=True):
        y = lin(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16
    with autocast(torch.device("cpu"), enabled=False):
        assert lin(torch.randn(2, 4)).dtype == torch.float32
