"""Atomic checkpoint writes and the resume candidates of a work dir."""
import os.path as osp

import pytest

from helpers.work_dir_checkpoints import touch
from mmext_pixel.utils.checkpoint_files import atomic_file, resume_candidates


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
