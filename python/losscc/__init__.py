"""losscc for PyTorch: a `.loss` file as one fused forward+backward kernel.

    import losscc, torch
    bce = losscc.compile("examples/bce.loss")      # a path, or the source text itself
    loss = bce(pred, label)                        # 0-dim tensor; one kernel call
    loss.backward()                                # only rescales the stored gradients

`compile(source_or_path, **params)` parses, simplifies and differentiates the
loss (params override its `param`s). Calling the result runs the fused kernel
on the tensors' device: on the CPU through losscc's LLVM JIT (the interpreter
when LLVM is not built in), on a GPU through NVRTC. The kernel computes the
loss and the gradients of the inputs that require grad in one pass; backward
multiplies them by the incoming gradient. Kernels are compiled on the first
call for each set of inputs that require grad, and cached (in memory and on
disk under $LOSSCC_CACHE_DIR, default ~/.cache/losscc).

Inputs are float32 tensors on one device whose shapes broadcast; they are
taken in place when contiguous and of the common shape, else copied. Other
dtypes raise TypeError, shapes that do not broadcast ValueError, a file that
does not compile `losscc.CompileError` (a ValueError) with the compiler's
"file:line:col: error: ..." message. Ranking losses take the queries'
segment offsets: `loss(score, label, offsets=torch.tensor([0, 3, 7]))` (CPU).

`loss.grad_hess(...)` gives the per-element gradient and Hessian diagonal of
the prediction from one kernel, and `losscc.lightgbm_objective(loss)` /
`losscc.xgboost_objective(loss)` turn any such loss into a custom objective
for gradient-boosted trees (losscc/gbdt.py).

This package uses PyTorch only from Python: its extension never links
LibTorch, so it works with the PyTorch you have.
"""

import json
import os
import threading

import torch
from torch.autograd.function import once_differentiable

from . import _losscc
from ._losscc import CompileError

__all__ = ["compile", "Loss", "CompileError", "backend_available", "compare_paired", "lightgbm_objective",
           "xgboost_objective"]


def backend_available(name):
    """Whether backend `name` ("cpu", "cuda", "interp") is built in and usable here."""
    return _losscc.backend_available(name)


def compare_paired(a, b, confidence=0.95, resamples=10000, seed=1):
    """Paired comparison of two methods measured on the same units (a[i], b[i]).

    Returns {"n", "mean_diff" (mean of a − b), "ci" ([low, high], the bootstrap
    percentile interval of mean_diff at `confidence`, `resamples` resamples
    from `seed`), "confidence", "wilcoxon_p" (two-sided signed-rank; exact up
    to 400 pairs)}: the statistics losssearch states its wins with.
    """
    a, b = [float(x) for x in a], [float(x) for x in b]
    return json.loads(_losscc.compare_paired(a, b, float(confidence), int(resamples), int(seed)))


def compile(source_or_path, **params):  # noqa: A001 (the name users expect)
    """A `Loss` from a `.loss` file path or `.loss` source text.

    A str is a path when it names an existing file or ends with ".loss";
    otherwise it is source text. `params` override the file's `param`s.
    """
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"losscc.compile: param {name}={value!r} must be a number")
    values = {name: float(value) for name, value in params.items()}
    if isinstance(source_or_path, os.PathLike) or (
        isinstance(source_or_path, str) and "\n" not in source_or_path
        and (source_or_path.endswith(".loss") or os.path.isfile(source_or_path))
    ):
        path = os.fspath(source_or_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"losscc.compile: no such file: {path!r}")
        fn = _losscc.parse_file(path, values)
    elif isinstance(source_or_path, str):
        fn = _losscc.parse_source(source_or_path, "<string>", values)
    else:
        raise TypeError(f"losscc.compile: expected a path or .loss source text, got {type(source_or_path).__name__}")
    return Loss(fn)


