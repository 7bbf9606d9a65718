"""Checkpoint files with chosen modification times, for the resume tests."""
import os

import torch


def touch(path, mtime, data=b'x'):
    """Write ``data`` to ``path`` (a pathlib path) with mtime ``mtime`` ns."""
    path.write_bytes(data)
    os.utime(path, ns=(mtime, mtime))
    return str(path)


def saved_checkpoints(folder, iterations):
    """``iter_{i}.pth`` with ``meta.iter`` i and increasing modification
    times (newest = highest iteration); returns their paths."""
    paths = []
    for i in iterations:
        path = folder / f'iter_{i}.pth'
        torch.save({'meta': {'iter': i}, 'state_dict': {}}, path)
        os.utime(path, ns=(i * 10**9, i * 10**9))
        paths.append(str(path))
    return paths
