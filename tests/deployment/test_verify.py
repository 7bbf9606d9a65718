"""mmext_pixel.deployment.verify: the parity measure, its report, and
verification through the runtime's own preprocessing and metadata reader
(a runtime broken on purpose fails it)."""
import dataclasses

import numpy as np
import pytest
import torch

from conftest import DEMO_CONFIG, import_deploy_package
from mmext_pixel.utils.model_builder import build_model

import_deploy_package('onnx')
import_deploy_package('onnxruntime')
runtime = import_deploy_package('mmext_pixel_runtime')

from mmext_pixel.deployment import export_onnx, verify  # noqa: E402

compare_outputs, format_check = verify.compare_outputs, verify.format_check
second_shape, verify_onnx = verify.second_shape, verify.verify_onnx


@pytest.fixture(scope='module')
def demo_export(tmp_path_factory):
    """The demo HRNet (random weights) exported at 64x96, fixed size."""
    torch.manual_seed(0)
    model = build_model(DEMO_CONFIG)
    out = str(tmp_path_factory.mktemp('verify') / 'demo.onnx')
    return model, out, export_onnx(model, None, (64, 96), out)


def test_the_export_as_written_verifies(demo_export):
    result = verify_onnx(*demo_export, (64, 96))
    assert result['ok'], result
    assert result['seg_logits']['max_abs_diff'] <= 1e-4
    assert format_check(result).splitlines()[0] == 'input 64x96, batch 1: OK'


def test_a_wrong_mean_in_the_runtime_fails(demo_export, monkeypatch):
    normalise = runtime.segmenter.normalise

    def wrong_mean(img, pre):
        return normalise(img, dataclasses.replace(pre, mean=(120., ) * 3))

    monkeypatch.setattr(runtime.segmenter, 'normalise', wrong_mean)
    result = verify_onnx(*demo_export, (64, 96))
    assert not result['ok']
    assert not result['seg_logits']['within_tolerance']
    assert result['seg_logits']['max_abs_diff'] > 1e-3
    first = format_check(result).splitlines()[0]
    assert first == (
        'input 64x96, batch 1: FAILED: seg_logits of ONNX Runtime on the '
        "runtime's inputs differ from PyTorch beyond 0.0001 (1e-05 relative "
        'where |torch| > 10) or in an argmax outside ties')


def test_a_wrong_channel_order_in_the_metadata_reader_fails(
        demo_export, monkeypatch):
    to_model_meta = runtime.metadata.to_model_meta

    def flipped(meta):
        model_meta = to_model_meta(meta)
        pre = dataclasses.replace(model_meta.preprocess, bgr_to_rgb=False)
        return dataclasses.replace(model_meta, preprocess=pre)

    # the Segmenter reads the metadata through the segmenter module's name
    monkeypatch.setattr(runtime.segmenter, 'to_model_meta', flipped)
    result = verify_onnx(*demo_export, (64, 96))
    assert not result['ok'] and 'FAILED' in format_check(result)


def test_format_check():
    ok = dict(
        shape=[64, 96],
        batch_size=2,
        ok=True,
        seg_logits=dict(
            max_abs_ref=12.5,
            max_abs_diff=2e-6,
            max_rel_diff=1e-7,
            within_tolerance=True,
            argmax_agreement=0.999,
            argmax_disagreements=0))
    assert format_check(ok).splitlines() == [
        'input 64x96, batch 2: OK',
        '  seg_logits: max |torch| 12.5, max abs diff 2e-06, max rel diff '
        '(|torch| > 10) 1e-07, argmax agreement 99.9000% (0 outside ties)'
    ]
    failed = dict(
        shape=[81, 121],
        batch_size=1,
        ok=False,
        edge=dict(
            max_abs_ref=3.0,
            max_abs_diff=0.5,
            max_rel_diff=0.0,
            within_tolerance=False))
    assert format_check(failed).splitlines() == [
        'input 81x121, batch 1: FAILED: edge of ONNX Runtime on the '
        "runtime's inputs differ from PyTorch beyond 0.0001 (1e-05 relative "
        'where |torch| > 10) or in an argmax outside ties',
        '  edge: max |torch| 3, max abs diff 0.5, max rel diff (|torch| > '
        '10) 0'
    ]


def test_compare_measures_and_flags_differences():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(1, 4, 8, 8)).astype(np.float32)
    assert compare_outputs(ref, ref.copy())['within_tolerance']
    result = compare_outputs(ref, ref + 2e-4)
    assert not result['within_tolerance']
    assert result['max_abs_diff'] == pytest.approx(2e-4, rel=1e-2)
    # relative bound where logits exceed 10: 1e-5 of 100 is 1e-3
    big = ref * 100
    assert compare_outputs(big, big * (1 + 5e-6))['within_tolerance']
    result = compare_outputs(big, big * (1 + 5e-5))
    assert not result['within_tolerance']
    assert result['max_rel_diff'] == pytest.approx(5e-5, rel=1e-2)
    # an argmax flip is counted unless the top two are within the diff
    flipped = ref.copy()
    top = ref.argmax(1)[0, 0, 0]
    flipped[0, top, 0, 0] -= 10
    result = compare_outputs(ref, flipped)
    assert result['argmax_agreement'] == 63 / 64
    assert result['argmax_disagreements'] == 1
    tie = ref.copy()
    tie[0, :2, 1, 1] = 1.0
    tie2 = tie.copy()
    tie2[0, 0, 1, 1] -= 1e-6
    tie2[0, 2:, 1, 1] = -5
    tie[0, 2:, 1, 1] = -5
    result = compare_outputs(tie, tie2)
    assert result['argmax_agreement'] == 63 / 64
    assert result['argmax_disagreements'] == 0


def test_second_shape_is_not_a_multiple_of_32():
    for shape in [(64, 96), (512, 1024), (480, 480), (256, 192), (63, 95)]:
        other = second_shape(shape)
        assert all(o % 32 and o % 8 and o > s for o, s in zip(other, shape))


def test_parity_where_logits_exceed_10(tmp_path):
    # random classifiers give logits far below 10; scaled up, the relative
    # bound is what is checked
    torch.manual_seed(0)
    model = build_model(DEMO_CONFIG)
    with torch.no_grad():
        model.decode_head.conv_seg.weight.mul_(2000)
    out = str(tmp_path / 'big.onnx')
    meta = export_onnx(model, None, (64, 96), out)
    result = verify_onnx(model, out, meta, (64, 96))
    logits = result['seg_logits']
    assert logits['max_abs_ref'] > 10 and logits['max_rel_diff'] > 0
    assert logits['max_rel_diff'] <= 1e-5 and result['ok'], result