class Loss:
    """A compiled loss: call it with one tensor per input (see the module docstring)."""

    def __init__(self, fn):
        self._fn = fn
        self.inputs = tuple(fn.inputs)  # argument order: the declaration order
        self.reduction = fn.reduction    # "mean" or "sum"
        self.grouped = fn.grouped        # a ranking loss, run over queries
        # The host backend CPU tensors run on: "cpu" (LLVM JIT) or "interp".
        self.host_backend = "cpu" if _losscc.backend_available("cpu") else "interp"
        self._kernels = {}
        self._lock = threading.Lock()

    @property
    def source(self):
        """The simplified loss in .loss syntax."""
        return self._fn.source()

    @property
    def grad_source(self):
        """The simplified gradient of every input, in .loss syntax (as `losscc --grad`)."""
        return self._fn.grad_source()

    def check(self):
        """The validity report as a dict (as `losscc --check`): "valid", "reasons", ..."""
        return json.loads(self._fn.check_json())

    def emit_cuda(self):
        """The fused CUDA C kernel (as `losscc --emit-cuda`)."""
        return self._fn.emit_cuda()

    def emit_torch(self, name="loss"):
        """A self-contained PyTorch function computing this loss (as `losscc --emit-torch`)."""
        return self._fn.emit_torch(name)

    def __repr__(self):
        return f"losscc.Loss({', '.join(self.inputs)}; {self.reduction})"

    def __call__(self, *args, offsets=None, **kwargs):
        tensors, shape = self._bind(args, kwargs)
        offsets = self._check_offsets(offsets, tensors)
        if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
            return _FusedLoss.apply(self, offsets, shape, *tensors)
        value, _ = self._run(tensors, shape, [], offsets)
        return value

    def grad_hess(self, *args, offsets=None, hessian=True, **kwargs):
        """(loss, grad, hess): the loss and, per element (document), the first
        and second derivative with respect to the prediction input, from one
        fused kernel that also computes the Hessian's diagonal (hess is None
        with hessian=False: the gradient alone).

        Arguments as for calling the loss; nothing is recorded for autograd.
        grad and hess are scaled as the loss is reduced (a mean divides both
        by the number of elements, or of queries for a ranking loss). Raises
        ValueError for a loss with no or several prediction inputs, or whose
        second derivative losscc does not compile (see compiler/passes/hessian.h).
        """
        trained = [i for i, role in enumerate(self._fn.roles) if role != "label"]
        if len(trained) != 1:
            raise ValueError(f"losscc: grad_hess needs a loss with one prediction input; "
                             f"{self!r} has {len(trained)}")
        tensors, shape = self._bind(args, kwargs)
        offsets = self._check_offsets(offsets, tensors)
        with torch.no_grad():
            value, stored = self._run(tensors, shape, trained, offsets, hessian=bool(hessian))
        return value, stored[0], stored[1] if hessian else None

    # ---- argument checks ---------------------------------------------------

    def _bind(self, args, kwargs):
        """The tensors in input order and the shape they broadcast to."""
        # The common call, every input positional, float32, on one device and
        # of one shape, is checked without building anything.
        if not kwargs and len(args) == len(self.inputs) and all(
                type(t) is torch.Tensor and t.dtype == torch.float32 for t in args):
            first = args[0]
            if all(t.shape == first.shape and t.device == first.device for t in args) \
                    and first.device.type in ("cpu", "cuda"):
                return list(args), first.shape
        return self._bind_checked(args, kwargs)

    def _bind_checked(self, args, kwargs):
        if len(args) > len(self.inputs):
            raise TypeError(f"{self!r} takes {len(self.inputs)} tensors, got {len(args)}")
        given = dict(zip(self.inputs, args))
        for name, value in kwargs.items():
            if name not in self.inputs:
                raise TypeError(f"{self!r} has no input {name!r} (inputs: {', '.join(self.inputs)})")
            if name in given:
                raise TypeError(f"{self!r}: input {name!r} given twice")
            given[name] = value
        missing = [n for n in self.inputs if n not in given]
        if missing:
            raise TypeError(f"{self!r}: missing input(s) {', '.join(missing)}")
        tensors = [given[n] for n in self.inputs]
        for name, t in zip(self.inputs, tensors):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"losscc: input {name!r} must be a torch.Tensor, got {type(t).__name__}")
            if t.dtype != torch.float32:
                raise TypeError(f"losscc: input {name!r} is {t.dtype}; the kernels take torch.float32 "
                                f"(convert with .float())")
        device = tensors[0].device if tensors else torch.device("cpu")
        for name, t in zip(self.inputs, tensors):
            if t.device != device:
                raise ValueError(f"losscc: input {name!r} is on {t.device}, but {self.inputs[0]!r} is on {device}")
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"losscc: tensors on {device} are not supported (cpu and cuda are)")
        try:
            shape = torch.broadcast_shapes(*(t.shape for t in tensors))
        except RuntimeError:
            shapes = ", ".join(f"{n}: {list(t.shape)}" for n, t in zip(self.inputs, tensors))
            raise ValueError(f"losscc: the input shapes do not broadcast ({shapes})") from None
        return tensors, shape

    def _check_offsets(self, offsets, tensors):
        if not self.grouped:
            if offsets is not None:
                raise ValueError(f"{self!r} is not a ranking loss; it takes no offsets")
            return None
        if offsets is None:
            raise ValueError(f"{self!r} is a ranking loss: pass offsets=, the queries' segment offsets "
                             f"(query q owns elements offsets[q] .. offsets[q+1]-1)")
        offsets = torch.as_tensor(offsets)
        if offsets.dtype not in (torch.int64, torch.int32) or offsets.dim() != 1 or len(offsets) < 2:
            raise ValueError("losscc: offsets must be a 1-D integer tensor of at least 2 entries")
        if tensors[0].device.type != "cpu":
            raise ValueError("losscc: ranking losses run on CPU tensors only")
        for name, t in zip(self.inputs, tensors):
            if t.dim() != 1:
                raise ValueError(f"losscc: a ranking loss takes 1-D inputs; {name!r} has shape {list(t.shape)}")
        return offsets.to(device="cpu", dtype=torch.int64).contiguous()

    # ---- running the kernel ------------------------------------------------

    def _kernel(self, grad_inputs, backend, hessian=False):
        key = (tuple(grad_inputs), backend, hessian)
        kernel = self._kernels.get(key)  # a dict read is atomic; compile under the lock
        if kernel is None:
            with self._lock:
                kernel = self._kernels.get(key)
                if kernel is None:
                    kernel = self._kernels[key] = self._fn.kernel(list(grad_inputs), backend, hessian)
        return kernel

    def _run(self, tensors, shape, grad_inputs, offsets, hessian=False):
        """The reduced loss (0-dim float32) and the gradients of `grad_inputs`,
        followed, with `hessian`, by their Hessian diagonals.

        An input of the common shape that is contiguous is read in place; only
        a broadcast or strided one is copied. The gradients are the one
        allocation a call makes."""
        device = tensors[0].device
        xs = [t if t.shape == shape and t.is_contiguous() else t.detach().expand(shape).contiguous()
              for t in tensors]
        n = xs[0].numel()
        if n == 0:
            raise ValueError("losscc: the inputs are empty")
        stored = len(grad_inputs) * (2 if hessian else 1)
        grads = [torch.empty(shape, dtype=torch.float32, device=device) for _ in range(stored)]
        inputs = [x.data_ptr() for x in xs]
        outputs = [g.data_ptr() for g in grads]
        if device.type == "cpu":
            kernel = self._kernel(grad_inputs, self.host_backend, hessian)
            if offsets is not None:
                value = kernel.run_host(n, inputs, outputs, torch.get_num_threads(),
                                        offsets.data_ptr(), len(offsets) - 1)
            else:
                value = kernel.run_host(n, inputs, outputs, torch.get_num_threads())
            return torch.scalar_tensor(value, dtype=torch.float32), grads
        with torch.cuda.device(device):
            kernel = self._kernel(grad_inputs, "cuda", hessian)
            loss = torch.empty((), dtype=torch.float32, device=device)
            stream = torch.cuda.current_stream(device).cuda_stream
            kernel.run_device(n, inputs, outputs, loss.data_ptr(), stream)
        return loss, grads


