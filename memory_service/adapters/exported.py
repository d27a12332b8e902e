"""The local encoders' forward through ONNX Runtime on a CPU, for search queries.

A query is one short text, and torch's fp32 kernels run its skinny matrix products
slowly on one thread; ONNX Runtime runs the same weights faster and gives the same
numbers (to 1e-5), so a query's vector is the one the fp32 model gives (the figures:
``python -m evals.bench.query_int8``, in the README's "Queries through ONNX Runtime").
The model is exported once at load, in memory, from the weights the
package ships (torch's TorchScript-based exporter, which needs the ``onnx`` package),
checked against the eager model on the probe texts of ``adapters.traced``, and run on
one intra-op thread. Anything that fails (no onnxruntime, an export this transformers
version does not allow, other numbers) leaves the caller on its torch forward.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from typing import Any

from memory_service.adapters.traced import (
    PROBE,
    TOLERANCE,
    Forward,
    Head,
    faithful,
    probe,
    whole,
)

log = logging.getLogger(__name__)


def onnx_forward(
    model: Any, tokenizer: Any, output: str, head: Head | None = None
) -> Forward | None:
    """``model``'s forward to its ``output`` (``last_hidden_state``, ``logits``), then
    ``head`` when given, in an ONNX Runtime session on one thread, taking and giving
    torch tensors; None when the model is not on the CPU, or exporting or opening it
    fails, or its outputs on the probe texts differ from the eager model's. ``model``
    is left in eval mode."""
    import torch

    if next(model.parameters()).device.type != "cpu":
        return None
    eager = whole(model, output, head)
    try:
        import onnxruntime

        graph = io.BytesIO()
        axes = {"ids": {0: "batch", 1: "pieces"}, "mask": {0: "batch", 1: "pieces"}}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on what it fixed
            export: Callable[..., Any] = torch.onnx.export  # typed for paths; takes a buffer
            export(
                eager,
                probe(tokenizer, PROBE[1:]),
                graph,
                input_names=["ids", "mask"],
                output_names=["out"],
                dynamic_axes={**axes, "out": {0: "batch"} if head else {0: "batch", 1: "pieces"}},
                opset_version=17,
                dynamo=False,
            )
        eager.eval()  # the exporter may leave the model in training mode
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            graph.getvalue(), options, providers=["CPUExecutionProvider"]
        )

        def forward(ids: Any, mask: Any) -> Any:
            feed = {"ids": ids.numpy(), "mask": mask.numpy()}
            return torch.from_numpy(session.run(None, feed)[0])

        with torch.inference_mode():
            gap = faithful(forward, eager, tokenizer)
        if not gap <= TOLERANCE:
            log.warning("%s in ONNX differs by %.2g: torch kept", type(model).__name__, gap)
            return None
    except Exception as exc:  # no runtime, or no export: the torch forward, which works
        eager.eval()
        log.warning("could not run %s in ONNX (%s): torch kept", type(model).__name__, exc)
        return None
    return forward
