"""A seg config's label maps checked before training: files missing or not
decoding, sizes other than their image's, values (as mmseg loads them) not a
class or the ignore index; cached in ``WORK_DIR/label_check_cache.json``."""
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import mmengine
import numpy as np
from mmengine.config import Config
from mmengine.utils import track_iter_progress
from PIL import Image

from mmext_pixel.utils.run_config import build_split_dataset

CACHE_NAME = 'label_check_cache.json'
_CACHE_VERSION = 2
MAX_LISTED = 20  # problems listed in an error; the rest are counted


class DatasetCheckError(ValueError):
    """Label maps that training or validation would fail on."""


@dataclass
class Sample:
    """A labelled sample: its files and how its values are loaded."""

    img_path: str
    seg_map_path: str
    reduce_zero_label: bool = False
    label_map: Optional[Dict[int, int]] = None


@dataclass
class SplitReport:
    """The result of scanning one split."""

    split: str
    classes: Sequence[str] = ()
    ignore_index: int = 255
    num_maps: int = 0
    num_unlabelled: int = 0
    num_cached: int = 0
    seconds: float = 0.0
    problems: List[str] = field(default_factory=list)
    class_pixels: Optional[np.ndarray] = None
    class_images: Optional[np.ndarray] = None
    ignored_pixels: int = 0
    same_as: Optional[str] = None
    not_built: Optional[str] = None

    def summary(self) -> str:
        if self.same_as:
            return f'{self.split}: the {self.same_as} dataset, checked above'
        if self.not_built:
            return (f'{self.split}: not checked, its dataset does not build '
                    f'({self.not_built})')
        if not self.num_maps:
            return (f'{self.split}: no label maps ({self.num_unlabelled} '
                    'samples without labels)')
        line = (f'{self.split}: {self.num_maps} label maps '
                f'({self.num_cached} unchanged since the last check) in '
                f'{self.seconds:.1f} s, ')
        count = len(self.problems)
        line += (f'{count} problem' + 's' *
                 (count != 1) if count else 'all fit their images and classes')
        if self.num_unlabelled:
            line += f'; {self.num_unlabelled} samples without labels'
        return line


def read_label_facts(seg_map_path: str, img_path: str) -> dict:
    """``values`` (``[raw value, pixel count]``), ``shape``, its image's
    ``image_shape`` and ``error`` (why not read, or None) of a label map."""
    facts = dict(values=[], shape=None, image_shape=None, error=None)
    try:
        with Image.open(img_path) as image:
            facts['image_shape'] = list(image.size[::-1])
    except FileNotFoundError:
        return dict(facts, error=f'its image {img_path} does not exist')
    except Exception as e:
        return dict(
            facts,
            error=f'its image {img_path} does not read '
            f'({type(e).__name__}: {e})')
    if not osp.isfile(seg_map_path):
        return dict(facts, error='does not exist')
    label = cv2.imread(seg_map_path, cv2.IMREAD_UNCHANGED)
    if label is None:
        return dict(
            facts, error='does not decode (truncated, empty or not an image)')
    label = label[..., 0] if label.ndim == 3 and label.shape[2] == 1 else label
    if label.ndim != 2:
        return dict(
            facts,
            error=f'has {label.shape[2]} channels; a label map has one, the '
            'class index of each pixel')
    facts['shape'] = list(label.shape)
    if label.dtype in (np.uint8, np.uint16):  # bincount: no sort
        counts = np.bincount(label.ravel())
        values = np.flatnonzero(counts)
        counts = counts[values]
    else:
        values, counts = np.unique(label, return_counts=True)
    facts['values'] = [[int(v) if float(v).is_integer() else float(v),
                        int(c)] for v, c in zip(values, counts)]
    return facts


def loaded_value(raw, sample: Sample) -> Optional[int]:
    """A file's value as mmseg's ``LoadAnnotations`` loads it (None: not
    uint8)."""
    if not isinstance(raw, int) or not 0 <= raw <= 255:
        return None
    value = raw
    if sample.reduce_zero_label:
        value = 255 if value in (0, 255) else value - 1
    if sample.label_map and value in sample.label_map:
        value = sample.label_map[value]
    return value


