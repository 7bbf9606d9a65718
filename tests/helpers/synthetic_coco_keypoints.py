"""A tiny, deterministic COCO-keypoints data set of stick figures.

``make_synthetic_coco_keypoints(root, num_train, num_val)`` writes::

    root/images/train/000000000001.jpg ...
    root/images/val/000001000001.jpg ...
    root/annotations/person_keypoints_train.json
    root/annotations/person_keypoints_val.json

in the layout of COCO's ``person_keypoints_*.json`` (one ``person`` category
with COCO's 17 keypoint names and skeleton), so that MMPose's
``CocoDataset`` (top-down or bottom-up) and ``CocoMetric`` read it as they
read COCO. Use it in configs as::

    data_root=root, ann_file='annotations/person_keypoints_val.json',
    data_prefix=dict(img='images/val/')

What is drawn
    Every image holds one or two people (two with probability
    ``two_person_prob``), each a stick figure standing upright and facing the
    camera, so that the person's *left* side is on the image's right, as in
    COCO: a head circle, eyes/ears/nose dots, and limbs as lines. Left limbs,
    right limbs and the torso have distinct colours, so left/right (and thus
    flip test) is learnable. Figure height, position, shoulder/hip widths,
    arm and leg angles, elbow/knee bends and head tilt are random. The
    background is a random colour with noise and a few random rectangles.

Annotations (per person)
    ``keypoints``: 17 x (x, y, v) in pixels. ``v == 2``: labelled and drawn;
    ``v == 1``: labelled but occluded -- the joint lies under a drawn
    occluder patch (probability ``occlusion_prob`` per keypoint);
    ``v == 0``: not labelled, stored as (0, 0, 0) as COCO does -- only ears
    and eyes, which are then not drawn as dots (probability
    ``unlabelled_face_prob`` per ear/eye keypoint). ``num_keypoints`` counts
    ``v > 0``. ``bbox`` is ``[x, y, w, h]`` around all 17 joints and the head
    circle with a margin of 5% of the figure height, clipped to the image;
    ``area`` is ``0.53 * w * h`` of that box (the ratio MMPose uses when a
    COCO annotation has no area), ``iscrowd`` is 0, ``category_id`` 1.

Ids and determinism
    Image ids of split ``train`` are ``1..num_train`` and those of ``val``
    ``1_000_001..``; annotation ids use the same offsets, so ids are unique
    across both files. Each split is drawn from its own random stream,
    ``numpy.random.default_rng([seed, split_index])``: the same ``seed`` and
    arguments give byte-identical annotation files and identical image
    pixels (before JPEG, which is itself deterministic for a given OpenCV),
    and the val split does not change with ``num_train``.
"""
import json
import os
import os.path as osp
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

COCO_KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear',
                       'right_ear', 'left_shoulder', 'right_shoulder',
                       'left_elbow', 'right_elbow', 'left_wrist',
                       'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                       'right_knee', 'left_ankle', 'right_ankle')

# COCO's person skeleton, 1-based keypoint indices as in the json files.
COCO_SKELETON = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12),
                 (7, 13), (6, 7), (6, 8), (7, 9), (8, 10), (9, 11), (2, 3),
                 (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7))

PERSON_CATEGORY = dict(
    supercategory='person',
    id=1,
    name='person',
    keypoints=list(COCO_KEYPOINT_NAMES),
    skeleton=[list(s) for s in COCO_SKELETON])

SPLITS = ('train', 'val')
ID_OFFSET = {'train': 0, 'val': 1_000_000}

_EYE_EAR = (1, 2, 3, 4)
# limbs drawn as lines (0-based keypoint indices) with a colour group
_LIMBS = (((5, 7), 'left'), ((7, 9), 'left'), ((11, 13), 'left'),
          ((13, 15), 'left'), ((6, 8), 'right'), ((8, 10), 'right'),
          ((12, 14), 'right'), ((14, 16), 'right'), ((5, 6), 'torso'),
          ((11, 12), 'torso'), ((5, 11), 'left'), ((6, 12), 'right'))
_COLOURS = {  # BGR
    'left': (40, 220, 40),
    'right': (0, 140, 255),
    'torso': (255, 120, 40),
    'head': (230, 230, 230),
}


