"""Serving graphs: a network traced and frozen into one TorchScript call, for fp32 CPU inference.

Why: an eager forward of EfficientNet-Lite0 is ~150 Python-level op calls, and each op hands the
GIL back and must win it again. In the bot the event loop's thread holds the GIL most of the
time under load, so the search thread waits at every op: a 2-view forward measured 52 ms alone
and 289 ms beside a busy Python thread (113 ms frozen). A frozen graph runs all its ops in C++
within one call that releases the GIL, and folds BatchNorm into the convolutions; its outputs
equal the eager module's to float rounding, which `frozen_graph` checks before handing it out.

TorchScript is deprecated in favour of torch.compile/torch.export, which need a compiler
toolchain and minutes of compilation on a small CPU; its FutureWarnings are silenced here.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import torch

from engine.errors import EngineError

logger = logging.getLogger(__name__)

Graph = Callable[[torch.Tensor], torch.Tensor]
RTOL, ATOL = 1e-3, 1e-4  # a frozen graph must reproduce the eager outputs this closely


class FreezeError(EngineError):
    """The network could not be traced, or its frozen graph computes something else."""


def cpu_has_bf16() -> bool:
    """Whether this CPU runs bf16 convolutions natively (AVX-512 BF16 or AMX, through oneDNN)."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def frozen_graph(module: torch.nn.Module, example: torch.Tensor, *,
                 tolerance: tuple[float, float] = (RTOL, ATOL)) -> Graph:
    """`module` (eval mode, on the CPU) as a frozen TorchScript graph for inputs shaped like `example`.

    The batch size may vary; the other dimensions are fixed by the trace. The module is left
    untouched, but the graph shares its unfolded weights (no second copy in memory: +73 MiB for
    VGG-16 instead of +507), so freeze only what is served as loaded, never a module in training.
    Raises FreezeError when tracing fails, the module is in training mode, or the outputs differ
    by more than `tolerance` (rtol, atol).
    """
    if module.training:
        raise FreezeError(f"{type(module).__name__} is in training mode")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript's deprecation notice
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape reads in third-party forwards
            with torch.no_grad():
                graph: torch.jit.ScriptModule = torch.jit.freeze(torch.jit.trace(module, example))
    except Exception as exc:  # tracing fails in many ways (data-dependent control flow, non-tensor outputs)
        raise FreezeError(f"cannot trace {type(module).__name__}: {exc}") from exc
    check = torch.cat([example, example[:1]])  # another batch size than the trace's
    with torch.inference_mode():
        expected, got = module(check), graph(check)
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape or not torch.allclose(
            got.float(), expected.float(), rtol=tolerance[0], atol=tolerance[1]):
        raise FreezeError(f"the frozen {type(module).__name__} computes something else than the eager one")
    return graph
