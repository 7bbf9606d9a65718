"""tools/deployment/onnx_infer.py: label maps equal to mmseg's
``inference_model`` on the same image file, with torch, mmcv, mmengine,
mmseg and mmext_pixel blocked from import in the tool's process.

Small models (reduced widths) exported from our configs, 70x90 images with a
test resize: a whole-mode HRNet (resize and size_divisor padding), a
slide-mode DGCN (crops and overlaps, downscaling resize) and a Gated-SCNN
(Canny input, 'image' and 'official' modes).
"""
import copy
import json
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmseg.apis import inference_model, init_model
from mmseg.visualization import SegLocalVisualizer

from conftest import REPO_ROOT, import_deploy_package, run_tool
from helpers.import_blocker import write_import_blocker
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import load_config

pytestmark = pytest.mark.slow  # every test here starts a process

onnx = import_deploy_package('onnx')
runtime = import_deploy_package('mmext_pixel_runtime')
# mmext_pixel.deployment needs the runtime
export_onnx = import_deploy_package('mmext_pixel.deployment').export_onnx
TOOL = osp.join(REPO_ROOT, 'tools', 'deployment', 'onnx_infer.py')
# the tool runs where none of these can be imported
BLOCKED = ('torch', 'torchvision', 'mmcv', 'mmengine', 'mmseg', 'mmdet',
           'mmpose', 'mmext_pixel')


@pytest.fixture(scope='module')
def blocker(tmp_path_factory):
    """A PYTHONPATH folder whose sitecustomize blocks ``BLOCKED``."""
    return write_import_blocker(tmp_path_factory.mktemp('blocker'), BLOCKED)


def run_blocked(blocker, *args, check=True):
    """The tool in a fresh interpreter that cannot import ``BLOCKED``;
    returns the process (``stdout``: stdout and stderr)."""
    return run_tool([TOOL, *args],
                    cwd=REPO_ROOT,
                    timeout=300,
                    check=check,
                    extra_paths=[blocker])


def test_blocker_blocks(blocker):
    proc = run_tool(['-c', 'import numpy, cv2, onnxruntime; import torch'],
                    cwd=REPO_ROOT,
                    check=False,
                    extra_paths=[blocker])
    assert proc.returncode != 0
    assert "No module named 'torch' (blocked)" in proc.stdout


# --- models: small widths, a test resize, randomised weights ---------------

BN = dict(type='BN', requires_grad=True)
RESIZE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize'),
    dict(type='PackSegInputs')
]


def pipeline(scale, keep_ratio):
    steps = copy.deepcopy(RESIZE)
    steps[1].update(scale=scale, keep_ratio=keep_ratio)
    return steps


def hrnet_whole():
    """Whole mode; 70x90 -> 64x82 (keep_ratio), padded to 64x96."""
    cfg = load_config(
        osp.join(REPO_ROOT, 'configs', 'hrnet',
                 'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py'))
    cfg.test_pipeline = pipeline((96, 64), True)
    cfg.model.data_preprocessor.test_cfg = dict(size_divisor=32)
    return cfg


def dgcn_slide():
    """Slide mode (64x64 crops every 40 px); 70x90 -> 90x116."""
    cfg = load_config(
        osp.join(REPO_ROOT, 'configs', 'dgcn',
                 'dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py'))
    model = cfg.model
    model.backbone.update(norm_cfg=BN, base_channels=4, stem_channels=8)
    model.decode_head.update(norm_cfg=BN, in_channels=128, channels=32)
    model.auxiliary_head.update(norm_cfg=BN, in_channels=64, channels=16)
    model.test_cfg = dict(mode='slide', crop_size=(64, 64), stride=(40, 40))
    cfg.test_pipeline = pipeline((120, 90), True)
    return cfg