class _FusedLoss(torch.autograd.Function):
    """forward runs the fused kernel and keeps the gradients; backward rescales them."""

    @staticmethod
    def forward(ctx, loss, offsets, shape, *tensors):
        grad_inputs = [i for i, need in enumerate(ctx.needs_input_grad[3:]) if need]
        value, grads = loss._run(tensors, shape, grad_inputs, offsets)
        ctx.grad_inputs = grad_inputs
        ctx.shapes = [t.shape for t in tensors]
        ctx.save_for_backward(*grads)
        return value

    @staticmethod
    @once_differentiable
    def backward(ctx, upstream):
        result = [None] * len(ctx.shapes)
        # Reading the upstream value of a GPU tensor would synchronise, so the
        # multiply by 1 (loss.backward()) is skipped on the host only.
        is_one = upstream.device.type == "cpu" and upstream.item() == 1.0
        for i, g in zip(ctx.grad_inputs, ctx.saved_tensors):
            g = g if is_one else g * upstream
            if g.shape != ctx.shapes[i]:  # a broadcast input: sum over the dimensions it was expanded along
                g = g.sum_to_size(ctx.shapes[i])
            result[i] = g
        return (None, None, None, *result)


from .gbdt import lightgbm_objective, xgboost_objective  # noqa: E402 (needs Loss, defined above)