def _key(sample: Sample) -> list:
    """The image's path, both files' sizes and modification times."""
    key = [osp.abspath(sample.img_path)]
    for path in (sample.seg_map_path, sample.img_path):
        try:
            stat = os.stat(path)
            key += [stat.st_size, stat.st_mtime_ns]
        except OSError:
            key += [-1, -1]
    return key


class LabelCache(dict):
    """Facts read of each label file by absolute path, in the JSON file
    ``path`` (None: not kept)."""

    def __init__(self, path: Optional[str]) -> None:
        super().__init__()
        self.path = path
        try:
            data = mmengine.load(path, file_format='json')
            if data['version'] == _CACHE_VERSION:
                self.update(data['entries'])
        except Exception:
            pass  # none yet, or rebuilt from the files themselves

    def facts(self, sample: Sample) -> Optional[dict]:
        entry = self.get(osp.abspath(sample.seg_map_path))
        if isinstance(entry, dict) and entry.get('key') == _key(sample):
            return entry['facts']
        return None

    def save(self) -> None:
        if self.path:  # atomic: the ranks of a distributed run write it too
            part = f'{self.path}.{os.getpid()}.part'
            mmengine.dump(
                dict(version=_CACHE_VERSION, entries=self),
                part,
                file_format='json')
            os.replace(part, self.path)


def _judge(split: str, sample: Sample, facts: dict,
           report: SplitReport) -> None:
    where = f'{split} label {sample.seg_map_path}'
    if facts['error']:
        report.problems.append(f'{where} {facts["error"]}')
        return
    if facts['shape'] != facts['image_shape']:
        (h, w), (ih, iw) = facts['shape'], facts['image_shape']
        report.problems.append(
            f'{where} is {w}x{h} (w x h) but its image {sample.img_path} is '
            f'{iw}x{ih}')
    bad = []
    for raw, count in facts['values']:
        value = loaded_value(raw, sample)
        if value == report.ignore_index:
            report.ignored_pixels += count
        elif value is not None and 0 <= value < len(report.classes):
            report.class_pixels[value] += count
            report.class_images[value] += 1
        else:
            bad.append(raw)
    if bad:
        how = (' (reduce_zero_label: file value v is class v-1, 0 is '
               'ignored)' if sample.reduce_zero_label else '')
        how += " (after the dataset's label_map)" if sample.label_map else ''
        report.problems.append(
            f'{where} holds {", ".join(str(v) for v in sorted(bad))}; '
            f'classes are 0..{len(report.classes) - 1} and ignore '
            f'{report.ignore_index}{how}')


def scan_label_maps(report: SplitReport,
                    samples: Sequence[Sample],
                    cache: Optional[LabelCache] = None,
                    nproc: Optional[int] = None,
                    progress: bool = True) -> SplitReport:
    """Read and judge the label maps of one split.

    Args:
        report (SplitReport): The split's name, classes and ignore index;
            filled in and returned.
        samples (Sequence[Sample]): Its labelled samples.
        cache (LabelCache, optional): Facts read before, added to (not
            saved). Defaults to None.
        nproc (int, optional): Reading threads. Defaults to None (CPUs).
        progress (bool): Show a progress bar. Defaults to True.
    """
    start = time.perf_counter()
    report.num_maps = len(samples)
    report.class_pixels = np.zeros(len(report.classes), np.int64)
    report.class_images = np.zeros(len(report.classes), np.int64)
    cache = LabelCache(None) if cache is None else cache
    facts = [cache.facts(s) for s in samples]
    todo = [i for i, known in enumerate(facts) if known is None]
    report.num_cached = len(samples) - len(todo)
    # the keys before the reading: a file changed meanwhile is read again
    keys = [_key(samples[i]) for i in todo]
    threads = max(1, min(nproc or os.cpu_count() or 1, len(todo) or 1))
    with ThreadPoolExecutor(threads) as pool:
        read = pool.map(read_label_facts,
                        [samples[i].seg_map_path for i in todo],
                        [samples[i].img_path for i in todo])
        if progress and todo:
            read = track_iter_progress((read, len(todo)), file=sys.stdout)
        # `read` first: its bar ends when it is drawn once more
        for sample_facts, i, key in zip(read, todo, keys):
            facts[i] = sample_facts
            if sample_facts['error'] is None:  # a broken file is read again
                cache[osp.abspath(samples[i].seg_map_path)] = dict(
                    key=key, facts=sample_facts)
    for sample, sample_facts in zip(samples, facts):
        _judge(report.split, sample, sample_facts, report)
    report.seconds = time.perf_counter() - start
    return report


