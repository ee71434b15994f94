import pytest
import torch

from course_utils.models import device as device_module
from course_utils.models.device import DeviceError, pick_device


@pytest.fixture
def no_accelerators(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    available = {"cuda": False, "mps": False, "xpu": False, "cpu": True}
    monkeypatch.setattr(device_module, "is_available", lambda kind: available[kind])
    return available


def test_cpu_when_nothing_else(no_accelerators):
    assert pick_device() == torch.device("cpu")


def test_order_is_cuda_then_mps_then_xpu(no_accelerators):
    no_accelerators["xpu"] = True
    assert pick_device().type == "xpu"
    no_accelerators["mps"] = True
    assert pick_device().type == "mps"
    no_accelerators["cuda"] = True
    assert pick_device().type == "cuda"


def test_override_wins_over_automatic_choice(no_accelerators, monkeypatch):
    no_accelerators["cuda"] = True
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


def test_override_with_index(no_accelerators, monkeypatch):
    no_accelerators["cuda"] = True
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("COURSE_DEVICE", "cuda:1")
    assert pick_device() == torch.device("cuda", 1)
    monkeypatch.setenv("COURSE_DEVICE", "cuda:2")
    with pytest.raises(DeviceError, match="2 CUDA device"):
        pick_device()
    with pytest.raises(DeviceError, match=r"(?i)device=.cuda:2.*leave device out"):
        pick_device("cuda:2")


def test_unknown_override_is_a_clear_error(no_accelerators, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "tpu")
    with pytest.raises(DeviceError, match="COURSE_DEVICE='tpu'.*cuda, mps, xpu, cpu"):
        pick_device()


def test_unavailable_override_is_an_error_not_a_silent_cpu(no_accelerators, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(DeviceError, match="no cuda device is available"):
        pick_device()


def test_explicit_argument_overrides_environment(no_accelerators, monkeypatch):
    no_accelerators["mps"] = True
    monkeypatch.setenv("COURSE_DEVICE", "mps")
    assert pick_device("cpu").type == "cpu"


def test_real_machine_gives_a_usable_device():
    device = pick_device()
    assert torch.zeros(2, device=device).sum().item() == 0
