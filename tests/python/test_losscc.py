"""The `losscc` Python module against the same losses written in torch ops.

Values and gradients on random tensors (float32 kernels against float64
references), torch.autograd.gradcheck (in float32: the kernels take float32
only, so the float64 gradcheck does not apply), broadcasting, the errors a
user sees, ranking losses with segment offsets, and CUDA when there is a GPU.
"""
import pathlib

import pytest
import torch

import losscc

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
F = torch.nn.functional


def rand_prob(n, gen):
    return 0.02 + 0.96 * torch.rand(n, generator=gen)


def rand_label(n, gen):
    return (torch.rand(n, generator=gen) > 0.5).float()


def rand_real(n, gen):
    return 6 * torch.rand(n, generator=gen) - 3


# The example losses as a user would write them in torch ops: per-element
# terms of (pred, label) or (pos, neg); the examples reduce by the mean.
def logmin_ref(pred, label):
    m = torch.fmin(label, pred)
    return torch.log(1 / (m + 1e-6) + 1e-6) * (m + label + pred)


POINTWISE = {
    "bce": lambda p, y: -(y * torch.log(p) + (1 - y) * torch.log(1 - p)),
    "mse": lambda p, y: (p - y) ** 2,
    "focal": lambda p, y: -(y * (1 - p) ** 2 * torch.log(p) + (1 - y) * p ** 2 * torch.log(1 - p)),
    "hinge": lambda p, y: torch.relu(1 - (2 * y - 1) * (2 * p - 1)),
    "logmin": logmin_ref,
}


def compare(loss, ref_term, inputs, grad_mask, rtol=1e-4, atol=1e-6):
    """Runs `loss` on float32 copies and `ref_term` in float64; compares value and gradients."""
    xs = [x.clone().requires_grad_(need) for x, need in zip(inputs, grad_mask)]
    value = loss(*xs)
    value.backward()
    refs = [x.double().requires_grad_(need) for x, need in zip(inputs, grad_mask)]
    ref = ref_term(*refs).mean() if loss.reduction == "mean" else ref_term(*refs).sum()
    ref.backward()
    assert value.dtype == torch.float32 and value.dim() == 0
    torch.testing.assert_close(value.double(), ref.detach(), rtol=rtol, atol=atol)
    for x, r, need in zip(xs, refs, grad_mask):
        if need:
            torch.testing.assert_close(x.grad.double(), r.grad, rtol=rtol, atol=atol)
        else:
            assert x.grad is None


@pytest.mark.parametrize("name", sorted(POINTWISE))
def test_pointwise_values_and_gradients(name):
    gen = torch.Generator().manual_seed(sum(map(ord, name)))
    loss = losscc.compile(EXAMPLES / f"{name}.loss")
    n = 1000
    compare(loss, POINTWISE[name], [rand_prob(n, gen), rand_label(n, gen)], [True, False])


def test_gradient_of_the_label_when_it_requires_grad():
    gen = torch.Generator().manual_seed(3)
    loss = losscc.compile(EXAMPLES / "mse.loss")
    compare(loss, POINTWISE["mse"], [rand_prob(64, gen), rand_prob(64, gen)], [True, True])


def test_pairwise_loss_of_positive_and_negative_scores():
    gen = torch.Generator().manual_seed(4)
    bpr = losscc.compile(EXAMPLES / "bpr.loss")
    assert bpr.inputs == ("pos", "neg")
    compare(bpr, lambda pos, neg: F.softplus(neg - pos), [rand_real(500, gen), rand_real(500, gen)], [True, True])


def test_source_text_params_and_sum_reduction():
    gen = torch.Generator().manual_seed(5)
    loss = losscc.compile("input x: real\ninput w: unit\nparam k = 2\nreduce sum\nw * relu(x)^k", k=3)
    assert loss.reduction == "sum"
    compare(loss, lambda x, w: w * torch.relu(x) ** 3, [rand_real(300, gen), torch.rand(300, generator=gen)],
            [True, True])


