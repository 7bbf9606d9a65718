"""Reading checkpoint files and checking their fit (checkpoint_fit), and
which checkpoint a resume takes."""
import os

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmseg.models import SegTTAModel

from mmext_pixel.engine.diverged_checkpoints import (RECORD_NAME,
                                                     record_diverged)
from mmext_pixel.utils.checkpoint_fit import (CheckpointError, CheckpointFit,
                                              FitCheckedRunner,
                                              check_checkpoint_file,
                                              checkpoint_fit, read_checkpoint)


class TinyNet(nn.Sequential):

    def test_step(self, data):  # what a TTA wrapper asks of its module
        return self(data)


def tiny_net(out_channels=3):
    return TinyNet(
        nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, out_channels, 1))


def test_empty_file_is_named(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    for check in (check_checkpoint_file, read_checkpoint):
        with pytest.raises(CheckpointError) as e:
            check(str(path))
        assert str(e.value) == f'checkpoint {path}: empty file (0 bytes)'


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match='nope.pth: no such file'):
        read_checkpoint(str(tmp_path / 'nope.pth'))


@pytest.mark.parametrize('zip_format', [True, False])
@pytest.mark.parametrize('keep', [0.5, 0.02])
def test_truncated_file_is_named(tmp_path, zip_format, keep):
    """A real checkpoint, in torch's zip or legacy format, cut short."""
    path = tmp_path / 'cut.pth'
    torch.save({
        'state_dict': tiny_net().state_dict(),
        'meta': {}
    },
               path,
               _use_new_zipfile_serialization=zip_format)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(str(path))
    assert str(e.value).startswith(
        f'checkpoint {path}: truncated or not a torch checkpoint')


def test_other_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('model weights are elsewhere\n')
    with pytest.raises(CheckpointError, match='neither a zip archive nor'):
        read_checkpoint(str(path))


def test_intact_checkpoint_reads(tmp_path):
    path = tmp_path / 'ok.pth'
    weights = tiny_net().state_dict()
    torch.save({'state_dict': weights}, path)
    loaded = read_checkpoint(str(path))['state_dict']
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[k], weights[k]) for k in weights)


def test_fit_of_a_matching_checkpoint_with_module_prefix():
    net = tiny_net()
    weights = {f'module.{k}': v for k, v in net.state_dict().items()}
    # BN's step counter is not needed (mmengine's loader ignores it too)
    del weights['module.1.num_batches_tracked']
    fit = checkpoint_fit(net, {'state_dict': weights})
    assert fit.fits and fit.describe() == ''
    assert fit.num_model_keys == len(net.state_dict())


def test_fit_lists_mismatched_missing_and_unexpected_keys():
    weights = tiny_net(out_channels=5).state_dict()
    del weights['0.bias']
    weights['head.weight'] = torch.zeros(1)
    # a test-time-augmentation wrapper is looked through, as mmengine's
    # loader does
    model = SegTTAModel(module=tiny_net())
    fit = checkpoint_fit(model, weights)  # a bare state dict
    assert not fit.fits
    assert fit.mismatched == [('2.weight', (5, 4, 1, 1), (3, 4, 1, 1)),
                              ('2.bias', (5, ), (3, ))]
    assert fit.missing == ['0.bias'] and fit.unexpected == ['head.weight']
    assert fit.describe().splitlines() == [
        '2 with another shape: 2.weight (checkpoint (5, 4, 1, 1), model '
        '(3, 4, 1, 1)), 2.bias (checkpoint (5,), model (3,))',
        '1 missing from the checkpoint: 0.bias',
        '1 unexpected (not in the model): head.weight',
    ]


def test_describe_lists_the_first_keys_only():
    fit = CheckpointFit(missing=[f'k{i}' for i in range(8)])
    assert fit.describe(max_keys=3) == (
        '8 missing from the checkpoint: k0, k1, k2, ... (5 more)')


class ResumeLog:

    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(message)

    warning = info


