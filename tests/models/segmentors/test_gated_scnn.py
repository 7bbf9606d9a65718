"""GatedSCNN segmentor: the image gradient in every path of mmseg's
EncoderDecoder, and the edge map in the predictions."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from helpers.gscnn_tiny import tiny_gscnn_cfg
from mmext_pixel.models.segmentors.gated_scnn import official_uint8


def edge_image(h=48, w=64, seed=0):
    """A BGR uint8 image with rectangles (clear Canny edges) and noise."""
    rng = np.random.default_rng(seed)
    img = rng.integers(90, 110, (h, w, 3)).astype(np.uint8)
    img[8:30, 10:40] = (30, 200, 60)
    img[20:44, 36:60] = (220, 40, 180)
    return img


def preprocess(model, imgs, with_labels=False):
    data = dict(
        inputs=[torch.from_numpy(i).permute(2, 0, 1) for i in imgs],
        data_samples=[])
    for img in imgs:
        s = SegDataSample(
            metainfo=dict(
                img_shape=img.shape[:2],
                ori_shape=img.shape[:2],
                pad_shape=img.shape[:2],
                padding_size=[0, 0, 0, 0]))
        if with_labels:
            label = np.zeros(img.shape[:2], np.int64)
            label[8:30, 10:40] = 1
            label[20:44, 36:60] = 2
            s.gt_sem_seg = PixelData(data=torch.from_numpy(label)[None])
            edge = np.zeros(img.shape[:2], np.uint8)
            edge[6:10] = 1
            s.gt_edge_map = PixelData(data=torch.from_numpy(edge)[None])
        data['data_samples'].append(s)
    return model.data_preprocessor(data, training=False)


@pytest.fixture(scope='module')
def model():
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(tiny_gscnn_cfg()).eval()


def test_image_gradient_is_canny_of_the_loaded_image(model):
    imgs = [edge_image(), edge_image(seed=1)]
    data = preprocess(model, imgs)
    grad = model.image_gradient(data['inputs'])
    assert grad.shape == (2, 1, 48, 64)
    for img, g in zip(imgs, grad):
        rgb = np.ascontiguousarray(img[..., ::-1])
        expected = cv2.Canny(rgb, 10, 100).astype(np.float32) / 255
        np.testing.assert_array_equal(g[0].numpy(), expected)
    assert 0 < grad.mean() < 0.5 and grad.max() == 1


def test_official_gradient_mode():
    assert official_uint8(np.array([-2.1, -1.5, -0.3, 0.7, 2.6, 255.9
                                    ])).tolist() == [254, 255, 0, 0, 2, 255]
    model = MODELS.build(tiny_gscnn_cfg(gradient_mode='official'))
    data = preprocess(model, [edge_image()])
    x = data['inputs']
    grad = model.image_gradient(x)
    arr = x[0].permute(1, 2, 0).numpy()
    cast = np.mod(np.trunc(arr).astype(np.int64), 256).astype(np.uint8)
    expected = cv2.Canny(cast, 10, 100).astype(np.float32)  # 0/255
    np.testing.assert_array_equal(grad[0, 0].numpy(), expected)
    with pytest.raises(ValueError, match='gradient_mode'):
        MODELS.build(tiny_gscnn_cfg(gradient_mode='sobel'))


def test_every_path_gets_the_gradient(model):
    imgs = [edge_image()]
    data = preprocess(model, imgs)
    inputs, samples = data['inputs'], data['data_samples']
    with torch.no_grad():
        tensor = model(inputs, samples, mode='tensor')
        assert tensor.shape == (1, 3, 12, 16)
        # predict writes into the data samples: keep copies
        whole = model.predict(inputs, samples)[0].clone()
        model.test_cfg = ConfigDict(
            mode='slide', crop_size=(32, 32), stride=(16, 16))
        try:
            slide = model.predict(inputs, samples)[0].clone()
        finally:
            model.test_cfg = ConfigDict(mode='whole')
    for result in (whole, slide):
        assert result.pred_sem_seg.shape == (48, 64)
        assert result.seg_logits.data.shape == (3, 48, 64)
        edge = result.pred_edge_map.data
        assert edge.shape == (1, 48, 64)
        assert 0 <= edge.min() and edge.max() <= 1
    # the stored edge map is the head's edge probability
    with torch.no_grad():
        direct = model.edge_map(inputs)[0]

    torch.testing.assert_close(whole.pred_edge_map.data, direct)
    # slide inference stitches windows: close to, but not the whole view
    diff = (slide.pred_edge_map.data - direct).abs()
    assert 0 < diff.max() < 0.5
    assert model.out_channels == 3 and not model._with_edge
    # without data samples (inference on a bare tensor)
    with torch.no_grad():
        bare = model.predict(inputs)[0]
    assert bare.pred_edge_map.data.shape == (1, 48, 64)


def test_flipped_view_edge_map_is_mirrored_back(model):
    img = edge_image()
    data = preprocess(model, [img, np.ascontiguousarray(img[:, ::-1])])
    data['data_samples'][1].set_metainfo(
        dict(flip=True, flip_direction='horizontal'))
    with torch.no_grad():
        a, b = model.predict(data['inputs'], data['data_samples'])
    # the network is not flip-equivariant, but the mirrored-back edge map
    # must agree far better with the plain one than the unmirrored one
    ea, eb = a.pred_edge_map.data, b.pred_edge_map.data
    assert (ea - eb).abs().mean() < (ea - eb.flip(-1)).abs().mean()


def test_loss_path(model):
    model.train()
    try:
        data = preprocess(model, [edge_image(), edge_image(seed=2)], True)
        losses = model(data['inputs'], data['data_samples'], mode='loss')
    finally:
        model.eval()
    assert {
        'decode.loss_ce', 'decode.loss_edge', 'decode.loss_att',
        'decode.loss_dual'
    } <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