def gscnn(mode):
    """Gated-SCNN (R-18-like trunk, 8 base channels); 70x90 -> 60x80."""
    cfg = load_config(
        osp.join(REPO_ROOT, 'configs', 'gscnn',
                 'gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py'))
    model = cfg.model
    model.gradient_mode = mode
    model.backbone.update(
        depth=18, stem_channels=16, base_channels=8, norm_cfg=BN)
    model.decode_head.update(
        in_channels=[16, 8, 16, 32, 64], channels=16, norm_cfg=BN)
    cfg.test_pipeline = pipeline((80, 60), False)
    return cfg


# name: (config, export shape, dynamic)
CASES = {
    'hrnet_whole': (hrnet_whole, (64, 64), True),
    'dgcn_slide': (dgcn_slide, (64, 64), False),
    'gscnn_image': (lambda: gscnn('image'), (60, 80), False),
    'gscnn_official': (lambda: gscnn('official'), (60, 80), False),
}


def write_image(path, seed, h=70, w=90):
    """Flat colour blocks and noise: edges for Canny, varied logits."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 128.0)
    for _ in range(8):
        y, x = rng.integers(0, h - 10), rng.integers(0, w - 10)
        img[y:y + rng.integers(5, 30),
            x:x + rng.integers(5, 40)] = rng.integers(0, 256, 3)
    img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255)
    assert cv2.imwrite(str(path), img.astype(np.uint8))
    return str(path)


def randomise(model, img_path):
    """Spread the random model's logits: random BN statistics and affine
    parameters, and a classifier orthogonal to the image's mean feature
    (otherwise one class wins everywhere and the comparison is empty)."""
    gen = torch.Generator().manual_seed(0)
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            n = mod.num_features
            mod.weight.data = torch.rand(n, generator=gen) + 0.5
            mod.bias.data = torch.randn(n, generator=gen) * 0.2
            mod.running_mean = torch.randn(n, generator=gen) * 0.1
            mod.running_var = torch.rand(n, generator=gen) + 0.5
    conv = model.decode_head.conv_seg
    torch.nn.init.normal_(conv.weight, 0, 1, generator=gen)
    feats = []
    hook = conv.register_forward_hook(lambda m, i, o: feats.append(i[0].mean(
        (0, 2, 3))))
    with torch.no_grad():
        inference_model(model, img_path)
    hook.remove()
    mean = torch.stack(feats).mean(0)
    weight = conv.weight.data[:, :, 0, 0]
    weight -= (weight @ mean)[:, None] * mean[None] / (mean @ mean)
    if conv.bias is not None:
        conv.bias.data.zero_()


@pytest.fixture(scope='module')
def export_case(tmp_path_factory):
    """A function giving (name, config, checkpoint, ONNX file, image) of a
    case, each exported once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = _export_case(name, tmp_path_factory)
        return cache[name]

    return get


def _export_case(name, tmp_path_factory):
    make_cfg, shape, dynamic = CASES[name]
    tmp = tmp_path_factory.mktemp(name)
    img = write_image(tmp / 'img.png', seed=0)
    cfg = make_cfg()
    torch.manual_seed(0)
    model = build_model(copy.deepcopy(cfg))
    randomise(model, img)
    ckpt = str(tmp / 'model.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(
                dataset_meta=dict(
                    classes=[f'class {i}' for i in range(model.num_classes)],
                    palette=[[(37 * i) % 256, (91 * i) % 256, (151 * i) % 256]
                             for i in range(model.num_classes)]))), ckpt)
    onnx_file = str(tmp / 'model.onnx')
    export_onnx(copy.deepcopy(cfg), ckpt, shape, onnx_file, dynamic=dynamic)
    return name, cfg, ckpt, onnx_file, img


@pytest.fixture(scope='module', params=sorted(CASES))
def exported(request, export_case):
    return export_case(request.param)


def reference(cfg, ckpt, img):
    """mmseg's inference_model on the image file."""
    model = init_model(copy.deepcopy(cfg), ckpt, device='cpu')
    return model, inference_model(model, img)


