"""Time to convergence: evaluations every N steps carry monotone training seconds, and the run's
time to best / 95% / 99% of the best dev score come from them."""

import torch

import adapters
from pipeline.kinds import get_kind
from pipeline.models import load_model, load_tokenizer
from pipeline.spec import Training
from pipeline.tasks import default_data_dir, get_task, load_split, train_source
from pipeline.train import EpochResult, train
from pipeline.trial import convergence


def test_evaluations_every_n_steps_with_monotone_training_seconds():
    task, kind, tok = get_task("sst2"), get_kind("classification"), load_tokenizer("tiny-bert")
    columns = load_split(train_source(task), default_data_dir(), kind.columns(task))
    data = kind.encode(tok, task, columns, 32, 40, 0)  # 40 rows / batch 8: 5 steps an epoch
    model = load_model("tiny-bert", 2)
    adapters.apply_method(model, "pfeiffer")
    # the lease's running total of waits, read before and after each step: a fake 100 s wait
    # inside the 2nd step (fake: a real probe of another trial would need a second process)
    waits = iter([0.0, 0.0, 0.0, 100.0] + [100.0] * 40)
    training = Training(epochs=2, batch_size=8, eval_every_steps=2, max_seq_len=32)
    history, seconds = train(model, kind, task, data, data, training, 1e-3, 0, tok.pad_token_id,
                             torch.device("cpu"), waited=lambda: next(waits))
    # steps 2, 4 inside epoch 1, its end at 5; 6, 8 inside epoch 2, its end at 10
    assert [(r.epoch, r.step) for r in history] == [(1, 2), (1, 4), (1, 5), (2, 6), (2, 8),
                                                    (2, 10)]
    times = [r.train_seconds for r in history]
    assert all(a < b for a, b in zip(times, times[1:])) and times[-1] == seconds
    assert seconds < 50  # the 100 s the lease reported as waiting is not training time


def result(seconds, score):
    return EpochResult(1, 0, 0.0, {"score": score}, seconds)


def test_convergence_times_by_hand():
    history = [result(10, 0.50), result(20, 0.80), result(30, 0.95), result(40, 0.99),
               result(50, 1.00), result(60, 0.97)]
    # best 1.00 at 50 s; first >= 0.95 at 30 s; first >= 0.99 at 40 s
    assert convergence(history) == {"time_to_best_s": 50, "time_to_95_s": 30, "time_to_99_s": 40}
    # a non-positive best (Matthews at chance) has no meaningful share of it
    assert convergence([result(5, 0.0), result(9, -0.1)]) == {
        "time_to_best_s": 5, "time_to_95_s": None, "time_to_99_s": None}
