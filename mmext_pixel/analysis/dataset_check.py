"""The label maps of a segmentation config, checked before training.

Without this, a label value that is neither a class nor the ignore index in
the validation split stops a run only at its first validation, which the
shipped configs place after the last iteration. :func:`check_label_maps`
reads every label map of the chosen splits of a config (``tools/train.py``
checks the val and test splits before its first step;
``tools/analysis_tools/check_dataset.py`` any split) and finds:

- files that are missing or do not decode, and images whose header does
  not read;
- label maps whose size differs from their image's (read from the image
  header, without decoding it);
- values that, as mmseg's ``LoadAnnotations`` loads them (after
  ``reduce_zero_label`` and the dataset's ``label_map``), are neither a
  class index nor the dataset's ignore index.

Files are read in parallel threads (PNG decoding releases the GIL) with a
progress bar. What was read of each file (its value counts, its size, its
image's size) is kept in ``WORK_DIR/label_check_cache.json`` under the
file's path, byte size and modification time, so a resumed run reads only
files that changed. The same counts give each class's pixel share and image
count, what class weights are computed from.
"""
import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.utils import ProgressBar

#: The cache file in the work dir.
CACHE_NAME = 'label_check_cache.json'
_CACHE_VERSION = 1
#: Problems listed in an error before the rest are only counted.
MAX_LISTED = 20


class DatasetCheckError(ValueError):
    """Label maps that training or validation would fail on."""


@dataclass
class SplitRules:
    """What a split's label values may be.

    Args:
        classes (Sequence[str]): The dataset's class names.
        ignore_index (int): The value ignored by the loss and the metric.
            Defaults to 255.
    """

    classes: Sequence[str]
    ignore_index: int = 255

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> str:
        return (f'classes are 0..{self.num_classes - 1} and ignore '
                f'{self.ignore_index}')


@dataclass
class Sample:
    """One labelled sample: its files and how its values are loaded."""

    img_path: str
    seg_map_path: str
    reduce_zero_label: bool = False
    label_map: Optional[Dict[int, int]] = None


@dataclass
class SplitReport:
    """The result of scanning one split."""

    split: str
    rules: SplitRules
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
        """One line: how many maps, from the cache, problems, time."""
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
        line += (
            _count(len(self.problems), 'problem')
            if self.problems else 'all fit their images and classes')
        if self.num_unlabelled:
            line += f'; {self.num_unlabelled} samples without labels'
        return line


def _count(number: int, noun: str) -> str:
    return f'{number} {noun}' + ('' if number == 1 else 's')


def read_label_facts(seg_map_path: str, img_path: str) -> dict:
    """What the checks need from one label map and its image.

    Args:
        seg_map_path (str): The label file.
        img_path (str): Its image; only the header is read.

    Returns:
        dict: ``values`` (raw value -> pixel count), ``shape`` and
        ``image_shape`` as ``[h, w]``, and ``error`` (None, or why a file
        could not be read).
    """
    facts = dict(values={}, shape=None, image_shape=None, error=None)
    try:
        from PIL import Image
        with Image.open(img_path) as image:  # the header only
            width, height = image.size
        facts['image_shape'] = [height, width]
    except FileNotFoundError:
        facts['error'] = f'its image {img_path} does not exist'
        return facts
    except Exception as e:
        facts['error'] = (f'its image {img_path} does not read '
                          f'({type(e).__name__}: {e})')
        return facts
    if not osp.isfile(seg_map_path):
        facts['error'] = 'does not exist'
        return facts
    label = cv2.imread(seg_map_path, cv2.IMREAD_UNCHANGED)
    if label is None:
        facts['error'] = 'does not decode (truncated, empty or not an image)'
        return facts
    if label.ndim == 3 and label.shape[2] == 1:
        label = label[..., 0]
    if label.ndim != 2:
        facts['error'] = (f'has {label.shape[2]} channels; a label map has '
                          'one, the class index of each pixel')
        return facts
    facts['shape'] = list(label.shape)
    if label.dtype in (np.uint8, np.uint16):
        counts = np.bincount(label.ravel())
        values = np.flatnonzero(counts)
        facts['values'] = {int(v): int(counts[v]) for v in values}
    else:
        values, counts = np.unique(label, return_counts=True)
        facts['values'] = {(int(v) if float(v).is_integer() else float(v)):
                           int(c)
                           for v, c in zip(values, counts)}
    return facts


