"""Checkpoint files of a work dir: atomic writes (mmengine writes under the
final name, so a run killed while saving leaves a truncated file there), and
which to resume from (mmengine takes ``last_checkpoint``'s, loading or not).
"""
import glob
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, List


@contextmanager
def atomic_file(path: str) -> Iterator[str]:
    """Yield ``path + '.part'`` to write, then flush and rename it (atomic).

    Args:
        path (str): The final file name.
    """
    part = path + '.part'
    yield part
    with open(part, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(part, path)


def resume_candidates(work_dir: str) -> List[str]:
    """Checkpoints a run may resume from, newest first (the name breaks
    ties): the file ``work_dir/last_checkpoint`` names and every ``*.pth``
    in ``work_dir`` and in that file's folder (the hook's ``out_dir``).

    Args:
        work_dir (str): The run's work dir.
    """
    folders, files = [work_dir], []
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            named = f.read().strip()
        if named and '://' not in named:
            files.append(named)
            folders.append(osp.dirname(named) or '.')
    for folder in folders:
        files += glob.glob(osp.join(glob.escape(folder), '*.pth'))
    unique = {}
    for path in filter(osp.isfile, files):
        unique.setdefault(osp.realpath(path), path)
    return sorted(
        unique.values(),
        key=lambda p: (os.stat(p).st_mtime_ns, osp.basename(p)),
        reverse=True)