def test_matches_inference_model(exported, blocker, tmp_path):
    name, cfg, ckpt, onnx_file, img = exported
    run_blocked(blocker, onnx_file, img, '--out', str(tmp_path / 'out'),
                '--show-dir', str(tmp_path / 'show'))
    model, result = reference(cfg, ckpt, img)
    ref_logits = result.seg_logits.data.numpy()
    ref_labels = result.pred_sem_seg.data[0].numpy()
    assert len(np.unique(ref_labels)) >= 3  # the comparison means something
    labels = cv2.imread(
        str(tmp_path / 'out' / 'img.png'), cv2.IMREAD_UNCHANGED)
    assert labels.dtype == np.uint8 and labels.shape == ref_labels.shape
    # ties aside: pixels whose two best reference logits differ by more than
    # the float32 noise of the two runtimes
    top2 = -np.partition(-ref_logits, 1, axis=0)[:2]
    clear = top2[0] - top2[1] > 1e-4 * max(1, np.abs(ref_logits).max())
    agree = labels == ref_labels
    assert agree[clear].mean() >= 0.999, (name, agree.mean())
    assert clear.mean() > 0.9

    # the same numbers in-process: logits at the original size
    logits = runtime.Segmenter(onnx_file).logits(cv2.imread(img))
    assert logits.shape == ref_logits.shape
    scale = max(1, np.abs(ref_logits).max())
    assert np.abs(logits - ref_logits).max() <= 1e-4 * scale

    # the overlay is SegLocalVisualizer's drawing of the prediction
    visualizer = SegLocalVisualizer(name=f'onnx_infer_{name}', alpha=0.5)
    visualizer.dataset_meta = model.dataset_meta
    visualizer.add_datasample(
        'img', mmcv.imread(img, channel_order='rgb'), result, draw_gt=False)
    overlay = cv2.imread(str(tmp_path / 'show' / 'img.png'))
    np.testing.assert_array_equal(overlay[..., ::-1], visualizer.get_image())


@pytest.fixture(scope='module')
def whole_model(export_case):
    """The dynamic whole-mode HRNet export."""
    return export_case('hrnet_whole')[3]