def loaded_value(raw, sample: Sample):
    """The value mmseg's ``LoadAnnotations`` turns a file's value into;
    None for a value it cannot hold (not an integer, or over 255, which its
    cast to uint8 would wrap onto another class)."""
    if not isinstance(raw, int) or not 0 <= raw <= 255:
        return None
    value = raw
    if sample.reduce_zero_label:
        value = 255 if value == 0 else value - 1
        value = 255 if value == 254 else value
    if sample.label_map and value in sample.label_map:
        value = sample.label_map[value]
    return value


def _file_key(path: str) -> List[int]:
    try:
        stat = os.stat(path)
    except OSError:
        return [-1, -1]
    return [stat.st_size, stat.st_mtime_ns]


class LabelCache:
    """What was read of each label file, kept under its path, byte size and
    modification time (and its image's).

    Args:
        path (str, optional): The JSON file; None keeps nothing.
    """

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self.entries: Dict[str, dict] = {}
        if path and osp.isfile(path):
            try:
                with open(path) as f:
                    data = json.load(f)
                if data.get('version') == _CACHE_VERSION:
                    self.entries = data['entries']
            except (ValueError, KeyError, TypeError, AttributeError):
                self.entries = {}  # rebuilt from the files themselves

    @staticmethod
    def key(sample: Sample) -> list:
        return [osp.abspath(sample.img_path)] + \
            _file_key(sample.seg_map_path) + _file_key(sample.img_path)

    def get(self, sample: Sample) -> Optional[dict]:
        entry = self.entries.get(osp.abspath(sample.seg_map_path))
        if entry is not None and entry['key'] == self.key(sample):
            return entry['facts']
        return None

    def put(self, sample: Sample, key: list, facts: dict) -> None:
        if facts['error'] is None:  # a broken file is read again
            self.entries[osp.abspath(sample.seg_map_path)] = dict(
                key=key, facts=facts)

    def save(self) -> None:
        if not self.path:
            return
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        part = f'{self.path}.{os.getpid()}.part'
        with open(part, 'w') as f:
            json.dump(dict(version=_CACHE_VERSION, entries=self.entries), f)
        os.replace(part, self.path)


def _values_from_json(facts: dict) -> Dict:
    # JSON keys are strings
    return {(int(k) if isinstance(k, str) and k.lstrip('-').isdigit() else
             float(k) if isinstance(k, str) else k): v
            for k, v in facts['values'].items()}


def _judge(split: str, sample: Sample, facts: dict, rules: SplitRules,
           report: SplitReport) -> None:
    """Add the sample's problems and class counts to the report."""
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
    for raw, count in _values_from_json(facts).items():
        value = loaded_value(raw, sample)
        if value == rules.ignore_index:
            report.ignored_pixels += count
        elif value is not None and 0 <= value < rules.num_classes:
            report.class_pixels[value] += count
            report.class_images[value] += 1
        else:
            bad.append(raw)
    if bad:
        how = ''
        if sample.reduce_zero_label:
            how = (' (reduce_zero_label: file value v is class v-1, 0 is '
                   'ignored)')
        if sample.label_map:
            how += " (after the dataset's label_map)"
        report.problems.append(
            f'{where} holds {", ".join(str(v) for v in sorted(bad))}; '
            f'{rules.describe()}{how}')


