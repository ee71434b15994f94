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


# --- a device given as transformers' pipelines take it: an index, a torch.device ------------


@pytest.mark.parametrize("given", [0, 1, "cuda", "cuda:0", torch.device("cuda")])
def test_a_gpu_that_is_not_here_is_an_error_however_it_is_named(no_accelerators, given):
    with pytest.raises(DeviceError, match="(?i)no (gpu|cuda device)") as err:
        pick_device(given, source="device")
    assert "device=" in str(err.value)  # names the argument the learner wrote


@pytest.mark.parametrize("given", [-1, "cpu", torch.device("cpu")])
def test_the_cpu_however_it_is_named(no_accelerators, given):
    assert pick_device(given) == torch.device("cpu")


def test_an_index_is_a_device_of_this_machines_accelerator(no_accelerators, monkeypatch):
    no_accelerators["cuda"] = True
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device(1) == torch.device("cuda", 1)
    with pytest.raises(DeviceError, match="2 CUDA device"):
        pick_device(2)
    no_accelerators["cuda"] = False
    no_accelerators["mps"] = True
    monkeypatch.setattr(torch.accelerator, "device_count", lambda: 1)
    assert pick_device(0) == torch.device("mps", 0)
    with pytest.raises(DeviceError, match="1 MPS device"):
        pick_device(1)


@pytest.mark.parametrize("given", [-2, True, 1.5, ["cuda"], ""])
def test_what_is_no_device_is_a_clear_error(no_accelerators, given):
    with pytest.raises(DeviceError, match="leave device out"):
        pick_device(given)
