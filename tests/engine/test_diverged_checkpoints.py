"""When a loss began to diverge, which checkpoints that spoiled, and how
the record of them steers ``--resume``."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from helpers.work_dir_checkpoints import saved_checkpoints
from mmext_pixel.engine import NonFiniteLossError, NonFiniteLossHook
from mmext_pixel.engine.diverged_checkpoints import (RECORD_NAME, LossRange,
                                                     read_record,
                                                     record_diverged,
                                                     split_candidates,
                                                     spoiled_from)


def fed(losses, **kwargs):
    loss_range = LossRange(**kwargs)
    for i, loss in enumerate(losses, 1):
        loss_range.update(i, loss)
    return loss_range


def test_onset_is_the_start_of_the_final_out_of_range_stretch():
    # the lr=1e6 run: normal, then 4e13, 4e17, then NaN
    loss_range = fed([0.25, 3.8e13, 4.5e17, math.nan])
    assert loss_range.onset() == 2
    assert spoiled_from(loss_range.onset(), 4) == 1
    assert loss_range.describe() == (
        'the loss left its range at iteration 2: 3.8e+13, over 2 x the '
        'median 0.25 of the iterations before')


def test_a_climb_is_measured_against_the_level_before_it():
    # doubling every step: each loss is only 2x the last, but the reference
    # stays at the level before the climb
    losses = [1.0, 0.9, 1.1, 1.0, 2.1, 4.2, 8.4, 16.8, math.inf]
    assert fed(losses).onset() == 5


def test_a_recovered_spike_does_not_start_the_stretch():
    losses = [1.0, 1.1, 9.0, 1.0, 1.05, 50.0, math.nan]
    assert fed(losses).onset() == 6
    assert fed([1.0, 1.1, 1.0, math.nan]).onset() == 4  # a sudden NaN


def test_in_range_last_loss_spoils_only_later_saves():
    loss_range = fed([1.0, 1.2, 1.1])
    assert loss_range.onset() is None
    assert spoiled_from(None, 3) == 3  # the refused save of iteration 3


def test_factor_and_window():
    assert fed([1.0, 2.9, math.nan], factor=3).onset() == 3
    assert fed([1.0, 2.9, math.nan], factor=2).onset() == 2
    # only the last 2 in-range losses make the reference
    assert fed([100.0, 1.0, 1.0, 150.0, math.nan], window=2).onset() == 4
    with pytest.raises(ValueError):
        LossRange(factor=1)


def test_record_and_split(tmp_path):
    paths = saved_checkpoints(tmp_path, [1, 2, 3, 4])
    added = record_diverged(
        str(tmp_path), [(3, paths[2]), (4, paths[3]),
                        (5, str(tmp_path / 'gone'))], 'why')
    assert [e['iter'] for e in added] == [3, 4]
    # recording the same files again adds nothing
    assert record_diverged(str(tmp_path), [(3, paths[2])], 'why') == []
    entries = read_record(str(tmp_path))
    assert [e['path'] for e in entries] == [osp.realpath(p) for p in paths[2:]]
    newest_first = paths[::-1]
    sound, spoiled = split_candidates(newest_first, entries)
    assert sound == [paths[1], paths[0]]
    assert [p for p, _ in spoiled] == [paths[3], paths[2]]
    # a healthy checkpoint later written under a recorded name is sound
    torch.save({'meta': {'iter': 4}, 'state_dict': {'w': 1}}, paths[3])
    sound, spoiled = split_candidates(newest_first, entries)
    assert sound == [paths[3], paths[1], paths[0]]


def test_damaged_record_is_named(tmp_path):
    (tmp_path / RECORD_NAME).write_text('{"checkpoints": [{"iter": 1}]}')
    with pytest.raises(
            ValueError, match=f'{tmp_path}/{RECORD_NAME} is '
            'damaged'):
        read_record(str(tmp_path))


class FakeLogger:

    def warning(self, message):
        pass


class FakeRunner:

    def __init__(self, work_dir):
        self.work_dir = str(work_dir)
        self.iter = 0
        self.epoch = 0
        self.cfg = Config({})
        self.logger = FakeLogger()
        self.message_hub = MessageHub.get_instance('diverged_checkpoints')


def train(hook, runner, losses, saved_from, work_dir):
    """Feed ``losses`` (iterations 1..) and save a checkpoint after each
    iteration from ``saved_from`` on, as CheckpointHook and save_checkpoint
    do; return the error that stops the run."""
    for i, loss in enumerate(losses, 1):
        runner.iter = i - 1
        hook.after_train_iter(
            runner, i - 1, outputs=dict(loss=torch.tensor(loss)))
        if i >= saved_from:
            path = osp.join(work_dir, f'iter_{i}.pth')
            runner.message_hub.update_info('last_ckpt', path)
            checkpoint = {'meta': {'iter': i}, 'state_dict': {}}
            hook.before_save_checkpoint(runner, checkpoint)
            torch.save(checkpoint, path)
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(path)


def test_hook_records_the_spoiled_saves_and_names_the_sound_one(tmp_path):
    hook, runner = NonFiniteLossHook(), FakeRunner(tmp_path)
    hook.before_run(runner)
    with pytest.raises(NonFiniteLossError) as info:
        train(hook, runner, [0.5, 0.4, 0.45, 30.0, 4e9, math.nan], 1,
              str(tmp_path))
    message = str(info.value)
    assert message.startswith('non-finite loss at iteration 6: loss=nan')
    # the loss left its range at iteration 4: the weights saved after
    # iteration 3 computed it
    assert 'the loss left its range at iteration 4: 30, over 2 x the ' \
        'median 0.45 of the iterations before' in message
    assert f'iter_3.pth, iter_4.pth, iter_5.pth (in {tmp_path}), are ' \
        f'listed in {tmp_path}/{RECORD_NAME}' in message
    assert message.endswith(f'resume from {tmp_path}/iter_2.pth '
                            '(tools/train.py --resume takes it) with a '
                            'lower learning rate')
    assert [e['iter'] for e in read_record(str(tmp_path))] == [3, 4, 5]


def test_hook_says_when_nothing_sound_remains(tmp_path):
    hook, runner = NonFiniteLossHook(), FakeRunner(tmp_path)
    hook.before_run(runner)
    with pytest.raises(NonFiniteLossError) as info:
        train(hook, runner, [0.25, 3.8e13, math.nan], 1, str(tmp_path))
    assert str(info.value).endswith(
        'no checkpoint from before remains, so tools/train.py --resume '
        'starts from the beginning')
    assert [e['iter'] for e in read_record(str(tmp_path))] == [1, 2]


def test_refused_save_spoils_nothing_earlier(tmp_path):
    """A finite loss whose step made the weights non-finite: its own
    checkpoint is refused and the earlier ones stay sound."""
    hook, runner = NonFiniteLossHook(), FakeRunner(tmp_path)
    hook.before_run(runner)
    train(hook, runner, [0.5, 0.4], 1, str(tmp_path))
    runner.iter = 2
    hook.after_train_iter(runner, 2, outputs=dict(loss=torch.tensor(0.45)))
    with pytest.raises(NonFiniteLossError) as info:
        hook.before_save_checkpoint(runner, {
            'meta': {
                'iter': 3
            },
            'state_dict': {
                'w': torch.tensor([math.inf])
            }
        })
    assert 'the loss was still in range at iteration 3. No checkpoint was ' \
        f'saved since; resume from {tmp_path}/iter_2.pth' in str(info.value)
    assert not osp.exists(tmp_path / RECORD_NAME)
