"""A small synthetic dataset in the urbanisation layout (aerial-like tiles of
vegetation, roads and rooftops), for the demo and the tests."""
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

# three classes of their own (the fork's has two), passed as ``metainfo``
SYNTHETIC_METAINFO = dict(
    classes=('background', 'built-up', 'road'),
    palette=[[34, 139, 34], [220, 20, 60], [128, 128, 128]])
BACKGROUND, BUILT_UP, ROAD = range(len(SYNTHETIC_METAINFO['classes']))


def _smooth_noise(rng: np.random.Generator, size: int,
                  cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid upsampled."""
    grid = rng.random((cells, cells)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def _make_tile(rng: np.random.Generator, size: int):
    label = np.full((size, size), BACKGROUND, np.uint8)

    # vegetation and soil (BGR, as cv2 writes it) mixed by smooth noise
    mix = np.clip(_smooth_noise(rng, size, 6), 0, 1)[..., None]
    grass = np.array([50, 120, 60], np.float32) * rng.uniform(0.8, 1.2)
    soil = np.array([90, 130, 150], np.float32) * rng.uniform(0.8, 1.2)
    img = grass * mix + soil * (1 - mix)

    for _ in range(rng.integers(2, 5)):
        cx, cy = rng.integers(0, size, 2)
        spread = size * rng.uniform(0.06, 0.16)
        for _ in range(rng.integers(4, 10)):
            centre = (float(cx + rng.normal(0, spread)),
                      float(cy + rng.normal(0, spread)))
            wh = tuple(float(v) for v in rng.uniform(0.03, 0.09, 2) * size)
            box = cv2.boxPoints((centre, wh, float(rng.uniform(0, 90))))
            box = np.round(box).astype(np.int32)
            roof = rng.uniform((150, 60, 40), (230, 120, 90))  # RGB
            cv2.fillPoly(img, [box], roof[::-1].tolist())
            cv2.fillPoly(label, [box], BUILT_UP)

    for _ in range(rng.integers(1, 3)):
        p0 = rng.integers(0, size, 2)
        angle = rng.uniform(0, np.pi)
        d = np.array([np.cos(angle), np.sin(angle)]) * size * 2
        a, b = (tuple(int(v) for v in p) for p in (p0 - d, p0 + d))
        width = int(rng.integers(max(2, size // 40), max(3, size // 20) + 1))
        grey = float(rng.uniform(90, 140))
        cv2.line(img, a, b, (grey, grey, grey), width)
        cv2.line(label, a, b, ROAD, width)

    shade = 0.85 + 0.3 * _smooth_noise(rng, size, 4)[..., None]
    img = img * shade + rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), label


def make_synthetic_urbanisation(data_root: str,
                                num_train: int = 96,
                                num_val: int = 24,
                                num_test: int = 8,
                                size: int = 128,
                                seed: int = 0) -> Dict[str, List[str]]:
    """Write :class:`UrbanisationDataset`'s folders and list files under
    ``data_root``, the test split unlabelled, labels indexing
    ``SYNTHETIC_METAINFO['classes']``.

    Args:
        data_root (str): Folder that receives ``urbanisation/`` and ``list/``.
        num_train, num_val, num_test (int): Tiles per split. Default to 96,
            24 and 8.
        size (int): Tile side in pixels. Defaults to 128.
        seed (int): Seed of the generator. Defaults to 0.

    Returns:
        dict: Split name to the list-file lines written for it.
    """
    rng = np.random.default_rng(seed)
    counts = dict(train=num_train, val=num_val, test=num_test)
    lists: Dict[str, List[str]] = {}
    for split, count in counts.items():
        labelled = split != 'test'
        img_dir, ann_dir = f'x/{split}', f'y/{split}'
        root = osp.join(data_root, 'urbanisation')
        os.makedirs(osp.join(root, img_dir), exist_ok=True)
        if labelled:
            os.makedirs(osp.join(root, ann_dir), exist_ok=True)
        lines = []
        for i in range(count):
            img, label = _make_tile(rng, size)
            name = f'{split}_{i:04d}.png'
            cv2.imwrite(osp.join(root, img_dir, name), img)
            line = f'{img_dir}/{name}'
            if labelled:
                cv2.imwrite(osp.join(root, ann_dir, name), label)
                line += f' {ann_dir}/{name}'
            lines.append(line)
        lists[split] = lines
    lists['trainval'] = lists['train'] + lists['val']

    list_dir = osp.join(data_root, 'list', 'urbanisation')
    os.makedirs(list_dir, exist_ok=True)
    for split, lines in lists.items():
        with open(osp.join(list_dir, f'{split}.lst'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return lists
