"""The training loop's LR schedule (pipeline/train.py) gives, at every step, the factors of
transformers' get_linear_schedule_with_warmup, which it replaces: records trained before and
after the change followed the same learning rates."""

import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from pipeline.train import linear_warmup_decay


@pytest.mark.parametrize("warmup,total", [(0, 40), (4, 40), (6, 60), (1, 1), (0, 1), (10, 10)])
def test_same_learning_rate_as_transformers_at_every_step(warmup, total):
    def optimizer():
        return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)

    ours, theirs = optimizer(), optimizer()
    ours_s = linear_warmup_decay(ours, warmup, total)
    theirs_s = get_linear_schedule_with_warmup(theirs, warmup, total)
    for _ in range(total + 2):  # past the end too: the factor stays 0
        assert ours.param_groups[0]["lr"] == theirs.param_groups[0]["lr"]
        ours.step(), theirs.step()
        ours_s.step(), theirs_s.step()
