"""The prediction and label of a data sample, checked, for our metrics."""
from typing import Iterator, Sequence, Tuple

import numpy as np


def check_pred_and_label(pred: np.ndarray, label: np.ndarray, num_classes: int,
                         ignore_index: int, image: str) -> None:
    """Raise a ``ValueError`` naming ``image`` when the maps do not fit.

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
    for name, values, allowed in (('label', label, (ignore_index, )),
                                  ('prediction', pred, ())):
        bad = ((values < 0) | (values >= num_classes))
        for value in allowed:
            bad &= values != value
        if bad.any():
            found = np.unique(values[bad])[:5].tolist()
            raise ValueError(f'{image}: {name} values {found} are outside the '
                             f'{num_classes} classes (0..{num_classes - 1})' +
                             (f' and not the ignore index {ignore_index}'
                              if allowed else ''))


def sample_maps(data_sample: dict,
                index: int) -> Tuple[np.ndarray, np.ndarray, str]:
    """Prediction, label (as numpy) and name of an mmseg data sample.

    Args:
        data_sample (dict): A data sample from the model, as a dict.
        index (int): Its position in the batch, to name it without a path.
    """
    pred = data_sample['pred_sem_seg']['data'].squeeze(0).cpu().numpy()
    label = data_sample['gt_sem_seg']['data'].squeeze(0).cpu().numpy()
    image = data_sample.get('img_path') or f'image {index} of the batch'
    return pred, label, str(image)


def checked_label_maps(
        data_samples: Sequence[dict], num_classes: int,
        ignore_index: int) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Each sample's ``(prediction, label)``, checked by
    :func:`check_pred_and_label` (the error names the sample's image)."""
    for i, data_sample in enumerate(data_samples):
        pred, label, image = sample_maps(data_sample, i)
        check_pred_and_label(pred, label, num_classes, ignore_index, image)
        yield pred, label
