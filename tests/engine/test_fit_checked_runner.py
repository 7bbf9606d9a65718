"""FitCheckedRunner: which checkpoint a resume takes, the learning rate a
resumed run goes on with, and a distributed run's end."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper

from helpers.work_dir_checkpoints import saved_checkpoints, touch
from mmext_pixel.engine import FitCheckedRunner
from mmext_pixel.engine.diverged_checkpoints import (RECORD_NAME,
                                                     record_diverged)
from mmext_pixel.utils.checkpoint_fit import CheckpointError
from mmext_pixel.utils.run_config import finish_run


class ResumeLog:

    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(message)

    warning = info


class TinyRunner(FitCheckedRunner):
    """The resume part of FitCheckedRunner without a built Runner; its
    ``resume`` notes the path and what was read for it instead of
    loading."""

    def __init__(self, work_dir, load_from=None, logger=None):
        self._work_dir = str(work_dir)
        self._resume, self._load_from, self._has_loaded = (True, load_from,
                                                           False)
        self._logger = logger or MMLogger.get_instance('fit_checked_runner')
        self.resumed = []

    @property
    def work_dir(self):
        return self._work_dir

    @property
    def logger(self):
        return self._logger

    def resume(self, filename, **kwargs):
        self.resumed.append((filename, self._preloaded))


def logged_runner(work_dir, load_from=None):
    return TinyRunner(work_dir, load_from, ResumeLog())


def save_training_checkpoint(path, iteration, mtime):
    model = nn.Linear(2, 2)
    torch.save(
        dict(
            meta=dict(iter=iteration, epoch=0),
            state_dict=model.state_dict(),
            optimizer=OptimWrapper(
                torch.optim.SGD(model.parameters(), lr=0.1)).state_dict()),
        path)
    os.utime(path, ns=(mtime, mtime))


def test_resume_skips_newer_checkpoints_that_do_not_load(tmp_path):
    save_training_checkpoint(tmp_path / 'iter_2.pth', 2, 10**18)
    save_training_checkpoint(tmp_path / 'iter_4.pth', 4, 2 * 10**18)
    data = (tmp_path / 'iter_4.pth').read_bytes()
    touch(tmp_path / 'iter_4.pth', 2 * 10**18, data[:len(data) // 2])
    touch(tmp_path / 'iter_6.pth', 3 * 10**18, b'')
    runner = TinyRunner(tmp_path)
    runner.load_or_resume()
    assert runner._has_loaded
    (path, (preloaded_path, checkpoint)), = runner.resumed
    assert path == preloaded_path == str(tmp_path / 'iter_2.pth')
    assert checkpoint['meta']['iter'] == 2
    # never deleted
    assert (tmp_path / 'iter_4.pth').read_bytes() == data[:len(data) // 2]
    assert (tmp_path / 'iter_6.pth').exists()


def test_resume_with_no_loadable_checkpoint_is_an_error(tmp_path):
    touch(tmp_path / 'iter_2.pth', 10**18, b'PK\x03\x04cut')
    with pytest.raises(CheckpointError, match=r'iter_2\.pth'):
        TinyRunner(tmp_path).load_or_resume()


def test_resume_in_an_empty_work_dir_starts_from_the_beginning(tmp_path):
    runner = TinyRunner(tmp_path)
    runner.load_or_resume()
    assert not runner.resumed and not runner._has_loaded


def test_resume_passes_over_checkpoints_saved_while_diverging(tmp_path):
    paths = saved_checkpoints(tmp_path, [2, 4, 6])
    record_diverged(
        str(tmp_path), [(4, paths[1]), (6, paths[2])],
        'the loss left its range at iteration 5')
    runner = logged_runner(tmp_path)
    runner.load_or_resume()
    assert [path for path, _ in runner.resumed] == [paths[0]]
    assert runner.logger.lines[0] == (
        f'resume: passing over {paths[2]} (iteration 6), {paths[1]} '
        '(iteration 4): saved while the loss diverged (the loss left its '
        f'range at iteration 5), as listed in {tmp_path}/{RECORD_NAME}')
    assert runner.logger.lines[1].endswith(
        f'is {paths[0]}; resuming from it instead of {paths[2]}, {paths[1]}')


def test_resume_starts_over_when_every_checkpoint_diverged(tmp_path):
    paths = saved_checkpoints(tmp_path, [1, 2])
    record_diverged(str(tmp_path), [(1, paths[0]), (2, paths[1])], 'why')
    runner = logged_runner(tmp_path)
    runner.load_or_resume()
    assert runner.resumed == []
    assert runner.logger.lines[-1] == (
        f'resume: every checkpoint in {tmp_path} was saved while the loss '
        'diverged; training starts from the beginning')


def test_resume_by_name_from_a_diverged_checkpoint_is_refused(tmp_path):
    paths = saved_checkpoints(tmp_path, [2, 4])
    record_diverged(str(tmp_path), [(4, paths[1])], 'why')
    with pytest.raises(CheckpointError) as info:
        logged_runner(tmp_path, load_from=paths[1]).load_or_resume()
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


def toy_runner(work_dir, lr, max_iters, resume=False, cfg=None):
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
        experiment_name=f'toy_{lr}_{max_iters}_{resume}',
        cfg=cfg)


def test_config_text_is_formatted_once_a_run(tmp_path, monkeypatch):
    """The Runner's log, dumped config, message hub and checkpoints take
    the config's text: yapf formats it once, to mmengine's text."""
    import mmengine.config.config as mmengine_config
    cfg = Config(dict(toy=dict(lr=1.0, widths=[4, 8]), crop=(2, 2)))
    calls = []
    format_code = mmengine_config.FormatCode

    def counted(*args, **kwargs):
        calls.append(args)
        return format_code(*args, **kwargs)

    monkeypatch.setattr(mmengine_config, 'FormatCode', counted)
    toy_runner(tmp_path, 1.0, 4, cfg=cfg).train()
    assert len(calls) == 1
    monkeypatch.undo()
    assert type(cfg) is Config
    for name in ('iter_2.pth', 'iter_4.pth'):
        meta = torch.load(tmp_path / name, weights_only=False)['meta']
        assert meta['cfg'] == cfg.pretty_text


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


def gloo_threads():
    names = []
    for task in os.listdir('/proc/self/task'):
        try:
            with open(f'/proc/self/task/{task}/comm') as f:
                names.append(f.read().strip())
        except OSError:  # a thread that ended meanwhile
            pass
    return [name for name in names if 'gloo' in name]


def test_finish_run_ends_the_gloo_threads_of_a_ddp_run(tmp_path):
    """Gloo's threads must not outlive the run into interpreter teardown,
    where a rank aborts ("terminate called without an active exception")
    if one of them still releases a tensor: the DDP wrapper a released
    Runner keeps in its cycles holds the group."""
    assert not gloo_threads()
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        model = nn.parallel.DistributedDataParallel(nn.Linear(3, 1))
        model(torch.ones(2, 3)).sum().backward()
        assert gloo_threads()
        # as a Runner: released, but only the collector frees the cycle
        cycle = [model]
        cycle.append(cycle)
        del model, cycle
        finish_run()
        assert not dist.is_initialized()
        assert not gloo_threads()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
