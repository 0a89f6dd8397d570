"""Ranking examples against their peers' own code: examples/lambdaloss.loss
(NDCG-Loss2++) against allRank's `lambdaLoss`, and the variant truncated at
10 (benchmarks/ltr/variants/lambdaloss_at10.loss) against `lambdaLoss(k=10)`,
values and gradients, query by query. allRank comes from PyPI
(scripts/setup.sh installs it into build/venv, without its dependencies); a
missing allRank fails this test."""
import importlib.util
import pathlib
import sys
import types

import pytest
import torch

import losscc

ROOT = pathlib.Path(__file__).resolve().parents[2]


def allrank_lambda_loss():
    """allRank's lambdaLoss function, from the installed package's file. Its module imports two constants
    from allRank modules whose own imports need torchvision and scikit-learn, so those two modules are
    stand-ins holding just the constants (allRank's values) while the file loads."""
    spec = importlib.util.find_spec("allrank")
    assert spec is not None, "allRank is not installed: scripts/setup.sh installs it into build/venv"
    path = pathlib.Path(spec.origin).parent / "models" / "losses" / "lambdaLoss.py"
    stand_ins = {"allrank": {}, "allrank.data": {}, "allrank.data.dataset_loading": {"PADDED_Y_VALUE": -1},
                 "allrank.models": {}, "allrank.models.losses": {"DEFAULT_EPS": 1e-10}}
    saved = {name: sys.modules.get(name) for name in stand_ins}
    try:
        for name, attributes in stand_ins.items():
            module = types.ModuleType(name)
            module.__dict__.update(attributes)
            sys.modules[name] = module
        file_spec = importlib.util.spec_from_file_location("allrank_lambda_loss", path)
        module = importlib.util.module_from_spec(file_spec)
        file_spec.loader.exec_module(module)
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return module.lambdaLoss


@pytest.mark.parametrize("path, k", [("examples/lambdaloss.loss", None),
                                     ("benchmarks/ltr/variants/lambdaloss_at10.loss", 10)])
def test_lambdaloss_equals_allranks_ndcg_loss2pp(path, k):
    lambda_loss = allrank_lambda_loss()
    ours = losscc.compile(ROOT / path)
    gen = torch.Generator().manual_seed(11)
    checked = 0
    for size in (2, 3, 5, 8, 13, 30, 64):
        for _ in range(4):
            score = torch.randn(size, generator=gen)  # distinct: the two sorts may break ties differently
            label = torch.randint(0, 5, (size,), generator=gen).float()
            if label.max() == label.min():
                label[0] = label.max() + 1
            mine = score.clone().requires_grad_()
            value = ours(mine, label, offsets=torch.tensor([0, size]))
            value.backward()
            theirs = score.clone().unsqueeze(0).requires_grad_()
            reference = lambda_loss(theirs, label.unsqueeze(0), weighing_scheme="ndcgLoss2PP_scheme", k=k, mu=10.,
                                    reduction="sum", reduction_log="binary")
            reference.backward()
            assert reference.item() > 0  # the query has pairs
            torch.testing.assert_close(value, reference, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(mine.grad, theirs.grad.squeeze(0), rtol=1e-4, atol=1e-6)
            checked += 1
    assert checked == 28
