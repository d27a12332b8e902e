"""Int8 copies of the local encoders for the query side, on a CPU.

A search encodes one short text twice (MiniLM and SPLADE), and on a CPU a forward
over a dozen word pieces is a row of skinny matrix products that fp32 kernels run
slowly: per query, one thread, MiniLM takes about 12 ms traced and 3.4 ms with its
linear layers in int8 (weights per output channel, activations quantised per call:
torch's dynamic quantisation), SPLADE-tiny 9 ms and 4 ms. The copy encodes queries
only; stored texts keep the fp32 model's vectors, so a query's int8 vector is scored
against fp32 ones (the LoCoMo check of that is in the README's "Scale").

torch marks ``torch.ao.quantization`` deprecated in favour of torchao; the pinned torch
still ships it, and where it does not (or quantising fails) the caller keeps the fp32
model for queries too.
"""

from __future__ import annotations

import copy
import logging
import warnings
from typing import Any

log = logging.getLogger(__name__)


def int8_copy(model: Any) -> Any | None:
    """A copy of ``model`` with every ``torch.nn.Linear`` dynamically quantised to int8
    (per output channel), in eval mode; None when the model is not on the CPU or
    torch cannot quantise it."""
    import torch

    if next(model.parameters()).device.type != "cpu":
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the deprecation notes of torch.ao
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

            spec = {torch.nn.Linear: per_channel_dynamic_qconfig}
            quantize: Any = quantize_dynamic  # untyped in torch
            return quantize(copy.deepcopy(model), spec, dtype=torch.qint8).eval()
    except Exception as exc:  # no quantised kernels in this build: fp32 queries
        log.warning("could not quantise %s (%s): queries stay fp32", type(model).__name__, exc)
        return None