def test_param_override_focal_gamma_zero_is_bce():
    gen = torch.Generator().manual_seed(6)
    p, y = rand_prob(200, gen), rand_label(200, gen)
    focal0 = losscc.compile(str(EXAMPLES / "focal.loss"), gamma=0)
    torch.testing.assert_close(focal0(p, y), losscc.compile(EXAMPLES / "bce.loss")(p, y))


def test_gradcheck_float32():
    # The kernels compute in float32, so gradcheck runs in float32 with a
    # step and tolerances to match (a float64 gradcheck does not apply).
    gen = torch.Generator().manual_seed(7)
    loss = losscc.compile(EXAMPLES / "focal.loss")
    p = (0.1 + 0.8 * torch.rand(12, generator=gen)).requires_grad_()
    y = rand_label(12, gen)
    with pytest.warns(UserWarning):  # gradcheck's warning about non-double inputs
        assert torch.autograd.gradcheck(lambda p: loss(p, y), (p,), eps=1e-3, atol=1e-3, rtol=1e-2)


def test_upstream_gradient_and_graph_composition():
    gen = torch.Generator().manual_seed(8)
    loss = losscc.compile(EXAMPLES / "bce.loss")
    logits = rand_real(100, gen).requires_grad_()
    y = rand_label(100, gen)
    (3 * loss(torch.sigmoid(logits), y)).backward()
    ref_logits = logits.detach().double().requires_grad_()
    (3 * F.binary_cross_entropy_with_logits(ref_logits, y.double())).backward()
    torch.testing.assert_close(logits.grad.double(), ref_logits.grad, rtol=1e-4, atol=1e-6)


def test_broadcasting_and_non_contiguous_inputs():
    gen = torch.Generator().manual_seed(9)
    loss = losscc.compile(EXAMPLES / "mse.loss")
    pred = rand_prob(20, gen).reshape(5, 4).t()      # [4, 5], not contiguous
    label = rand_label(5, gen)                       # broadcast along dim 0
    compare(loss, POINTWISE["mse"], [pred, label], [True, True])
    compare(loss, POINTWISE["mse"], [rand_prob(6, gen).reshape(6, 1), rand_label(3, gen)], [True, True])


def test_inputs_of_one_shape_are_read_in_place_and_parameters_work():
    gen = torch.Generator().manual_seed(11)
    loss = losscc.compile(EXAMPLES / "bce.loss")
    pred, label = rand_prob(64, gen), rand_label(64, gen)
    compare(loss, POINTWISE["bce"], [pred, label], [True, False])  # the fast path: every input as it is
    param = torch.nn.Parameter(pred.clone())                        # a Tensor subclass: the checked path
    value = loss(param, label)
    value.backward()
    torch.testing.assert_close(value, POINTWISE["bce"](pred.double(), label.double()).mean().float())
    assert param.grad is not None and param.grad.shape == param.shape


def test_named_arguments_and_no_grad():
    loss = losscc.compile(EXAMPLES / "bce.loss")
    p = torch.full((4,), 0.25, requires_grad=True)
    y = torch.ones(4)
    with torch.no_grad():
        v = loss(label=y, pred=p)
    assert v.grad_fn is None and not v.requires_grad
    torch.testing.assert_close(v, torch.tensor(-torch.log(torch.tensor(0.25)).item()))


def test_interpreter_backend_agrees_with_the_jit():
    gen = torch.Generator().manual_seed(10)
    p, y = rand_prob(300, gen), rand_label(300, gen)
    jit = losscc.compile(EXAMPLES / "logmin.loss")
    interp = losscc.compile(EXAMPLES / "logmin.loss")
    interp.host_backend = "interp"
    torch.testing.assert_close(jit(p, y), interp(p, y))


