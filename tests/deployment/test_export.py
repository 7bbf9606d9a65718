"""mmext_pixel.deployment.export: the metadata contract, Gated-SCNN's Canny
input, checkpoints and the errors. The command line:
tests/tools/test_pytorch2onnx.py; the parity measure and verification:
test_verify.py."""
import dataclasses
import json
import os.path as osp

import numpy as np
import pytest
import torch

from conftest import DEMO_CONFIG, REPO_ROOT, import_deploy_package
from mmext_pixel.deployment import export_metadata, export_onnx, verify_onnx
from mmext_pixel.deployment.verify import runtime_inputs, sample_images
from mmext_pixel.utils.checkpoint_fit import CheckpointError
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import load_config

onnx = import_deploy_package('onnx')
ort = import_deploy_package('onnxruntime')
runtime = import_deploy_package('mmext_pixel_runtime')

SPNET = osp.join(REPO_ROOT, 'configs', 'spnet',
                 'spnet_r50-d8_4xb4-152k_ade20k-480x480.py')
GSCNN = osp.join(REPO_ROOT, 'configs', 'gscnn',
                 'gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py')
POSE = osp.join(REPO_ROOT, 'configs', 'gsto_pose',
                'td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py')
SMALL_RESNET = {
    'model.backbone.base_channels': 8,
    'model.backbone.stem_channels': 16,
    'model.decode_head.channels': 16,
}
SMALL_SPNET = {
    **SMALL_RESNET, 'model.decode_head.in_channels': 256,
    'model.decode_head.mid_channels': 64,
    'model.auxiliary_head': None
}
SMALL_GSCNN = {
    **SMALL_RESNET, 'model.decode_head.in_channels': [16, 32, 64, 128, 256]
}


def test_slide_config_metadata():
    torch.manual_seed(0)
    model = build_model(SPNET, None, SMALL_SPNET)
    meta = export_metadata(model, (480, 480), False, 17)
    assert meta['config'] == SPNET
    assert meta['test_mode'] == 'slide'
    assert meta['crop_size'] == [480, 480] and meta['stride'] == [320, 320]
    assert meta['test_resize'] == dict(scale=[512, 512], keep_ratio=True)
    assert meta['align_corners'] is True
    assert meta['num_classes'] == 150 == len(meta['classes'])
    from mmseg.datasets import ADE20KDataset
    assert meta['classes'] == list(ADE20KDataset.METAINFO['classes'])
    assert meta['palette'] == [
        list(c) for c in ADE20KDataset.METAINFO['palette']
    ]
    assert json.loads(json.dumps(meta)) == meta


def test_pose_metadata_and_heatmaps(tmp_path):
    torch.manual_seed(0)
    widths = {
        f'model.backbone.extra.stage{n}.num_channels':
        tuple(4 * 2**i for i in range(n))
        for n in (2, 3, 4)
    }
    model = build_model(POSE, None, {
        **widths, 'model.head.in_channels': (4, 8, 16, 32)
    })
    out = str(tmp_path / 'pose.onnx')
    meta = export_onnx(model, None, (64, 48), out, dynamic=False)
    assert meta['task'] == 'pose' and meta['outputs'] == ['heatmaps']
    assert meta['input_size'] == [192, 256]
    assert meta['heatmap_size'] == [48, 64]
    assert 'classes' not in meta and 'canny' not in meta
    result = verify_onnx(model, out, meta, (64, 48))
    assert result['ok'] and result['heatmaps']['argmax_agreement'] == 1.0
    session, feeds = runtime_inputs(out, meta, sample_images((64, 48)))
    (heatmaps, ) = session.run(None, feeds)
    assert heatmaps.shape == (1, 17, 16, 12)


@pytest.fixture(scope='module')
def gscnn():
    torch.manual_seed(0)
    return build_model(GSCNN, None, SMALL_GSCNN)


