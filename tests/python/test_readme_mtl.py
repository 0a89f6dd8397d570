"""The README's multi-task training loop, run as written, and the multi-task
examples against the same losses in torch ops (kernel and --emit-torch)."""
import pathlib
import re

import pytest
import torch

import losscc

REPO = pathlib.Path(__file__).resolve().parents[2]


def bce(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def readme_block(needle):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    found = [b for b in blocks if needle in b]
    assert len(found) == 1, f"one README python block uses {needle}"
    return found[0]


def test_readme_multi_task_loop_trains_both_tasks(monkeypatch):
    monkeypatch.chdir(REPO)
    scope = {}
    exec(readme_block("examples/mtl_chain.loss"), scope)
    model, x, click, buy, mtl = scope["model"], scope["x"], scope["click"], scope["buy"], scope["mtl"]
    with torch.no_grad():
        p_click, p_buy = model(x)
    # Both towers learned their task: the positives score above the negatives.
    for p, y in [(p_click, click), (p_buy, buy)]:
        pos, neg = p[y == 1], p[y == 0]
        auc = (pos[:, None] > neg[None, :]).float().mean().item()
        assert auc > 0.85
    # The loop's last loss is the program's value, by torch ops.
    want = (bce(p_click, click) + (1 + p_click) * bce(p_buy, buy)).mean()
    got = mtl(p_click, click, p_buy, buy)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_readme_multi_task_loop_takes_the_found_loss(monkeypatch):
    # The README's sentence after the loop: the search's find drops in.
    monkeypatch.chdir(REPO)
    scope = {}
    exec(readme_block("examples/mtl_chain.loss").replace("mtl_chain.loss", "mtl_found_sessions.loss"), scope)
    model, x, click, buy, mtl = scope["model"], scope["x"], scope["click"], scope["buy"], scope["mtl"]
    with torch.no_grad():
        p_click, p_buy = model(x)
    for p, y in [(p_click, click), (p_buy, buy)]:
        pos, neg = p[y == 1], p[y == 0]
        assert (pos[:, None] > neg[None, :]).float().mean().item() > 0.85
    want = (bce(p_click, click) + 2 * bce(p_buy, buy)).mean()
    torch.testing.assert_close(mtl(p_click, click, p_buy, buy), want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name, ref", [
    ("mtl_found_sessions", lambda p1, y1, p2, y2: bce(p1, y1) + 2 * bce(p2, y2)),
    ("mtl_equal", lambda p1, y1, p2, y2: bce(p1, y1) + bce(p2, y2)),
    ("mtl_fixed", lambda p1, y1, p2, y2: bce(p1, y1) + 0.5 * bce(p2, y2)),
    ("mtl_chain", lambda p1, y1, p2, y2: bce(p1, y1) + (1 + p1) * bce(p2, y2)),
    # The weights are held constant in the gradient (detach), as RMTL's are.
    ("mtl_rmtl_closed_form", lambda p1, y1, p2, y2:
        (1 + 0.7 * bce(p1, y1).detach().clamp(max=9.2103)) * bce(p1, y1)
        + (1 + 0.7 * bce(p2, y2).detach().clamp(max=9.2103)) * bce(p2, y2)),
])
def test_multi_task_examples_kernel_and_emitted_torch_agree_with_torch(name, ref):
    gen = torch.Generator().manual_seed(5)
    loss = losscc.compile(REPO / "examples" / f"{name}.loss")
    assert loss.check()["valid"]
    p = [(0.02 + 0.96 * torch.rand(300, generator=gen, dtype=torch.float64)) for _ in range(2)]
    y = [(torch.rand(300, generator=gen) > 0.5).double() for _ in range(2)]
    want_p = [t.clone().requires_grad_() for t in p]
    want = ref(want_p[0], y[0], want_p[1], y[1]).mean()
    want.backward()
    got_p = [t.float().requires_grad_() for t in p]
    got = loss(got_p[0], y[0].float(), got_p[1], y[1].float())
    got.backward()
    torch.testing.assert_close(got.double(), want.detach(), rtol=1e-5, atol=1e-6)
    for g, w in zip(got_p, want_p):
        torch.testing.assert_close(g.grad.double(), w.grad, rtol=1e-4, atol=1e-6)
    namespace = {}
    exec(loss.emit_torch(name), namespace)
    emitted_p = [t.clone().requires_grad_() for t in p]
    emitted = namespace[name](emitted_p[0], y[0], emitted_p[1], y[1])
    torch.testing.assert_close(emitted, want.detach())
    emitted.backward()
    for e, w in zip(emitted_p, want_p):
        torch.testing.assert_close(e.grad, w.grad)
    if "detach" not in loss.source:  # finite differences see through detach
        assert torch.autograd.gradcheck(lambda a, b: namespace[name](a, y[0], b, y[1]), tuple(emitted_p))


def test_multi_task_loss_over_the_batch_kernel_and_emitted_torch_agree_with_torch():
    # examples/mtl_loss_ratio.loss reads batch statistics (each task's batch
    # mean loss, held constant): the batch is its one query, offsets [0, n].
    gen = torch.Generator().manual_seed(6)
    loss = losscc.compile(REPO / "examples" / "mtl_loss_ratio.loss")
    assert loss.check()["valid"]
    n = 257
    p = [(0.02 + 0.96 * torch.rand(n, generator=gen, dtype=torch.float64)) for _ in range(2)]
    y = [(torch.rand(n, generator=gen) > 0.7).double() for _ in range(2)]
    whole_batch = torch.tensor([0, n])
    want_p = [t.clone().requires_grad_() for t in p]
    l1, l2 = bce(want_p[0], y[0]), bce(want_p[1], y[1])
    want = (l1 / l1.detach().mean() + l2 / l2.detach().mean()).mean()
    want.backward()
    got_p = [t.float().requires_grad_() for t in p]
    got = loss(got_p[0], y[0].float(), got_p[1], y[1].float(), offsets=whole_batch)
    got.backward()
    torch.testing.assert_close(got.double(), want.detach(), rtol=1e-5, atol=1e-6)
    for g, w in zip(got_p, want_p):
        torch.testing.assert_close(g.grad.double(), w.grad, rtol=1e-4, atol=1e-7)
    namespace = {}
    exec(loss.emit_torch("ratio"), namespace)
    emitted_p = [t.clone().requires_grad_() for t in p]
    emitted = namespace["ratio"](emitted_p[0], y[0], emitted_p[1], y[1], whole_batch)
    torch.testing.assert_close(emitted, want.detach())
    emitted.backward()
    for e, w in zip(emitted_p, want_p):
        torch.testing.assert_close(e.grad, w.grad)
    # Without offsets a loss over the batch is an error, not a per-row loss.
    with pytest.raises(Exception, match="offsets"):
        loss(got_p[0], y[0].float(), got_p[1], y[1].float())
