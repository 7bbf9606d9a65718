"""``browse_dataset.py``: label overlays of a seg dataset after its pipeline.
"""
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.config import Config

from mmext_pixel.datasets.transforms import split_has_labels
from mmext_pixel.utils.run_config import SEG_SCOPE, build_split_dataset

LEGEND_ROW = 18  # pixels per legend line


def _to_bgr_uint8(inputs) -> np.ndarray:
    """A packed CHW image tensor (BGR, as loaded by cv2) to HWC uint8."""
    img = inputs.numpy().transpose(1, 2, 0)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if img.shape[2] == 1:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[..., :3])


def _legend(labels: Sequence[int], classes: Sequence[str],
            palette_bgr: np.ndarray, width: int) -> np.ndarray:
    """One line per class present: a colour swatch and the class name."""
    band = np.full((LEGEND_ROW * len(labels), width, 3), 255, np.uint8)
    for row, label in enumerate(labels):
        top = row * LEGEND_ROW
        colour = tuple(int(c) for c in palette_bgr[label])
        cv2.rectangle(band, (4, top + 3), (4 + 24, top + LEGEND_ROW - 3),
                      colour, -1)
        name = classes[label] if label < len(classes) else str(label)
        cv2.putText(band, f'{label}: {name}', (34, top + LEGEND_ROW - 5),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return band


def overlay(img: np.ndarray,
            label: Optional[np.ndarray],
            palette: Sequence[Sequence[int]],
            classes: Sequence[str] = (),
            alpha: float = 0.5) -> np.ndarray:
    """``img | img blended with the coloured label`` over a class legend.

    Args:
        img (np.ndarray): HxWx3 uint8 BGR image.
        label (np.ndarray, optional): HxW label map; values outside the
            palette (``ignore_index``) stay uncoloured. None: image only.
        palette (Sequence): RGB colour per class (mmseg's convention).
        classes (Sequence[str]): Class names for the legend. Defaults to ().
        alpha (float): Weight of the label colours. Defaults to 0.5.
    """
    if label is None:
        return img
    h, w = img.shape[:2]
    if label.shape != (h, w):
        label = cv2.resize(
            label.astype(np.int32).astype(np.float32), (w, h),
            interpolation=cv2.INTER_NEAREST).astype(np.int64)
    palette_bgr = np.asarray(palette, np.uint8).reshape(-1, 3)[:, ::-1]
    valid = (label >= 0) & (label < len(palette_bgr))
    blend = img.copy()
    blend[valid] = (img[valid] * (1 - alpha) +
                    palette_bgr[label[valid]] * alpha).round().astype(np.uint8)
    panel = np.concatenate([img, np.full((h, 4, 3), 255, np.uint8), blend],
                           axis=1)
    present = [int(v) for v in np.unique(label[valid])]
    if present:
        panel = np.concatenate(
            [panel,
             _legend(present, classes, palette_bgr, panel.shape[1])],
            axis=0)
    return panel


def browse(cfg: Config,
           split: str = 'train',
           output_dir: Optional[str] = None,
           num: int = 10,
           alpha: float = 0.5,
           config_path: str = 'config',
           log: Callable[[str], None] = print) -> List[str]:
    """Write the first ``num`` samples' overlays; return the PNG paths.

    Args:
        cfg (Config): A segmentation config, loaded by ``load_config``.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to 'train'.
        output_dir (str, optional): Folder of the PNGs. Defaults to None
            (``work_dirs/browse_dataset/CONFIG_NAME/SPLIT``).
        num (int): Samples to write. Defaults to 10.
        alpha (float): Weight of the label colours. Defaults to 0.5.
        config_path (str): For names and messages. Defaults to 'config'.
        log (Callable[[str], None]): Gets notices. Defaults to print.
    """
    if cfg.default_scope != SEG_SCOPE:
        raise NotImplementedError(
            f'{config_path}: default_scope is {cfg.default_scope!r}; '
            'browse_dataset.py supports segmentation (mmseg) configs only, '
            'pose configs are not supported yet')
    dataset = build_split_dataset(cfg, split, config_path)
    split_has_labels(dataset)  # a mixed split or an unusable pipeline fails
    if output_dir is None:
        output_dir = osp.join('work_dirs', 'browse_dataset',
                              osp.splitext(osp.basename(config_path))[0],
                              split)
    os.makedirs(output_dir, exist_ok=True)
    palette = dataset.metainfo.get('palette')
    classes = dataset.metainfo.get('classes') or ()
    if not palette:
        raise KeyError(f'{config_path}: the {split} dataset '
                       f'({type(dataset).__name__}) has no '
                       "metainfo['palette']")
    written, unlabelled = [], 0
    for i in range(min(num, len(dataset))):
        item = dataset[i]
        sample = item['data_samples']
        img = _to_bgr_uint8(item['inputs'])
        label = sample.gt_sem_seg.data.squeeze(0).numpy() \
            if 'gt_sem_seg' in sample else None
        unlabelled += label is None
        stem = osp.splitext(osp.basename(sample.img_path))[0]
        path = osp.join(output_dir, f'{stem}.png')
        if path in written:  # same stem in two folders
            path = osp.join(output_dir, f'{stem}_{i}.png')
        if not cv2.imwrite(path, overlay(img, label, palette, classes, alpha)):
            raise OSError(f'could not write {path!r}')
        written.append(path)
    if unlabelled:
        log(f'{unlabelled} of {len(written)} samples of the {split} split '
            'have no label map: their images were written alone')
    return written
