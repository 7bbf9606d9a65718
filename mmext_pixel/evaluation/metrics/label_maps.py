"""The base of our metrics: each sample's prediction and label, checked."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from prettytable import PrettyTable


def check_pred_and_label(pred: np.ndarray, label: np.ndarray, num_classes: int,
                         ignore_index: int, image: str) -> None:
    """A ``ValueError`` naming ``image`` for maps that do not fit.

    Args:
        pred (np.ndarray): Predicted classes.
        label (np.ndarray): Label map.
        num_classes (int): Number of classes.
        ignore_index (int): The label value that is not a class.
        image (str): How the error names the image.
    """
    if pred.shape != label.shape:
        raise ValueError(f'{image}: the prediction is {tuple(pred.shape)} '
                         f'but the label is {tuple(label.shape)}; score them '
                         'at one size')
    for name, values, ignored in (('label', label, True), ('prediction', pred,
                                                           False)):
        bad = (values < 0) | (values >= num_classes)
        if ignored:
            bad &= values != ignore_index
        if bad.any():
            found = np.unique(values[bad])[:5].tolist()
            raise ValueError(f'{image}: {name} values {found} are outside the '
                             f'{num_classes} classes (0..{num_classes - 1})' +
                             (f' and not the ignore index {ignore_index}'
                              if ignored else ''))


def log_table(title: str, columns: Dict[str, Sequence]) -> None:
    """Log ``title`` and a table of ``{header: column}``."""
    table = PrettyTable()
    for header, values in columns.items():
        table.add_column(header, list(values))
    print_log(title, logger='current')
    print_log('\n' + table.get_string(), logger='current')


class LabelMapMetric(BaseMetric):
    """A metric scoring each sample's checked ``(prediction, label)`` with
    :meth:`score`.

    Args:
        ignore_index (int): Label value not counted. Defaults to 255.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to None.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index

    def score(self, pred: np.ndarray, label: np.ndarray, num_classes: int):
        raise NotImplementedError

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for i, sample in enumerate(data_samples):
            pred = sample['pred_sem_seg']['data'].squeeze(0).cpu().numpy()
            label = sample['gt_sem_seg']['data'].squeeze(0).cpu().numpy()
            image = str(sample.get('img_path') or f'image {i} of the batch')
            check_pred_and_label(pred, label, num_classes, self.ignore_index,
                                 image)
            self.results.append(self.score(pred, label, num_classes))