def scan_label_maps(split: str,
                    samples: Sequence[Sample],
                    rules: SplitRules,
                    cache: Optional[LabelCache] = None,
                    nproc: Optional[int] = None,
                    progress: bool = True,
                    num_unlabelled: int = 0) -> SplitReport:
    """Read and judge the label maps of one split.

    Args:
        split (str): The split's name, for messages (``'val'``).
        samples (Sequence[Sample]): Its labelled samples.
        rules (SplitRules): The classes and the ignore index.
        cache (LabelCache, optional): Facts read before; new ones are added
            (not saved). Defaults to None.
        nproc (int, optional): Reading threads; None takes the CPU count.
            Defaults to None.
        progress (bool): Show a progress bar on stdout. Defaults to True.
        num_unlabelled (int): Samples of the split without a label map, for
            the report. Defaults to 0.

    Returns:
        SplitReport: Problems (one line each, naming the file and the
        value), per-class pixel and image counts, and how many maps the
        cache answered.
    """
    start = time.perf_counter()
    report = SplitReport(
        split,
        rules,
        num_maps=len(samples),
        num_unlabelled=num_unlabelled,
        class_pixels=np.zeros(rules.num_classes, np.int64),
        class_images=np.zeros(rules.num_classes, np.int64))
    facts: List[Optional[dict]] = [None] * len(samples)
    todo = []
    for i, sample in enumerate(samples):
        known = cache.get(sample) if cache is not None else None
        if known is None:
            todo.append(i)
        else:
            facts[i] = known
    report.num_cached = len(samples) - len(todo)
    bar = ProgressBar(len(todo), file=sys.stdout) \
        if progress and todo else None
    nproc = nproc or os.cpu_count() or 1
    with ThreadPoolExecutor(max(1, min(nproc, len(todo) or 1))) as pool:
        futures = {}
        for i in todo:
            sample = samples[i]
            # the key before reading, so a file changed meanwhile is read
            # again next time
            key = LabelCache.key(sample)
            future = pool.submit(read_label_facts, sample.seg_map_path,
                                 sample.img_path)
            futures[future] = (i, key)
        for future in as_completed(futures):
            i, key = futures[future]
            facts[i] = future.result()
            if cache is not None:
                cache.put(samples[i], key, facts[i])
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    for sample, sample_facts in zip(samples, facts):
        _judge(split, sample, sample_facts, rules, report)
    report.seconds = time.perf_counter() - start
    return report


def _unwrapped(dataset):
    """The first real dataset inside mmengine's dataset wrappers."""
    while True:
        inner = getattr(dataset, 'datasets', None)
        if inner:
            dataset = inner[0]
            continue
        inner = getattr(dataset, 'dataset', None)
        if inner is None:
            return dataset
        dataset = inner


def dataset_samples(dataset) -> Tuple[List[Sample], int, SplitRules]:
    """The labelled samples of a built segmentation dataset.

    Args:
        dataset: An mmseg dataset (or an mmengine wrapper of ones).

    Returns:
        tuple[list[Sample], int, SplitRules]: The samples with a label map
        (each file once), the count without one, and the value rules.
    """
    base = _unwrapped(dataset)
    metainfo = getattr(dataset, 'metainfo', None) or base.metainfo
    rules = SplitRules(
        classes=tuple(metainfo['classes']),
        ignore_index=int(getattr(base, 'ignore_index', 255)))
    samples, seen, unlabelled = [], set(), 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info.get('seg_map_path')
        if path is None:
            unlabelled += 1
            continue
        if path in seen:  # a repeated dataset
            continue
        seen.add(path)
        samples.append(
            Sample(
                img_path=info['img_path'],
                seg_map_path=path,
                reduce_zero_label=bool(info.get('reduce_zero_label', False)),
                label_map=info.get('label_map') or None))
    return samples, unlabelled, rules


def build_split_dataset(cfg: Config, split: str):
    """The config's ``{split}_dataloader.dataset``, built in its scope.

    Args:
        cfg (Config): A segmentation config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        The built dataset, or None when the config has no such split.
    """
    from mmengine.registry import DATASETS, init_default_scope
    from mmengine.utils import import_modules_from_strings
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        return None
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.default_scope)
    return DATASETS.build(loader['dataset'])