def test_text_properties():
    loss = losscc.compile(EXAMPLES / "bce.loss")
    assert "log1p(-pred)" in loss.source
    assert "# d loss / d pred" in loss.grad_source
    report = loss.check()
    assert report["valid"] is True
    assert losscc.compile(REPO / "tests/tools/inputs/pred_only.loss").check()["valid"] is False
    assert "__global__" in loss.emit_cuda()
    namespace = {}
    exec(loss.emit_torch("bce"), namespace)
    p, y = torch.tensor([0.3, 0.8]), torch.tensor([1.0, 0.0])
    torch.testing.assert_close(namespace["bce"](p, y), loss(p, y))


def test_wrong_dtype_is_a_type_error():
    loss = losscc.compile(EXAMPLES / "bce.loss")
    with pytest.raises(TypeError, match=r"'pred' is torch.float64.*float32"):
        loss(torch.rand(3, dtype=torch.float64), torch.ones(3))
    with pytest.raises(TypeError, match=r"'label' is torch.int64"):
        loss(torch.rand(3), torch.ones(3, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"must be a torch.Tensor"):
        loss(torch.rand(3), [1.0, 0.0, 1.0])


def test_wrong_arguments_are_type_errors():
    loss = losscc.compile(EXAMPLES / "bce.loss")
    with pytest.raises(TypeError, match="missing input"):
        loss(torch.rand(3))
    with pytest.raises(TypeError, match="no input 'lable'"):
        loss(torch.rand(3), lable=torch.ones(3))
    with pytest.raises(TypeError, match="must be a number"):
        losscc.compile(EXAMPLES / "focal.loss", gamma="2")


def test_shapes_that_do_not_broadcast_are_a_value_error():
    loss = losscc.compile(EXAMPLES / "bce.loss")
    with pytest.raises(ValueError, match=r"do not broadcast \(pred: \[3\], label: \[4\]\)"):
        loss(torch.rand(3), torch.ones(4))


def test_compile_error_names_file_line_and_column():
    path = REPO / "tests/tools/inputs/syntax_error.loss"
    with pytest.raises(losscc.CompileError, match=r"syntax_error\.loss:3:1: error: expected '\)'") as info:
        losscc.compile(path)
    assert isinstance(info.value, ValueError)
    with pytest.raises(losscc.CompileError, match=r"<string>:1:9: error: unknown name 'lable'"):
        losscc.compile("(pred - lable)^2")
    with pytest.raises(losscc.CompileError, match="gamma2"):
        losscc.compile(EXAMPLES / "focal.loss", gamma2=1)
    with pytest.raises(FileNotFoundError, match="no_such.loss"):
        losscc.compile("examples/no_such.loss")


# ---- ranking losses: segment offsets ---------------------------------------

def ranknet_ref(score, label, offsets):
    """Mean over queries of Σ over pairs with label_i > label_j of softplus(s_j - s_i)."""
    total = 0
    for q in range(len(offsets) - 1):
        s, y = score[offsets[q]:offsets[q + 1]], label[offsets[q]:offsets[q + 1]]
        better = (y[:, None] - y[None, :]) > 0
        total = total + torch.where(better, F.softplus(s[None, :] - s[:, None]), torch.zeros(())).sum()
    return total / (len(offsets) - 1)


def test_ranking_loss_with_offsets():
    gen = torch.Generator().manual_seed(11)
    offsets = torch.tensor([0, 3, 10, 11, 18])
    n = int(offsets[-1])
    score = rand_real(n, gen)
    label = torch.randint(0, 5, (n,), generator=gen).float()
    loss = losscc.compile(EXAMPLES / "ranknet.loss")
    assert loss.grouped
    s = score.clone().requires_grad_()
    value = loss(s, label, offsets=offsets)
    value.backward()
    s_ref = score.double().requires_grad_()
    ref = ranknet_ref(s_ref, label.double(), offsets.tolist())
    ref.backward()
    torch.testing.assert_close(value.double(), ref.detach(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(s.grad.double(), s_ref.grad, rtol=1e-4, atol=1e-6)


def test_ranking_offsets_errors():
    loss = losscc.compile(EXAMPLES / "ranknet.loss")
    score, label = torch.rand(5), torch.ones(5)
    with pytest.raises(ValueError, match="ranking loss: pass offsets="):
        loss(score, label)
    with pytest.raises(ValueError, match="offsets"):
        loss(score, label, offsets=torch.tensor([0, 2, 4]))  # does not end at 5
    with pytest.raises(ValueError, match="not a ranking loss"):
        losscc.compile(EXAMPLES / "bce.loss")(torch.rand(2), torch.ones(2), offsets=torch.tensor([0, 2]))


# ---- CUDA ------------------------------------------------------------------

cuda = pytest.mark.skipif(not (torch.cuda.is_available() and losscc.backend_available("cuda")),
                          reason="no GPU, or losscc built without the CUDA backend")


@cuda
@pytest.mark.parametrize("name", ["bce", "logmin"])
def test_cuda_matches_cpu(name):
    gen = torch.Generator().manual_seed(12)
    loss = losscc.compile(EXAMPLES / f"{name}.loss")
    p, y = rand_prob(100_003, gen), rand_label(100_003, gen)
    pc = p.cuda().requires_grad_()
    value = loss(pc, y.cuda())
    value.backward()
    assert value.device.type == "cuda"
    pr = p.clone().requires_grad_()
    ref = loss(pr, y)
    ref.backward()
    torch.testing.assert_close(value.cpu(), ref, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(pc.grad.cpu(), pr.grad, rtol=1e-4, atol=1e-8)


@cuda
def test_cuda_and_cpu_inputs_mixed_is_a_value_error():
    loss = losscc.compile(EXAMPLES / "bce.loss")
    with pytest.raises(ValueError, match="is on cpu"):
        loss(torch.rand(3, device="cuda"), torch.ones(3))


# ---- --emit-torch's ranking losses against the interpreter ------------------

RANKING = ["approx_ndcg", "lambdaloss", "lambdarank", "listmle", "listnet", "rank_hinge", "rank_mse", "ranknet"]


@pytest.mark.parametrize("name", RANKING)
@pytest.mark.parametrize("backend", ["interp", "cpu"])
def test_emitted_torch_ranking_loss_against_the_kernels(name, backend):
    # The emitted function (float64, autograd) against the interpreter (the
    # oracle: double inside, float32 in and out) and the JIT, on queries of
    # 1 to 9 documents with tied labels.
    loss = losscc.compile(EXAMPLES / f"{name}.loss")
    loss.host_backend = backend
    namespace = {}
    exec(loss.emit_torch(name), namespace)
    emitted = namespace[name]
    gen = torch.Generator().manual_seed(sum(map(ord, name)))
    offsets = [0, 1, 5, 12, 20, 21, 30]
    score = rand_real(30, gen)
    label = torch.randint(0, 5, (30,), generator=gen).float()
    s = score.clone().requires_grad_()
    value = loss(s, label, offsets=torch.tensor(offsets))
    value.backward()
    s_ref = score.double().requires_grad_()
    ref = emitted(s_ref, label.double(), offsets)
    ref.backward()
    torch.testing.assert_close(value.double(), ref.detach(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(s.grad.double(), s_ref.grad, rtol=1e-3, atol=1e-5)


SCAN_BODIES = [
    "qsum(qmax(score) + log(prefix_sum(label, exp(score - qmax(score)))) - score)",
    "qsum(sigmoid(suffix_sum(2 * score - label, score * label)) * label)",
    "qsum(suffix_sum(label, qmax(score)) * score + prefix_sum(qcount(), score) * label)",
    "qsum(suffix_sum(label, score))",  # the gradient is a scan
]


def scan_loss(body):
    return losscc.compile(f"input score: real as pred\ninput label: grade\n{body}\n")


@pytest.mark.parametrize("body", SCAN_BODIES)
def test_emitted_torch_scans_against_the_kernels_values_gradients_and_hessians(body):
    # prefix_sum / suffix_sum as torch sorts and cumsums (autograd, and
    # double backward for the Hessian) against the JIT and the interpreter.
    loss = scan_loss(body)
    namespace = {}
    exec(loss.emit_torch("scan"), namespace)
    gen = torch.Generator().manual_seed(21)
    offsets = [0, 1, 5, 12, 20, 21, 30]
    score = rand_real(30, gen)
    label = torch.randint(0, 3, (30,), generator=gen).float()
    want_hess, want_grad = torch_hessian_diagonal(
        lambda s: namespace["scan"](s, label.double(), offsets), score)
    for backend in ["cpu", "interp"]:
        variant = losscc.Loss(loss._fn)
        variant.host_backend = backend
        value, grad, hess = variant.grad_hess(score, label, offsets=torch.tensor(offsets))
        torch.testing.assert_close(grad.double(), want_grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(hess.double(), want_hess, rtol=1e-3, atol=1e-5)


def test_emitted_torch_scan_order_puts_a_nan_key_last():
    loss = losscc.compile("input score: real as pred\ninput label: grade\nqsum(prefix_sum(label, score) * score)\n")
    namespace = {}
    exec(loss.emit_torch("scan"), namespace)
    label = torch.tensor([float("nan"), float("-inf"), float("nan"), 5.0], dtype=torch.float64)
    score = torch.tensor([1.0, 10.0, 100.0, 1000.0], dtype=torch.float64, requires_grad=True)
    # Order 3, 1, 0, 2: prefix sums 1011, 1010, 1111, 1000.
    value = namespace["scan"](score, label, [0, 4])
    assert value.item() == 1 * 1011 + 10 * 1010 + 100 * 1111 + 1000 * 1000
    assert loss.host_backend in ("cpu", "interp")
    for backend in ["cpu", "interp"]:
        loss.host_backend = backend
        assert loss(score.detach().float(), label.float(), offsets=torch.tensor([0, 4])).item() == value.item()


def test_emitted_torch_functions_pass_float64_gradcheck():
    # --emit-torch output computes in its inputs' dtype, so it takes the
    # float64 gradcheck the float32 kernels cannot.
    gen = torch.Generator().manual_seed(14)
    logmin = losscc.compile(EXAMPLES / "logmin.loss")
    namespace = {}
    exec(logmin.emit_torch("logmin"), namespace)
    p = (0.1 + 0.8 * torch.rand(10, generator=gen, dtype=torch.float64)).requires_grad_()
    y = rand_label(10, gen).double()
    assert torch.autograd.gradcheck(lambda p: namespace["logmin"](p, y), (p,))
    listnet = losscc.compile(EXAMPLES / "listnet.loss")
    exec(listnet.emit_torch("listnet"), namespace)
    s = rand_real(9, gen).double().requires_grad_()
    grades = torch.randint(0, 5, (9,), generator=gen).double()
    assert torch.autograd.gradcheck(lambda s: namespace["listnet"](s, grades, [0, 4, 9]), (s,))


def test_compare_paired_states_a_win_with_the_search_statistics():
    # Five pairs, a ahead in every one: the exact two-sided Wilcoxon p is
    # 2/2^5, the interval lies above 0; b ahead flips the sign, not the p.
    a, b = [0.71, 0.69, 0.73, 0.70, 0.72], [0.70, 0.67, 0.70, 0.66, 0.67]
    ahead = losscc.compare_paired(a, b, seed=3)
    assert ahead["n"] == 5
    assert ahead["mean_diff"] == pytest.approx(0.03)
    assert ahead["wilcoxon_p"] == pytest.approx(2 / 32)
    assert 0 < ahead["ci"][0] < ahead["mean_diff"] < ahead["ci"][1] <= 0.05
    behind = losscc.compare_paired(b, a, seed=3)
    assert behind["mean_diff"] == pytest.approx(-0.03)
    assert behind["wilcoxon_p"] == pytest.approx(ahead["wilcoxon_p"])
    tie = losscc.compare_paired([0.5, 0.6], [0.5, 0.6])
    assert tie["mean_diff"] == 0 and tie["wilcoxon_p"] == 1
    with pytest.raises(ValueError):
        losscc.compare_paired([1.0, 2.0], [1.0])


# ---- the Hessian's diagonal ---------------------------------------------------

RANKING_EXAMPLES = ["rank_mse", "ranknet", "rank_hinge", "lambdarank", "lambdaloss", "listnet", "listmle",
                    "approx_ndcg"]


def torch_hessian_diagonal(fn, score, *rest):
    """d²fn/dscore_i² for each i by LibTorch's double backward, in float64."""
    s = score.double().requires_grad_()
    (g,) = torch.autograd.grad(fn(s, *rest), s, create_graph=True)
    if not g.requires_grad:  # a gradient that is constant in the score (piecewise linear losses)
        return torch.zeros_like(s), g.detach()
    rows = [torch.autograd.grad(g[i], s, retain_graph=True)[0][i] for i in range(len(s))]
    return torch.stack(rows).detach(), g.detach()


@pytest.mark.parametrize("name", RANKING_EXAMPLES)
def test_grad_hess_of_ranking_examples_matches_double_backward(name):
    loss = losscc.compile(EXAMPLES / f"{name}.loss")
    namespace = {}
    exec(loss.emit_torch(name), namespace)  # the same loss written in torch ops
    gen = torch.Generator().manual_seed(3)
    sizes = [5, 1, 8, 3, 12]
    offsets = torch.tensor([0] + torch.tensor(sizes).cumsum(0).tolist())
    score = 2 * torch.randn(sum(sizes), generator=gen)
    label = torch.randint(0, 3, (sum(sizes),), generator=gen).float()
    want_hess, want_grad = torch_hessian_diagonal(
        lambda s: namespace[name](s, label.double(), offsets.tolist()), score)
    for backend in ["cpu", "interp"]:
        if not losscc.backend_available(backend):
            continue
        variant = losscc.Loss(loss._fn)
        variant.host_backend = backend
        value, grad, hess = variant.grad_hess(score, label, offsets=offsets)
        assert grad.dtype == hess.dtype == torch.float32 and hess.shape == score.shape
        torch.testing.assert_close(grad.double(), want_grad, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(hess.double(), want_hess, rtol=1e-4, atol=1e-6)


def test_grad_hess_of_elementwise_losses_matches_double_backward():
    gen = torch.Generator().manual_seed(4)
    pred, label = rand_prob(64, gen), rand_label(64, gen)
    for name in ["bce", "focal", "mse"]:
        loss = losscc.compile(EXAMPLES / f"{name}.loss")
        _, grad, hess = loss.grad_hess(pred, label)
        want_hess, want_grad = torch_hessian_diagonal(lambda p: POINTWISE[name](p, label.double()).mean(), pred)
        torch.testing.assert_close(grad.double(), want_grad, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(hess.double(), want_hess, rtol=1e-4, atol=1e-7)


def test_grad_hess_errors():
    with pytest.raises(ValueError, match="one prediction input"):
        losscc.compile(EXAMPLES / "bpr.loss").grad_hess(torch.zeros(3), torch.zeros(3))
    # Smooth ranks of smooth ranks: the second derivative sums over triples
    # of documents, which losscc does not compile; it says so.
    nested = losscc.compile("input score: real as pred\ninput label: grade\n"
                            "let r = pairsum(1, sigmoid(other(score) - score))\n"
                            "qsum(log(1 + pairsum(1, sigmoid(other(r) - r))))\n")
    offsets = torch.tensor([0, 3])
    with pytest.raises(ValueError, match="sum over triples"):
        nested.grad_hess(torch.tensor([0.1, 0.5, -0.2]), torch.tensor([0.0, 1.0, 2.0]), offsets=offsets)
    with pytest.raises(ValueError, match="one prediction and one label"):
        losscc.lightgbm_objective(EXAMPLES / "bpr.loss")
