"""Custom objectives for gradient-boosted trees from any losscc loss.

    import lightgbm, losscc
    params = {"objective": losscc.lightgbm_objective("examples/lambdarank.loss"), ...}
    booster = lightgbm.train(params, lightgbm.Dataset(X, y, group=sizes))

    import xgboost
    booster = xgboost.train(params, xgboost.DMatrix(X, y, group=sizes),
                            obj=losscc.xgboost_objective("examples/lambdarank.loss"))

LightGBM (>= 4) and XGBoost take a custom objective as per-row gradients and
Hessians at the current raw scores. These compile the loss once, with its
Hessian's diagonal in the same fused kernel as its gradient, and at each
boosting round run it on the raw scores and the labels, over the dataset's
query groups for a ranking loss (each query's rows contiguous, as both
libraries require). The loss takes one prediction, which is the raw score,
and one label. The derivatives are those of the loss summed over queries (or
rows, for an elementwise loss), the scale of LightGBM's own lambdarank.
Hessians below `min_hessian` are raised to it: a leaf's value is -sum(g) /
sum(h), and a query whose labels are all equal, or a loss of negative
curvature, would give h <= 0. A piecewise linear loss (a hinge) has h = 0
almost everywhere: give it `constant_hessian=c`, which boosts with the
gradient alone (every row's h is c, a step of 1/c), as for a loss whose
second derivative losscc does not compile.
"""
import numpy as np
import torch


def _as_loss(loss):
    from . import Loss, compile as compile_loss
    loss = loss if isinstance(loss, Loss) else compile_loss(loss)
    roles = list(loss._fn.roles)
    if len(roles) != 2 or roles.count("label") != 1:
        raise ValueError(f"losscc: a boosting objective needs a loss of one prediction and one label; "
                         f"{loss!r} has inputs {list(loss.inputs)} with roles {roles}")
    return loss, roles.index("label")


class _Objective:
    """Per-row (grad, hess) of a compiled loss at raw scores: see the module docstring."""

    def __init__(self, loss, min_hessian, constant_hessian):
        self.loss, self._label_at = _as_loss(loss)
        if not min_hessian >= 0:
            raise ValueError(f"losscc: min_hessian must be >= 0, got {min_hessian!r}")
        if constant_hessian is not None and not constant_hessian > 0:
            raise ValueError(f"losscc: constant_hessian must be > 0, got {constant_hessian!r}")
        self.min_hessian = float(min_hessian)
        self.constant_hessian = constant_hessian

    def __call__(self, preds, labels, sizes):
        preds = np.asarray(preds)
        if preds.ndim != 1:
            raise ValueError(f"losscc: a boosting objective takes one raw score per row; got shape {preds.shape}")
        score = torch.from_numpy(preds.astype(np.float32))
        label = torch.from_numpy(np.asarray(labels, dtype=np.float32))
        if label.shape != score.shape:
            raise ValueError(f"losscc: {label.numel()} labels for {score.numel()} scores")
        args = [label, score] if self._label_at == 0 else [score, label]
        offsets, units = None, score.numel()
        if self.loss.grouped:
            if sizes is None or len(sizes) == 0:
                raise ValueError("losscc: a ranking loss needs the dataset's query groups "
                                 "(lightgbm.Dataset(..., group=sizes), xgboost.DMatrix(..., group=sizes))")
            offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))
            units = len(sizes)
        exact = self.constant_hessian is None
        _, grad, hess = self.loss.grad_hess(*args, offsets=offsets, hessian=exact)
        scale = units if self.loss.reduction == "mean" else 1.0
        grad = grad.double().numpy() * scale
        if not exact:
            return grad, np.full_like(grad, float(self.constant_hessian))
        return grad, np.maximum(hess.double().numpy() * scale, self.min_hessian)


def lightgbm_objective(loss, min_hessian=1e-6, constant_hessian=None):
    """A LightGBM custom objective, f(preds, train_data) -> (grad, hess), from a
    losscc loss (a Loss, a .loss path or source text): params["objective"] = f.
    Queries come from train_data.get_group()."""
    objective = _Objective(loss, min_hessian, constant_hessian)

    def f(preds, train_data):
        return objective(preds, train_data.get_label(), train_data.get_group())

    f.loss = objective.loss
    return f


def xgboost_objective(loss, min_hessian=1e-6, constant_hessian=None):
    """An XGBoost custom objective, f(preds, dtrain) -> (grad, hess), from a
    losscc loss: xgboost.train(params, dtrain, obj=f). Queries come from the
    DMatrix's group (its group_ptr)."""
    objective = _Objective(loss, min_hessian, constant_hessian)

    def f(preds, dtrain):
        ptr = dtrain.get_uint_info("group_ptr")
        sizes = np.diff(ptr.astype(np.int64)) if ptr is not None and len(ptr) > 1 else None
        return objective(preds, dtrain.get_label(), sizes)

    f.loss = objective.loss
    return f