def test_gscnn_canny_is_a_graph_input(gscnn, tmp_path, monkeypatch):
    out = str(tmp_path / 'gscnn.onnx')
    meta = export_onnx(gscnn, None, (64, 96), out, dynamic=True)
    assert meta['inputs'] == ['input', 'canny']
    assert meta['outputs'] == ['seg_logits', 'edge']
    assert meta['canny']['low'] == 10 and meta['canny']['high'] == 100
    assert meta['canny']['mode'] == 'image'
    session = ort.InferenceSession(out)
    assert [i.name for i in session.get_inputs()] == ['input', 'canny']
    _, feeds = runtime_inputs(out, meta, sample_images((64, 96)))
    assert 0 < feeds['canny'].mean() < 0.5 and feeds['canny'].max() == 1
    seg, edge = session.run(None, feeds)
    assert seg.shape == (1, 19, 64, 96) and edge.shape == (1, 1, 64, 96)
    # another image's Canny map changes the outputs: nothing is frozen
    _, fives = runtime_inputs(out, meta, sample_images((64, 96), seed=5))
    other = dict(feeds, canny=fives['canny'])
    seg2, edge2 = session.run(None, other)
    assert np.abs(seg2 - seg).max() > 1e-4
    # the shape stream (edge logits) is computed before the Canny fusion
    np.testing.assert_array_equal(edge2, edge)
    result = verify_onnx(gscnn, out, meta, (64, 96))
    assert result['ok'], result
    # verification feeds the runtime's Canny input: the other mode's map
    # there makes the logits differ from PyTorch's
    canny_input = runtime.segmenter.canny_input

    def other_mode(x, model_meta):
        canny = dataclasses.replace(model_meta.canny, mode='official')
        return canny_input(x, dataclasses.replace(model_meta, canny=canny))

    monkeypatch.setattr(runtime.segmenter, 'canny_input', other_mode)
    result = verify_onnx(gscnn, out, meta, (64, 96))
    assert not result['ok']
    assert not result['seg_logits']['within_tolerance']
    # the shape stream does not see the Canny map
    assert result['edge']['within_tolerance']


@pytest.mark.parametrize('mode', ['image', 'official'])
def test_canny_input_is_what_the_segmentor_computes(gscnn, mode):
    """The runtime's Canny input, from the metadata the export writes, is
    ``GatedSCNN.image_gradient`` of the same normalised batch."""
    gscnn.gradient_mode = mode
    try:
        meta = runtime.metadata.to_model_meta(
            export_metadata(gscnn, (48, 80), True, 17))
        x = np.concatenate([
            runtime.segmenter.normalise(img, meta.preprocess)
            for img in sample_images((48, 80), batch_size=2, seed=3)
        ])
        expected = gscnn.image_gradient(torch.from_numpy(x))
    finally:
        gscnn.gradient_mode = 'image'
    canny = runtime.segmenter.canny_input(x, meta)
    np.testing.assert_array_equal(canny, expected.numpy())
    assert canny.max() == (255 if mode == 'official' else 1)


def test_checkpoint_weights_and_dataset_meta(gscnn, tmp_path):
    ckpt = str(tmp_path / 'gscnn.pth')
    classes = [f'c{i}' for i in range(19)]
    palette = [[i, 2 * i, 3 * i] for i in range(19)]
    torch.save(
        dict(
            state_dict=gscnn.state_dict(),
            meta=dict(dataset_meta=dict(classes=classes, palette=palette))),
        ckpt)
    model = build_model(GSCNN, ckpt, SMALL_GSCNN)
    for key, value in gscnn.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    meta = export_metadata(model, (64, 96), True, 17)
    assert meta['classes'] == classes and meta['palette'] == palette
    with pytest.raises(CheckpointError, match='missing.pth'):
        build_model(GSCNN, str(tmp_path / 'missing.pth'), SMALL_GSCNN)
    # weights of another width do not load silently
    with pytest.raises(CheckpointError, match='gscnn.pth does not fit'):
        build_model(GSCNN, ckpt, {
            **SMALL_GSCNN, 'model.decode_head.channels': 8
        })


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        build_model(str(tmp_path / 'nope.py'))
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        export_onnx(DEMO_CONFIG, None, (0, 64), str(tmp_path / 'a.onnx'))
    model = torch.nn.Conv2d(3, 3, 1)
    with pytest.raises(ValueError, match='model.cfg'):
        export_onnx(model, None, (64, 64), str(tmp_path / 'a.onnx'))
    # a model without our metadata, for the runtime's reader
    plain = str(tmp_path / 'plain.onnx')
    torch.onnx.export(model, (torch.zeros(1, 3, 4, 4), ), plain, dynamo=False)
    with pytest.raises(
            runtime.InferenceError,
            match="plain.onnx: no 'mmext_pixel' metadata"):
        runtime.read_metadata(plain)
    assert [i.shape for i in sample_images((20, 30), 2)] == [(20, 30, 3)] * 2


def test_a_config_builds_more_than_once():
    cfg = load_config(SPNET)
    # no cfg options (those are merged into a copy): the model config itself
    models = [build_model(cfg) for _ in range(2)]
    assert all(m.config_path == cfg.filename for m in models)
    assert cfg.model.backbone.get('pretrained') is None


def test_batch_norm_is_folded_into_the_convolutions(tmp_path):
    """The benchmark's account of onnxruntime's time relies on this: the
    exported graph has one Conv per convolution of the model and no
    BatchNormalization left to run."""
    model = build_model(DEMO_CONFIG)
    out = str(tmp_path / 'model.onnx')
    export_onnx(model, None, (64, 96), out)
    ops = [node.op_type for node in onnx.load(out).graph.node]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [
        m for m in model.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert len(norms) > 50
    assert 'BatchNormalization' not in ops
    assert ops.count('Conv') == len(convs)
