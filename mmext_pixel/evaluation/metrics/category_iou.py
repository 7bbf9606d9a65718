"""Class and category IoU and pixel accuracy from one confusion matrix."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmseg.registry import METRICS

from .label_maps import LabelMapMetric, log_table

#: Cityscapes' 7 categories and their evaluated classes, as cityscapesscripts'
#: label table (``helpers/labels.py``) groups the 19 train ids.
CITYSCAPES_CATEGORIES = OrderedDict([
    ('flat', ('road', 'sidewalk')),
    ('construction', ('building', 'wall', 'fence')),
    ('object', ('pole', 'traffic light', 'traffic sign')),
    ('nature', ('vegetation', 'terrain')),
    ('sky', ('sky', )),
    ('human', ('person', 'rider')),
    ('vehicle', ('car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')),
])


def confusion_matrix(pred: np.ndarray, label: np.ndarray, num_classes: int,
                     ignore_index: int) -> np.ndarray:
    """``(label, prediction)`` counts of the pixels not ignored.

    Args:
        pred (np.ndarray): Predicted classes.
        label (np.ndarray): Label, classes or ``ignore_index``.
        num_classes (int): Number of classes.
        ignore_index (int): Label value left out.
    """
    kept = label != ignore_index
    index = label[kept].astype(np.int64) * num_classes + pred[kept]
    return np.bincount(
        index, minlength=num_classes**2).reshape(num_classes, num_classes)


@METRICS.register_module()
class CategoryIoU(LabelMapMetric):
    """Pixel accuracy, mean class accuracy, class and category mIoU.

    The Gated-SCNN tables' numbers (Takikawa et al., ICCV 2019): ``PA``,
    ``mPA``, ``mIoU`` as mmseg's ``aAcc``, ``mAcc``, ``mIoU``, and
    cityscapesscripts' ``category_mIoU``; in place of ``IoUMetric``.

    Args:
        categories (dict, optional): Category name -> its class names. None
            gives Cityscapes' 7 categories (``CITYSCAPES_CATEGORIES``), which
            need the dataset's classes to include the 19 Cityscapes ones.
            Defaults to None.
        ignore_index (int): Label value left out. Defaults to 255.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to None.
    """

    def __init__(self,
                 categories: Optional[Dict[str, Sequence[str]]] = None,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(ignore_index, collect_device, prefix)
        self.categories = OrderedDict(categories or CITYSCAPES_CATEGORIES)

    def category_of_classes(self, classes: Sequence[str]) -> np.ndarray:
        """The category index of each class (-1: in no category).

        Args:
            classes (Sequence[str]): The dataset's class names.
        """
        index = {name: i for i, name in enumerate(classes)}
        category = np.full(len(classes), -1, dtype=np.int64)
        for k, (name, members) in enumerate(self.categories.items()):
            for member in members:
                if member not in index:
                    raise ValueError(
                        f'category {name!r}: class {member!r} is not among '
                        f'the dataset classes {tuple(classes)}; pass '
                        '`categories` for this dataset')
                category[index[member]] = k
        return category

    def score(self, pred: np.ndarray, label: np.ndarray,
              num_classes: int) -> np.ndarray:
        return confusion_matrix(pred, label, num_classes, self.ignore_index)

    def scores(self, results: List[np.ndarray]) -> dict:
        """``PA``, per class ``Acc`` and ``IoU``, per category
        ``category_IoU``, as fractions.

        Args:
            results (List[np.ndarray]): The per-image confusion matrices.
        """
        confusion = np.sum(results, axis=0)
        classes = self.dataset_meta['classes']
        category = self.category_of_classes(classes)
        # a class in no category (possible with ``categories``) counts as
        # a miss or a false alarm of the categories it is confused with
        merge = np.zeros((len(classes), len(self.categories)), np.int64)
        grouped = np.flatnonzero(category >= 0)
        merge[grouped, category[grouped]] = 1
        diag = np.diag(confusion)
        # (true positives, labelled, predicted) of the classes, categories
        counts = ((diag.astype(np.float64), confusion.sum(1),
                   confusion.sum(0)),
                  (np.diag(merge.T @ confusion @ merge).astype(np.float64),
                   (merge.T @ confusion).sum(1), (confusion @ merge).sum(0)))
        with np.errstate(divide='ignore', invalid='ignore'):
            iou, category_iou = (tp / (labelled + predicted - tp)
                                 for tp, labelled, predicted in counts)
            acc = diag / confusion.sum(1)
        return dict(
            PA=diag.sum() / confusion.sum(),
            Acc=acc,
            IoU=iou,
            category_IoU=category_iou)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        scores = self.scores(results)
        pct = {k: np.round(v * 100, 2).tolist() for k, v in scores.items()}
        classes = self.dataset_meta['classes']
        log_table('per class results:',
                  dict(Class=classes, IoU=pct['IoU'], Acc=pct['Acc']))
        log_table('per category results:',
                  dict(Category=self.categories, IoU=pct['category_IoU']))
        mean = {
            k: np.round(np.nanmean(scores[k]) * 100, 2)
            for k in ('Acc', 'IoU', 'category_IoU')
        }
        return OrderedDict(
            PA=np.round(scores['PA'] * 100, 2),
            mPA=mean['Acc'],
            mIoU=mean['IoU'],
            category_mIoU=mean['category_IoU'])