def dataset_samples(dataset, split: str) -> Tuple[List[Sample], SplitReport]:
    """The samples with a label map (each once) of a built mmseg dataset
    (or wrapper) and the split's report to be."""
    base = dataset  # the first real dataset inside the wrappers
    while hasattr(base, 'datasets') or hasattr(base, 'dataset'):
        base = base.datasets[0] if hasattr(base, 'datasets') else base.dataset
    samples, unlabelled = {}, 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info.get('seg_map_path')
        unlabelled += path is None
        if path is not None and path not in samples:  # repeated datasets
            samples[path] = Sample(info['img_path'], path,
                                   bool(info.get('reduce_zero_label')),
                                   info.get('label_map') or None)
    metainfo = getattr(dataset, 'metainfo', None) or base.metainfo
    return list(samples.values()), SplitReport(
        split,
        tuple(metainfo['classes']),
        int(getattr(base, 'ignore_index', 255)),
        num_unlabelled=unlabelled)


def check_label_maps(
    cfg: Config,
    splits: Sequence[str] = ('val', 'test'),
    work_dir: Optional[str] = None,
    nproc: Optional[int] = None,
    progress: bool = True,
    raise_on_problems: bool = True,
    optional: Sequence[str] = ()
) -> List[SplitReport]:
    """Scan the label maps of a seg config's splits (each dataset once).

    Args:
        cfg (Config): The config (``default_scope`` mmseg).
        splits (Sequence[str]): Of train, val and test. Defaults to val, test.
        work_dir (str, optional): Where the cache is kept. Defaults to None
            (none kept).
        nproc (int, optional): Reading threads. Defaults to None (the CPUs).
        progress (bool): Show a progress bar. Defaults to True.
        raise_on_problems (bool): Raise :class:`DatasetCheckError` listing
            every problem. Defaults to True.
        optional (Sequence[str]): Splits whose dataset may fail to build
            (reported as not checked). Defaults to ().
    """
    cache = LabelCache(osp.join(work_dir, CACHE_NAME) if work_dir else None)
    reports, scanned = [], {}
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        same = [s for s, d in scanned.items() if d == loader.get('dataset')]
        if same:
            reports.append(SplitReport(split, same_as=same[0]))
            continue
        scanned[split] = loader['dataset']
        try:
            dataset = build_split_dataset(cfg, split)
        except Exception as e:
            if split not in optional:
                raise
            reports.append(
                SplitReport(split, not_built=f'{type(e).__name__}: {e}'))
            continue
        samples, report = dataset_samples(dataset, split)
        reports.append(
            scan_label_maps(report, samples, cache, nproc, progress))
        cache.save()
    problems = [p for r in reports for p in r.problems]
    if problems and raise_on_problems:
        raise DatasetCheckError(problem_list(problems))
    return reports


def problem_list(problems: Sequence[str]) -> str:
    """A scan's problems in one message, beyond :data:`MAX_LISTED` counted."""
    listed = list(problems[:MAX_LISTED])
    if len(problems) > MAX_LISTED:
        listed.append(f'... and {len(problems) - MAX_LISTED} more')
    return (f'label maps that the run would fail on ({len(problems)} '
            f'problem{"s" * (len(problems) != 1)}):\n  ' + '\n  '.join(listed))
