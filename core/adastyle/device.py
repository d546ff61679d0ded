"""Device and precision choice: CUDA, then MPS, then CPU; the fastest dtype each does well."""
from __future__ import annotations

import functools
import os

import torch

# The checks of a name alone (no torch) live in device_names; imported here for the callers that pick a device.
from adastyle.device_names import DEVICE_NAMES, DeviceError, check_device_name  # noqa: F401


def why_not_cuda() -> str:
    """A plain reason why CUDA is not used here (for errors and `adastyle doctor`)."""
    if torch.version.cuda is None:
        return f"this PyTorch ({torch.__version__}) is a build without CUDA"
    return f"PyTorch {torch.__version__} has CUDA {torch.version.cuda}, but finds no usable NVIDIA GPU/driver"


def why_not_mps() -> str:
    """A plain reason why Apple's MPS is not used here."""
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_built():
        return "this PyTorch has no MPS support (Apple silicon Macs only)"
    return "MPS is built in but not available on this machine"


def mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def pick_device(name: str = "auto") -> torch.device:
    """`auto` = CUDA if present, else Apple MPS, else CPU; an unavailable explicit choice is an error."""
    name = check_device_name(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} requested but CUDA is not available: {why_not_cuda()} "
                              "(use --device cpu or auto)")
        if ":" in name and int(name[5:]) >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} requested but there are {torch.cuda.device_count()} CUDA devices")
    if name == "mps" and not mps_available():
        raise DeviceError(f"device 'mps' requested but {why_not_mps()} (use --device cpu or auto)")
    return torch.device(name)


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True on CPUs with native bf16 dot products (AVX-512 BF16 or AMX), where bf16 is ~3x faster."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def fast_dtype(device: torch.device) -> torch.dtype:
    """The compute dtype of the fast path on this device (fp32 where reduced precision would be slow)."""
    if os.environ.get("ADASTYLE_FP32"):
        return torch.float32
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.bfloat16 if cpu_has_bf16() else torch.float32


def available_memory(device: torch.device) -> int:
    """Free bytes on the device (RAM for CPU/MPS), for choosing a tile size."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30