def test_folder(whole_model, blocker, tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    paths = [
        write_image(folder / f'{n}.png', seed)
        for seed, n in enumerate(['b', 'a'])
    ]
    (folder / 'notes.txt').write_text('not an image')
    proc = run_blocked(blocker, whole_model, str(folder), '--out',
                       str(tmp_path / 'out'))
    assert 'skipped 1 entries that are not image files: notes.txt' \
        in proc.stdout
    assert sorted(p.name
                  for p in (tmp_path / 'out').iterdir()) == ['a.png', 'b.png']
    segmenter = runtime.Segmenter(whole_model)
    for path in paths:
        labels = cv2.imread(
            str(tmp_path / 'out' / osp.basename(path)), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(labels,
                                      segmenter.predict(cv2.imread(path)))
    assert not (tmp_path / 'show').exists()


def test_video(whole_model, blocker, tmp_path):
    src = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(src, cv2.VideoWriter_fourcc(*'MJPG'), 5, (90, 70))
    assert writer.isOpened()
    for seed in range(3):
        writer.write(cv2.imread(write_image(tmp_path / f'{seed}.png', seed)))
    writer.release()
    run_blocked(blocker, whole_model, src, '--out', str(tmp_path / 'out'),
                '--show-dir', str(tmp_path / 'show'))
    # every decoded frame's labels, as the model predicts them in-process
    segmenter = runtime.Segmenter(whole_model)
    cap = cv2.VideoCapture(src)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 3
    names = sorted(p.name for p in (tmp_path / 'out' / 'clip').iterdir())
    assert names == ['000000.png', '000001.png', '000002.png']
    for name, frame in zip(names, frames):
        labels = cv2.imread(
            str(tmp_path / 'out' / 'clip' / name), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(labels, segmenter.predict(frame))
    overlay = cv2.VideoCapture(str(tmp_path / 'show' / 'clip.mp4'))
    assert overlay.get(cv2.CAP_PROP_FRAME_COUNT) == 3
    ok, first = overlay.read()
    assert ok and first.shape == (70, 90, 3)


def edit_metadata(src, dst, edit):
    """Copy an export with its mmext_pixel metadata changed by ``edit``
    (a function of the dict, returning None to drop the entry)."""
    proto = onnx.load(src)
    entries = list(proto.metadata_props)
    del proto.metadata_props[:]
    for entry in entries:
        if entry.key != 'mmext_pixel':
            proto.metadata_props.append(entry)
            continue
        meta = edit(json.loads(entry.value))
        if meta is not None:
            proto.metadata_props.add(key='mmext_pixel', value=json.dumps(meta))
    onnx.save(proto, dst)
    return dst


def error(blocker, *args):
    """The tool's stderr, which must report a failure."""
    proc = run_blocked(blocker, *args, check=False)
    assert proc.returncode != 0, proc.stdout
    assert 'Traceback' not in proc.stdout
    return proc.stdout


def test_unreadable_inputs(whole_model, blocker, tmp_path):
    out = str(tmp_path / 'out')
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG not really')
    assert f'{bad}: not an image in an accepted format (PNG, JPEG' in error(
        blocker, whole_model, str(bad), '--out', out)
    # a broken image in a folder stops the run and is named
    folder = tmp_path / 'folder'
    folder.mkdir()
    write_image(folder / 'a.png', 0)
    (folder / 'b.jpg').write_bytes(b'')
    assert f'{folder / "b.jpg"}: not an image' in error(
        blocker, whole_model, str(folder), '--out', out)
    assert f'{tmp_path / "missing.png"}: no such file' in error(
        blocker, whole_model, str(tmp_path / 'missing.png'), '--out', out)
    video = tmp_path / 'broken.avi'
    video.write_bytes(b'junk')
    assert f'{video}: not a video opencv can open' in error(
        blocker, whole_model, str(video), '--out', out)
    other = tmp_path / 'x.txt'
    other.write_text('x')
    assert f"{other}: unknown file type '.txt'" in error(
        blocker, whole_model, str(other), '--out', out)
    assert 'nothing to write' in error(blocker, whole_model,
                                       str(folder / 'a.png'))


def drop(*keys):
    """A metadata edit removing ``meta[keys[0]][keys[1]]...``."""

    def edit(meta):
        parent = meta
        for key in keys[:-1]:
            parent = parent[key]
        parent.pop(keys[-1])
        return meta

    return edit


def test_model_without_metadata(whole_model, blocker, tmp_path):
    img = write_image(tmp_path / 'img.png', 0)
    out = str(tmp_path / 'out')
    plain = edit_metadata(whole_model, str(tmp_path / 'plain.onnx'),
                          lambda meta: None)
    assert f"{plain}: no 'mmext_pixel' metadata entry" in error(
        blocker, plain, img, '--out', out)
    for key in ('test_mode', 'palette', 'align_corners'):
        edited = edit_metadata(whole_model, str(tmp_path / f'{key}.onnx'),
                               drop(key))
        assert f"{edited}: metadata key '{key}' is missing" in error(
            blocker, edited, img, '--out', out)
    edited = edit_metadata(whole_model, str(tmp_path / 'mean.onnx'),
                           drop('preprocess', 'mean'))
    assert f"{edited}: metadata key 'mean' of \"preprocess\" is missing" \
        in error(blocker, edited, img, '--out', out)
    assert not osp.exists(out)


def test_fixed_size_export_mismatch(export_case, blocker, tmp_path):
    """A fixed-size export cannot take another size: the error says so
    instead of running a wrong graph. (Gated-SCNN's 60x80 export, its test
    resize removed: the 70x90 image goes in at 70x90.)"""

    def no_resize(meta):
        meta['test_resize'] = None
        return meta

    onnx_file = edit_metadata(
        export_case('gscnn_image')[3], str(tmp_path / 'fixed.onnx'), no_resize)
    img = write_image(tmp_path / 'img.png', 0)
    proc = run_blocked(
        blocker, onnx_file, img, '--out', str(tmp_path / 'out'), check=False)
    assert proc.returncode != 0
    assert f'{onnx_file}: the graph takes inputs of H=60, this image ' \
        'needs 70' in proc.stdout
    assert 'export with --dynamic' in proc.stdout
