"""NonFiniteLossHook: the iteration and terms named, no non-finite saves."""
import math
import tempfile

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MessageHub

from mmext_pixel.engine import NonFiniteLossError, NonFiniteLossHook


class FakeLogger:

    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


class FakeRunner:

    def __init__(self, iteration=0, **cfg):
        self.iter = iteration
        self.epoch = 0
        self.cfg = Config(cfg)
        self.logger = FakeLogger()
        self.work_dir = tempfile.mkdtemp()
        self.message_hub = MessageHub.get_instance('non_finite_loss_hook')


def started(**cfg):
    hook, runner = NonFiniteLossHook(), FakeRunner(**cfg)
    hook.before_run(runner)
    return hook, runner


def test_finite_losses_pass():
    hook, runner = started()
    hook.after_train_iter(
        runner, 0, outputs=dict(loss=torch.tensor(1.5), acc=torch.tensor(3.)))


def test_first_non_finite_term_names_iteration_and_every_term():
    hook, runner = started()
    runner.iter = 6  # the 7th iteration, as the log counts
    outputs = {
        'loss': torch.tensor(float('nan')),
        'decode.loss_ce': torch.tensor(float('inf')),
        'aux.loss_ce': torch.tensor(0.25),
        'decode.acc_seg': torch.tensor(float('nan')),  # not a loss term
    }
    with pytest.raises(NonFiniteLossError) as info:
        hook.after_train_iter(runner, 6, outputs=outputs)
    message = str(info.value)
    assert 'iteration 7:' in message
    assert 'loss=nan, decode.loss_ce=inf, aux.loss_ce=0.25' in message
    assert '(non-finite: loss, decode.loss_ce)' in message
    assert 'acc_seg' not in message


def test_switch_turns_the_check_off():
    hook, runner = started(check_finite_loss=False)
    hook.after_train_iter(
        runner, 0, outputs=dict(loss=torch.tensor(float('nan'))))
    hook.before_save_checkpoint(
        runner, dict(state_dict=dict(w=torch.tensor([math.inf]))))
    assert 'check_finite_loss=False' in runner.logger.warnings[0]


@pytest.mark.parametrize('part', ['state_dict', 'optimizer'])
def test_no_checkpoint_with_non_finite_tensors(part):
    hook, runner = started()
    runner.iter = 2
    hook.after_train_iter(runner, 2, outputs=dict(loss=torch.tensor(2.6e13)))
    tensors = dict(a=torch.ones(3), b=torch.tensor([1., math.inf, math.nan]))
    checkpoint = dict(
        state_dict=dict(w=torch.ones(2)),
        optimizer=dict(state={0: dict(exp_avg=torch.zeros(2))}))
    hook.before_save_checkpoint(runner, checkpoint)  # finite: saved
    checkpoint[part] = dict(state={0: tensors}) if part == 'optimizer' \
        else tensors
    with pytest.raises(NonFiniteLossError) as info:
        hook.before_save_checkpoint(runner, checkpoint)
    message = str(info.value)
    assert f"checkpoint's {part} holds 2 non-finite values of 6" in message
    assert 'after the step of iteration 3 (losses loss=2.6e+13)' in message


def test_a_step_skipped_by_the_loss_scaler_is_no_error():
    """Under AMP an overflowing gradient makes the scaler skip the step;
    the loss stays finite and so do the weights to be saved."""
    model = nn.Linear(2, 1)
    before = model.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler('cpu', init_scale=2.**127)
    loss = model(torch.full((1, 2), 1e10)).sum()
    scaler.scale(loss * 1e30).backward()  # the gradients overflow
    scaler.step(optimizer)
    scaler.update()
    assert torch.equal(model.weight, before)  # skipped
    assert scaler.get_scale() < 2.**127
    hook, runner = started()
    hook.after_train_iter(runner, 0, outputs=dict(loss=loss.detach()))
    hook.before_save_checkpoint(runner, dict(state_dict=model.state_dict()))
