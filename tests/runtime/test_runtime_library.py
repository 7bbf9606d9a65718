"""mmext_pixel_runtime as a library: Segmenter's inputs and outputs, the
typed metadata, the overlay, and load-time checks of the metadata."""
import json

import cv2
import numpy as np
import pytest

from conftest import import_deploy_package

onnx = import_deploy_package('onnx')
runtime = import_deploy_package('mmext_pixel_runtime')


def val_images(root):
    return sorted((root / 'urbanisation' / 'x' / 'val').glob('*.png'))


@pytest.mark.slow
def test_predict_inputs_and_outputs(trained_tiny_onnx, synthetic_root):
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    meta = model.meta
    assert isinstance(meta, runtime.ModelMeta)
    assert meta.classes == ('background', 'built-up', 'road')
    assert meta.palette == ((34, 139, 34), (220, 20, 60), (128, 128, 128))
    assert meta.num_classes == 3 and meta.test_mode == 'whole'
    assert isinstance(meta.preprocess, runtime.Preprocess)
    assert meta.preprocess.bgr_to_rgb is True
    path = val_images(synthetic_root)[0]
    img = cv2.imread(str(path))
    labels = model.predict(img)
    assert labels.dtype == np.uint8 and labels.shape == img.shape[:2]
    # a path, a str and the encoded bytes are the same image
    for same in (path, str(path), path.read_bytes()):
        np.testing.assert_array_equal(model.predict(same), labels)
    labels2, logits = model.predict(img, return_logits=True)
    np.testing.assert_array_equal(labels2, labels)
    assert logits.shape == (3, ) + img.shape[:2]
    np.testing.assert_array_equal(logits.argmax(0), labels)
    # trained: the label map is the ground truth's almost everywhere
    gt = cv2.imread(str(path).replace('/x/', '/y/'), cv2.IMREAD_UNCHANGED)
    assert (labels == gt).mean() > 0.8
    shares = model.class_shares(labels)
    assert shares.shape == (3, ) and shares.sum() == pytest.approx(1)
    assert shares[1] == pytest.approx((labels == 1).mean())


@pytest.mark.slow
def test_slide_model(trained_tiny_onnx, synthetic_root):
    whole = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    slide = runtime.Segmenter(trained_tiny_onnx['slide'], threads=1)
    assert slide.meta.test_mode == 'slide'
    assert slide.meta.crop_size == (40, 40) and slide.meta.stride == (24, 24)
    img = cv2.imread(str(val_images(synthetic_root)[1]))
    # the same weights, seen through overlapping crops: close, not equal
    agree = (slide.predict(img) == whole.predict(img)).mean()
    assert agree > 0.8


@pytest.mark.slow
def test_draw_overlay(trained_tiny_onnx, synthetic_root):
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    img = cv2.imread(str(val_images(synthetic_root)[0]))
    labels = model.predict(img)
    out = runtime.draw_overlay(
        img, labels, model.meta.classes, model.meta.palette, with_labels=False)
    assert out.shape == img.shape and out.dtype == np.uint8
    for i, rgb in enumerate(model.meta.palette):
        mask = labels == i
        if mask.any():
            want = (img[mask] * 0.5 + np.array(rgb[::-1]) * 0.5).astype(
                np.uint8)
            assert np.abs(out[mask].astype(int) - want).max() <= 1


def test_bad_model_files(tmp_path):
    missing = tmp_path / 'missing.onnx'
    with pytest.raises(runtime.InferenceError, match='no such model file'):
        runtime.Segmenter(missing)
    junk = tmp_path / 'junk.onnx'
    junk.write_bytes(b'not a model')
    with pytest.raises(
            runtime.InferenceError,
            match=f'{junk}: onnxruntime cannot load it'):
        runtime.Segmenter(junk)


@pytest.mark.slow
def test_class_count_checked_at_load(trained_tiny_onnx, tmp_path):
    proto = onnx.load(trained_tiny_onnx['whole'])
    entry = [e for e in proto.metadata_props if e.key == 'mmext_pixel'][0]
    meta = json.loads(entry.value)
    meta['palette'] = meta['palette'] * 2
    entry.value = json.dumps(meta)
    edited = str(tmp_path / 'six_colours.onnx')
    onnx.save(proto, edited)
    with pytest.raises(runtime.InferenceError) as info:
        runtime.read_metadata(edited)
    assert str(info.value).startswith(
        f'{edited}: the metadata says 6 palette colours, but the graph')