def check_label_maps(
    cfg: Config,
    splits: Sequence[str] = ('val', 'test'),
    work_dir: Optional[str] = None,
    nproc: Optional[int] = None,
    progress: bool = True,
    raise_on_problems: bool = True,
    optional: Sequence[str] = ()
) -> List[SplitReport]:
    """Scan the label maps of a segmentation config's splits.

    A split that the config does not have, or whose dataset is the same as
    one already scanned, is passed over; a file shared by two splits is
    read once.

    Args:
        cfg (Config): The config (``default_scope`` mmseg).
        splits (Sequence[str]): Which of ``train``, ``val``, ``test``.
            Defaults to ``('val', 'test')``.
        work_dir (str, optional): Where the cache is kept; None keeps none.
            Defaults to None.
        nproc (int, optional): Reading threads; None takes the CPU count.
            Defaults to None.
        progress (bool): Show a progress bar. Defaults to True.
        raise_on_problems (bool): Raise :class:`DatasetCheckError` listing
            every problem of every split. Defaults to True.
        optional (Sequence[str]): Splits whose dataset may fail to build
            (a test split that training does not use): reported as not
            checked instead of raising. Defaults to ().

    Returns:
        list[SplitReport]: One per scanned split.
    """
    cache = LabelCache(osp.join(work_dir, CACHE_NAME) if work_dir else None)
    reports, scanned = [], {}
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        same = [s for s, d in scanned.items() if d == loader.get('dataset')]
        if same:
            reports.append(SplitReport(split, SplitRules(()), same_as=same[0]))
            continue
        scanned[split] = loader['dataset']
        try:
            dataset = build_split_dataset(cfg, split)
        except Exception as e:
            if split not in optional:
                raise
            reports.append(
                SplitReport(
                    split,
                    SplitRules(()),
                    not_built=f'{type(e).__name__}: {e}'))
            continue
        samples, unlabelled, rules = dataset_samples(dataset)
        reports.append(
            scan_label_maps(split, samples, rules, cache, nproc, progress,
                            unlabelled))
        cache.save()
    problems = [p for r in reports for p in r.problems]
    if problems and raise_on_problems:
        raise DatasetCheckError(problem_list(problems))
    return reports


def problem_list(problems: Sequence[str]) -> str:
    """The problems of a scan as one message, the first
    :data:`MAX_LISTED` listed and the rest counted.

    Args:
        problems (Sequence[str]): One line per problem.
    """
    listed = list(problems[:MAX_LISTED])
    if len(problems) > MAX_LISTED:
        listed.append(f'... and {len(problems) - MAX_LISTED} more')
    return (f'label maps that the run would fail on '
            f'({_count(len(problems), "problem")}):\n  ' + '\n  '.join(listed))


def class_table(report: SplitReport) -> str:
    """Each class's pixel share (of the labelled pixels) and image count.

    Args:
        report (SplitReport): A scanned split.

    Returns:
        str: A table, one row per class, then the ignored pixels.
    """
    labelled = int(report.class_pixels.sum())
    total = labelled + report.ignored_pixels
    width = max([len('class')] + [len(str(c)) for c in report.rules.classes])
    rows = [
        f'{"index":>5}  {"class":<{width}}  {"pixel share":>11}  '
        f'{"pixels":>14}  {"images":>7}'
    ]
    for i, name in enumerate(report.rules.classes):
        pixels = int(report.class_pixels[i])
        share = 100.0 * pixels / labelled if labelled else 0.0
        rows.append(f'{i:>5}  {name:<{width}}  {share:>10.2f}%  '
                    f'{pixels:>14}  {int(report.class_images[i]):>7}')
    ignored = 100.0 * report.ignored_pixels / total if total else 0.0
    rows.append(f'ignored (value {report.rules.ignore_index}): '
                f'{report.ignored_pixels} pixels, {ignored:.2f}% of all')
    return '\n'.join(rows)