def _pose(rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, float]:
    """A standing pose in units of the figure height.

    Returns joints (17, 2) with x to the image's right and y down, the origin
    at the top centre of the figure, the head centre (2,) and the head
    radius.
    """
    k = np.zeros((17, 2))
    tilt = rng.uniform(-0.15, 0.15)  # head tilt, radians
    head_r = rng.uniform(0.06, 0.07)
    head_c = np.array([rng.uniform(-0.01, 0.01), head_r + 0.005])

    def rot(v):
        c, s = np.cos(tilt), np.sin(tilt)
        return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])

    k[0] = head_c + rot((0.0, 0.2 * head_r))  # nose
    k[1] = head_c + rot((0.4 * head_r, -0.2 * head_r))  # left eye
    k[2] = head_c + rot((-0.4 * head_r, -0.2 * head_r))  # right eye
    k[3] = head_c + rot((0.95 * head_r, 0.0))  # left ear
    k[4] = head_c + rot((-0.95 * head_r, 0.0))  # right ear

    neck_y = 2 * head_r + rng.uniform(0.02, 0.04)
    shoulder_w = rng.uniform(0.09, 0.12)
    k[5] = (shoulder_w, neck_y + 0.02)
    k[6] = (-shoulder_w, neck_y + 0.02)
    hip_y = rng.uniform(0.50, 0.54)
    hip_w = rng.uniform(0.06, 0.08)
    k[11] = (hip_w, hip_y)
    k[12] = (-hip_w, hip_y)

    upper_arm, fore_arm = rng.uniform(0.15, 0.18), rng.uniform(0.13, 0.16)
    for side, (sh, el, wr) in ((1, (5, 7, 9)), (-1, (6, 8, 10))):
        a1 = np.deg2rad(rng.uniform(8, 50))  # upper arm, out from vertical
        a2 = a1 + np.deg2rad(rng.uniform(-30, 40))  # forearm
        k[el] = k[sh] + upper_arm * np.array([side * np.sin(a1), np.cos(a1)])
        k[wr] = k[el] + fore_arm * np.array([side * np.sin(a2), np.cos(a2)])

    thigh = rng.uniform(0.21, 0.23)
    for side, (hp, kn, an) in ((1, (11, 13, 15)), (-1, (12, 14, 16))):
        a1 = np.deg2rad(rng.uniform(0, 15))
        a2 = a1 - np.deg2rad(rng.uniform(0, 12))
        k[kn] = k[hp] + thigh * np.array([side * np.sin(a1), np.cos(a1)])
        shin = 0.98 - k[kn][1]  # feet at about 0.98 of the height
        k[an] = k[kn] + shin * np.array([side * np.sin(a2), np.cos(a2)])
    return k, head_c, head_r


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    base = rng.integers(20, 120, size=3)
    img = np.clip(base[None, None, :] + rng.normal(0, 12, size=(h, w, 3)), 0,
                  255).astype(np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        x1, y1 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x2, y2 = x1 + int(rng.integers(5, w // 3)), y1 + int(
            rng.integers(5, h // 3))
        colour = tuple(int(c) for c in rng.integers(0, 160, size=3))
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, -1)
    return img


def _draw_person(img, rng, joints, vis, head_c, head_r, height):
    thick = max(1, int(round(height / 45)))
    pt = lambda p: (int(round(p[0])), int(round(p[1])))  # noqa: E731
    for (a, b), group in _LIMBS:
        cv2.line(img, pt(joints[a]), pt(joints[b]), _COLOURS[group], thick,
                 cv2.LINE_AA)
    neck = (joints[5] + joints[6]) / 2
    cv2.line(img, pt(neck), pt(head_c + np.array([0, head_r])),
             _COLOURS['torso'], thick, cv2.LINE_AA)
    cv2.circle(img, pt(head_c), max(2, int(round(head_r))), _COLOURS['head'],
               thick, cv2.LINE_AA)
    dot = max(1, thick)
    for i, (p, v) in enumerate(zip(joints, vis)):
        if v != 2:
            continue
        if i < 5:
            colour = (255, 255, 255) if i == 0 else (_COLOURS['left'] if i in (
                1, 3) else _COLOURS['right'])
            cv2.circle(img, pt(p), max(1, dot - 1 if i else dot), colour, -1)
        else:
            cv2.circle(img, pt(p), dot + 1, (0, 0, 230), -1)
    # occluders over the joints marked v == 1
    half = max(2, int(round(0.05 * height)))
    for p, v in zip(joints, vis):
        if v == 1:
            colour = tuple(int(c) for c in rng.integers(40, 200, size=3))
            x, y = pt(p)
            cv2.rectangle(img, (x - half, y - half), (x + half, y + half),
                          colour, -1)


def _make_split(root: str, split: str, num_images: int, img_size, rng,
                two_person_prob: float, occlusion_prob: float,
                unlabelled_face_prob: float) -> Dict:
    w, h = img_size
    img_dir = osp.join(root, 'images', split)
    os.makedirs(img_dir, exist_ok=True)
    images, annotations = [], []
    ann_id = ID_OFFSET[split]
    for i in range(num_images):
        img_id = ID_OFFSET[split] + i + 1
        file_name = f'{img_id:012d}.jpg'
        img = _background(rng, w, h)
        num_people = 2 if rng.random() < two_person_prob else 1
        for p in range(num_people):
            # each person stands in its own vertical strip of the image
            x0, strip = p * w / num_people, w / num_people
            unit, head_c, head_r = _pose(rng)
            half_w = max(np.abs(unit[:, 0]).max(), head_r) + 0.02
            max_height = min(0.95 * h, 0.95 * strip / (2 * half_w))
            height = rng.uniform(0.55, 1.0) * max_height
            cx = rng.uniform(x0 + half_w * height,
                             x0 + strip - half_w * height)
            top = rng.uniform(0.02 * h, h - 0.99 * height)
            offset = np.array([cx, top])
            joints = unit * height + offset
            hc, hr = head_c * height + offset, head_r * height

            vis = np.full(17, 2, dtype=np.int64)
            vis[rng.random(17) < occlusion_prob] = 1
            face = np.array(_EYE_EAR)
            vis[face[rng.random(len(face)) < unlabelled_face_prob]] = 0
            _draw_person(img, rng, joints, vis, hc, hr, height)

            pts = np.vstack([joints, hc - (0, hr), hc - (hr, 0), hc + (hr, 0)])
            margin = 0.05 * height
            x1, y1 = np.maximum(pts.min(0) - margin, 0)
            x2, y2 = np.minimum(pts.max(0) + margin, (w, h))
            bw, bh = x2 - x1, y2 - y1
            kpts = np.concatenate([np.round(joints, 2), vis[:, None]], 1)
            kpts[vis == 0] = 0
            ann_id += 1
            annotations.append(
                dict(
                    id=ann_id,
                    image_id=img_id,
                    category_id=1,
                    keypoints=[
                        float(v) if j % 3 != 2 else int(v)
                        for j, v in enumerate(kpts.reshape(-1))
                    ],
                    num_keypoints=int((vis > 0).sum()),
                    bbox=[round(float(v), 2) for v in (x1, y1, bw, bh)],
                    area=round(float(0.53 * bw * bh), 2),
                    iscrowd=0,
                    segmentation=[]))
        cv2.imwrite(
            osp.join(img_dir, file_name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append(
            dict(id=img_id, file_name=file_name, width=w, height=h, license=1))
    coco = dict(
        info=dict(
            description='synthetic stick-figure COCO keypoints',
            version='1.0',
            year=2024),
        licenses=[dict(id=1, name='none', url='')],
        images=images,
        annotations=annotations,
        categories=[PERSON_CATEGORY])
    ann_file = osp.join(root, 'annotations', f'person_keypoints_{split}.json')
    os.makedirs(osp.dirname(ann_file), exist_ok=True)
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return dict(
        ann_file=ann_file,
        img_dir=img_dir,
        num_images=len(images),
        num_instances=len(annotations))


def make_synthetic_coco_keypoints(root: str,
                                  num_train: int = 8,
                                  num_val: int = 4,
                                  img_size: Sequence[int] = (192, 144),
                                  seed: int = 0,
                                  two_person_prob: float = 0.4,
                                  occlusion_prob: float = 0.08,
                                  unlabelled_face_prob: float = 0.2) -> Dict:
    """Write the data set described in this module's docstring under root.

    Args:
        root: output folder (created if missing).
        num_train, num_val: number of images of each split.
        img_size: (width, height) of every image, in pixels.
        seed: the random seed; the output is a function of all arguments.
        two_person_prob: chance of an image holding two people, not one.
        occlusion_prob: chance of a keypoint being occluded (v == 1).
        unlabelled_face_prob: chance of an eye/ear being unlabelled (v == 0).

    Returns:
        dict with ``root`` and, per split name, a dict of ``ann_file``
        (absolute path), ``img_dir``, ``num_images`` and ``num_instances``.
    """
    w, h = (int(v) for v in img_size)
    if w < 32 or h < 32:
        raise ValueError(f'img_size {img_size} is too small (min 32 x 32)')
    out = dict(root=osp.abspath(root))
    for index, (split, num) in enumerate(zip(SPLITS, (num_train, num_val))):
        rng = np.random.default_rng([seed, index])
        out[split] = _make_split(out['root'], split, num, (w, h), rng,
                                 two_person_prob, occlusion_prob,
                                 unlabelled_face_prob)
    return out
