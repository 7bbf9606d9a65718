"""Atomic checkpoint writes and the resume candidates of a work dir."""
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper

from mmext_pixel.utils.checkpoint_files import atomic_file, resume_candidates
from mmext_pixel.utils.checkpoint_fit import CheckpointError, FitCheckedRunner


def test_atomic_file_renames_only_a_complete_write(tmp_path):
    path = str(tmp_path / 'iter_2.pth')
    with atomic_file(path) as part:
        assert part == path + '.part'
        with open(part, 'wb') as f:
            f.write(b'complete')
        assert not osp.exists(path)  # not under its name while written
    with open(path, 'rb') as f:
        assert f.read() == b'complete'
    assert not osp.exists(path + '.part')

    with pytest.raises(KeyboardInterrupt):
        with atomic_file(path) as part:
            with open(part, 'wb') as f:
                f.write(b'half')
            raise KeyboardInterrupt  # a run stopped while saving
    with open(path, 'rb') as f:
        assert f.read() == b'complete'  # the old file stays


def touch(path, mtime, data=b'x'):
    path.write_bytes(data)
    os.utime(path, ns=(mtime, mtime))
    return str(path)


def test_resume_candidates_newest_first(tmp_path):
    work = tmp_path / 'work'
    out = tmp_path / 'out'  # the checkpoint hook's out_dir
    work.mkdir()
    out.mkdir()
    old = touch(work / 'iter_2.pth', 10**18)
    new = touch(work / 'iter_4.pth', 3 * 10**18)
    elsewhere = touch(out / 'iter_6.pth', 2 * 10**18)
    touch(work / 'iter_8.pth.part', 4 * 10**18)  # an interrupted save
    touch(work / 'notes.txt', 5 * 10**18)
    assert resume_candidates(str(work)) == [new, old]
    (work / 'last_checkpoint').write_text(elsewhere)
    assert resume_candidates(str(work)) == [new, elsewhere, old]
    (work / 'last_checkpoint').write_text('')  # cut while written
    assert resume_candidates(str(work)) == [new, old]


class TinyRunner(FitCheckedRunner):
    """The resume part of FitCheckedRunner without a built Runner."""

    def __init__(self, work_dir):
        self._work_dir = work_dir
        self._resume, self._load_from, self._has_loaded = True, None, False
        self._logger = MMLogger.get_instance('checkpoint_files_test')
        self.resumed = []

    @property
    def work_dir(self):
        return self._work_dir

    @property
    def logger(self):
        return self._logger

    def resume(self, filename, **kwargs):
        self.resumed.append((filename, self._preloaded))


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
    runner = TinyRunner(str(tmp_path))
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
        TinyRunner(str(tmp_path)).load_or_resume()


def test_resume_in_an_empty_work_dir_starts_from_the_beginning(tmp_path):
    runner = TinyRunner(str(tmp_path))
    runner.load_or_resume()
    assert not runner.resumed and not runner._has_loaded