def resuming_runner(work_dir, load_from=None):
    """A FitCheckedRunner with only what ``load_or_resume`` uses; its
    ``resume`` notes the path instead of loading."""
    runner = FitCheckedRunner.__new__(FitCheckedRunner)
    runner._has_loaded, runner._resume = False, True
    runner._load_from = load_from
    runner._work_dir = str(work_dir)
    runner.logger = ResumeLog()
    runner.resumed = []
    runner.resume = runner.resumed.append
    return runner


def saved_checkpoints(work_dir, iterations):
    paths = []
    for i in iterations:
        path = work_dir / f'iter_{i}.pth'
        torch.save({'meta': {'iter': i}, 'state_dict': {}}, path)
        os.utime(path, ns=(i * 10**9, i * 10**9))
        paths.append(str(path))
    return paths


def test_resume_passes_over_checkpoints_saved_while_diverging(tmp_path):
    paths = saved_checkpoints(tmp_path, [2, 4, 6])
    record_diverged(
        str(tmp_path), [(4, paths[1]), (6, paths[2])],
        'the loss left its range at iteration 5')
    runner = resuming_runner(tmp_path)
    runner.load_or_resume()
    assert runner.resumed == [paths[0]]
    assert runner.logger.lines[0] == (
        f'resume: passing over {paths[2]} (iteration 6), {paths[1]} '
        '(iteration 4): saved while the loss diverged (the loss left its '
        f'range at iteration 5), as listed in {tmp_path}/{RECORD_NAME}')
    assert runner.logger.lines[1].endswith(
        f'is {paths[0]}; resuming from it instead of {paths[2]}, {paths[1]}')


def test_resume_starts_over_when_every_checkpoint_diverged(tmp_path):
    paths = saved_checkpoints(tmp_path, [1, 2])
    record_diverged(str(tmp_path), [(1, paths[0]), (2, paths[1])], 'why')
    runner = resuming_runner(tmp_path)
    runner.load_or_resume()
    assert runner.resumed == []
    assert runner.logger.lines[-1] == (
        f'resume: every checkpoint in {tmp_path} was saved while the loss '
        'diverged; training starts from the beginning')


def test_resume_by_name_from_a_diverged_checkpoint_is_refused(tmp_path):
    paths = saved_checkpoints(tmp_path, [2, 4])
    record_diverged(str(tmp_path), [(4, paths[1])], 'why')
    with pytest.raises(CheckpointError) as info:
        resuming_runner(tmp_path, load_from=paths[1]).load_or_resume()
    assert str(info.value).startswith(
        f'--resume {paths[1]}: this checkpoint was saved while the loss '
        f'diverged (why; listed in {tmp_path}/{RECORD_NAME})')


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='loss'):
        out = self.linear(inputs)
        return dict(loss=((out - labels)**2).mean())


def toy_runner(work_dir, lr, max_iters, resume=False):
    data = [
        dict(inputs=torch.ones(2) * i, labels=torch.ones(1)) for i in range(4)
    ]
    return FitCheckedRunner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        param_scheduler=dict(
            type='PolyLR',
            power=1.0,
            eta_min=0.,
            begin=0,
            end=10,
            by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=2)),
        resume=resume,
        default_scope='mmengine',
        experiment_name=f'toy_{lr}_{max_iters}_{resume}')


def test_resume_takes_the_configs_learning_rate(tmp_path):
    toy_runner(tmp_path, 1.0, 2).train()
    runner = toy_runner(tmp_path, 0.01, 3, resume=True)
    runner.train()
    group = runner.optim_wrapper.optimizer.param_groups[0]
    # the schedule's position is kept: as a run at 0.01 from the start,
    # not 100 times that as saved
    fresh = toy_runner(tmp_path / 'fresh', 0.01, 3)
    fresh.train()
    expected = fresh.optim_wrapper.optimizer.param_groups[0]['lr']
    assert expected < 0.01
    assert group['lr'] == pytest.approx(expected, rel=1e-9)
    assert group['initial_lr'] == 0.01
    assert runner.param_schedulers[0].base_values == [0.01]
