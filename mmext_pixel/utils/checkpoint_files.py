"""Checkpoint files of a work dir: atomic writes, and which to resume from.

mmengine writes a checkpoint straight under its final name, so a run killed
while saving leaves a truncated file there, and resumes from the file that
``last_checkpoint`` names, whether or not it loads.
"""
import glob
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, List

#: Suffix of a checkpoint being written; renamed away once complete.
PART_SUFFIX = '.part'


@contextmanager
def atomic_file(path: str) -> Iterator[str]:
    """Write a file under a temporary name in its folder, then rename it.

    The body writes the yielded path; once it returns, the file is flushed
    to disk and renamed to ``path`` (``os.replace``, atomic within a
    folder). An interrupted write therefore leaves ``path`` as it was (the
    previous file of that name, or none) and a ``path + '.part'`` file.

    Args:
        path (str): The final file name.

    Yields:
        str: The temporary name to write.
    """
    part = path + PART_SUFFIX
    yield part
    with open(part, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(part, path)


def resume_candidates(work_dir: str) -> List[str]:
    """Checkpoints a run in ``work_dir`` may resume from, newest first.

    The file that ``work_dir/last_checkpoint`` names and every ``*.pth`` in
    ``work_dir`` and in that file's folder (the checkpoint hook's
    ``out_dir``), ordered by modification time (the name breaks ties),
    newest first. Incomplete ``.part`` files are not checkpoints.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        list[str]: Paths of existing files; empty when there are none.
    """
    folders = [work_dir]
    files = []
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
    for path in files:
        if osp.isfile(path):
            unique.setdefault(osp.realpath(path), path)
    return sorted(
        unique.values(),
        key=lambda p: (os.stat(p).st_mtime_ns, osp.basename(p)),
        reverse=True)
