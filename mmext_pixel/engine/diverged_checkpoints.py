"""Checkpoints saved while a run diverged (the loss grows, finite, for a few
iterations first; resumed, they fail again), listed in
``WORK_DIR/diverged_checkpoints.json`` for ``--resume`` to pass over."""
import json
import math
import os
import os.path as osp
import statistics
from collections import deque
from typing import Iterable, List, Optional, Sequence, Tuple

from mmext_pixel.utils.checkpoint_files import atomic_file

#: The file in the work dir listing the checkpoints saved while diverging.
RECORD_NAME = 'diverged_checkpoints.json'


class LossRange:
    """The running range of a run's loss: out of range is non-finite or
    over ``factor`` times the median of the last ``window`` in-range ones.

    Args:
        factor (float): Out of range above this x the median. Defaults to 2.0.
        window (int): In-range losses the median is taken of. Defaults to 50.
    """

    def __init__(self, factor: float = 2.0, window: int = 50) -> None:
        if factor <= 1:
            raise ValueError(f'factor must be > 1, got {factor}')
        self.factor = factor
        self.reference: deque = deque(maxlen=window)
        # (iteration, loss, median it was compared with) of the first loss
        # of the out-of-range stretch that reaches the latest iteration
        self.stretch_start: Optional[Tuple[int, float, float]] = None
        self.last_iter: Optional[int] = None

    def update(self, iteration: int, loss: float) -> bool:
        """Add the total loss of ``iteration`` (1-based); returns whether it
        is in range."""
        self.last_iter = iteration
        median = statistics.median(self.reference) if self.reference \
            else None
        out = not math.isfinite(loss) or (median is not None
                                          and loss > self.factor * median)
        if not out:
            self.reference.append(loss)
            self.stretch_start = None
        elif self.stretch_start is None:
            self.stretch_start = (iteration, loss, median)
        return not out

    def onset(self) -> Optional[int]:
        """The first iteration of the out-of-range stretch that the latest
        iteration ends, or None when the latest loss is in range."""
        return None if self.stretch_start is None else self.stretch_start[0]

    def describe(self) -> str:
        """How the loss left its range, for messages."""
        if self.stretch_start is None:
            return (f'the loss was still in range at iteration '
                    f'{self.last_iter}')
        iteration, loss, median = self.stretch_start
        if median is None:
            return f'the loss was {loss:.6g} at iteration {iteration}'
        return (f'the loss left its range at iteration {iteration}: '
                f'{loss:.6g}, over {self.factor:g} x the median '
                f'{median:.6g} of the iterations before')


def spoiled_from(onset: Optional[int], last_iter: int) -> int:
    """The first checkpoint iteration (``meta.iter``) the divergence spoiled.

    Args:
        onset (int, optional): :meth:`LossRange.onset`; None when the last
            loss was in range (a step made the weights non-finite).
        last_iter (int): The iteration the run stopped at.
    """
    return last_iter if onset is None else onset - 1


def _identity(path: str) -> Tuple[str, int, int]:
    stat = os.stat(path)
    return osp.realpath(path), stat.st_size, stat.st_mtime_ns


def _key(entry: dict) -> Tuple[str, int, int]:
    return entry['path'], entry['size'], entry['mtime_ns']


def read_record(work_dir: str) -> List[dict]:
    """The entries (``path``, ``iter``, ``size``, ``mtime_ns``, ``why``) of
    the record; empty without one; ValueError when it is damaged.

    Args:
        work_dir (str): The run's work dir.
    """
    path = osp.join(work_dir, RECORD_NAME)
    if not osp.isfile(path):
        return []
    try:
        with open(path) as f:
            entries = json.load(f)['checkpoints']
        for entry in entries:
            _key(entry)  # every entry names its file
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f'{path} is damaged ({type(e).__name__}: {e}); it lists the '
            'checkpoints saved while a run diverged. Delete it to resume '
            'from any checkpoint') from e
    return entries


def record_diverged(work_dir: str, checkpoints: Iterable[Tuple[int, str]],
                    why: str) -> List[dict]:
    """Add checkpoint files to the work dir's record; returns those added.

    Args:
        work_dir (str): The run's work dir.
        checkpoints (Iterable[tuple[int, str]]): ``(meta iteration, path)``
            of each spoiled checkpoint; files that are gone are left out.
        why (str): How the run diverged, kept with each entry.
    """
    entries = read_record(work_dir)
    known = set(map(_key, entries))
    added = [
        dict(
            zip(('path', 'size', 'mtime_ns'), _identity(path)),
            iter=int(iteration),
            why=why) for iteration, path in checkpoints
        if osp.isfile(path) and _identity(path) not in known
    ]
    if added:
        os.makedirs(work_dir, exist_ok=True)
        with atomic_file(osp.join(work_dir, RECORD_NAME)) as part:
            with open(part, 'w') as f:
                json.dump(dict(checkpoints=entries + added), f, indent=1)
    return added


def split_candidates(
        candidates: Sequence[str],
        entries: Sequence[dict]) -> Tuple[List[str], List[Tuple[str, dict]]]:
    """Split checkpoint paths into those not recorded (a file rewritten
    since is not), in order, and each recorded one with its entry.

    Args:
        candidates (Sequence[str]): Checkpoint paths, newest first.
        entries (Sequence[dict]): :func:`read_record`'s entries.
    """
    by_key = {_key(e): e for e in reversed(entries)}  # the first one wins
    sound, spoiled = [], []
    for path in candidates:
        entry = by_key.get(_identity(path)) if osp.isfile(path) else None
        if entry is None:
            sound.append(path)
        else:
            spoiled.append((path, entry))
    return sound, spoiled
