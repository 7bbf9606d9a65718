"""MultiScaleTileTTAModel against hand computations of the official
multi-scale evaluations: HRNet's ``BaseDataset.multi_scale_inference`` (with
LIP's left/right swap), GSTO's Cityscapes override of it, PyTorch-Encoding's
``MultiEvalModule`` and semseg's ``tool/test.py`` (SPNet), each on a tiny
model, two scales, flip and windows that do not divide the image."""
import math

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.structures import SegDataSample
from torch import nn

from mmext_pixel.models.segmentors import MultiScaleTileTTAModel

NUM_CLASSES = 6
PAIRS = ((1, 2), (3, 4))
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
IMG_H, IMG_W = 37, 53
CROP, STRIDE = (24, 32), (16, 21)  # neither divides the scaled images


class TinySegmentor(BaseModel):
    """A position- and context-dependent segmentor: a strided conv, so a
    window's logits depend on where its borders are, upsampled to the
    window's size as mmseg's ``encode_decode`` does."""

    def __init__(self, align_corners=False):
        super().__init__(
            data_preprocessor=SegDataPreProcessor(
                mean=MEAN, std=STD, bgr_to_rgb=True))
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, NUM_CLASSES, 3, padding=1)
        self.align_corners = align_corners

    def encode_decode(self, inputs, batch_img_metas):
        out = self.conv2(torch.tanh(self.conv1(inputs) * 2)) * 3
        return F.interpolate(
            out,
            batch_img_metas[0]['img_shape'],
            mode='bilinear',
            align_corners=self.align_corners)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.encode_decode(inputs, [dict(img_shape=inputs.shape[-2:])])


def logits_of(model, window):
    return model.encode_decode(window, [dict(img_shape=window.shape[-2:])])


def pad_to(img, size, value):
    """Bottom/right padding of a (1, 3, h, w) image up to ``size``, with
    one value per channel."""
    h, w = img.shape[-2:]
    out = torch.empty(1, 3, max(size[0], h), max(size[1], w))
    out[:] = value.view(1, 3, 1, 1)
    out[:, :, :h, :w] = img
    return out


def black(model):
    pre = model.data_preprocessor
    return (-pre.mean / pre.std).view(3)


# --- HRNet / GSTO (lib/datasets/base_dataset.py, cityscapes.py, lip.py) ---
def hrnet_size(h, w, base, scale):
    longer = int(base * scale + 0.5)
    if h > w:
        return longer, int(w * longer / h + 0.5)
    return int(h * longer / w + 0.5), longer


def hrnet_inference(model, img, flip, pairs=()):
    """exp of the logits, averaged with the mirrored image's."""
    pred = logits_of(model, img)
    if flip:
        mirrored = logits_of(model, img.flip(3))
        swapped = mirrored.clone()
        for a, b in pairs:
            swapped[:, a], swapped[:, b] = mirrored[:, b], mirrored[:, a]
        pred = (pred + swapped.flip(3)) * 0.5
    return pred.exp()


def hrnet_multi_scale(model, img, scales, base, crop, flip, pairs=()):
    _, _, ori_h, ori_w = img.shape
    stride_h, stride_w = int(crop[0] * 2.0 / 3.0), int(crop[1] * 2.0 / 3.0)
    pad = black(model)
    final = torch.zeros(1, NUM_CLASSES, ori_h, ori_w)
    for scale in scales:
        new = F.interpolate(
            img,
            hrnet_size(ori_h, ori_w, base, scale),
            mode='bilinear',
            align_corners=False)
        height, width = new.shape[-2:]
        if max(height, width) <= min(crop):
            preds = hrnet_inference(model, pad_to(new, crop, pad), flip,
                                    pairs)[:, :, :height, :width]
        else:
            if height < crop[0] or width < crop[1]:
                new = pad_to(new, crop, pad)
            new_h, new_w = new.shape[-2:]
            rows = int(np.ceil(1.0 * (new_h - crop[0]) / stride_h)) + 1
            cols = int(np.ceil(1.0 * (new_w - crop[1]) / stride_w)) + 1
            preds = torch.zeros(1, NUM_CLASSES, new_h, new_w)
            count = torch.zeros(1, 1, new_h, new_w)
            for r in range(rows):
                for c in range(cols):
                    h0, w0 = r * stride_h, c * stride_w
                    h1, w1 = min(h0 + crop[0], new_h), min(w0 + crop[1], new_w)
                    tile = new[:, :, h0:h1, w0:w1]
                    if h1 == new_h or w1 == new_w:
                        tile = pad_to(tile, crop, pad)
                    pred = hrnet_inference(model, tile, flip, pairs)
                    preds[:, :, h0:h1, w0:w1] += pred[:, :, :h1 - h0, :w1 - w0]
                    count[:, :, h0:h1, w0:w1] += 1
            preds = (preds / count)[:, :, :height, :width]
        final += F.interpolate(
            preds, (ori_h, ori_w), mode='bilinear', align_corners=False)
    return final


def gsto_cityscapes_multi_scale(model, img, scales, base, crop, flip):
    """GSTO's Cityscapes override: scales <= 1 whole, larger ones in windows
    at a stride of the window, shifted back inside at the border."""
    _, _, ori_h, ori_w = img.shape
    final = torch.zeros(1, NUM_CLASSES, ori_h, ori_w)
    for scale in scales:
        new = F.interpolate(
            img,
            hrnet_size(ori_h, ori_w, base, scale),
            mode='bilinear',
            align_corners=False)
        height, width = new.shape[-2:]
        if scale <= 1.0:
            preds = hrnet_inference(model, new, flip)
        else:
            rows = int(np.ceil(1.0 * (height - crop[0]) / crop[0])) + 1
            cols = int(np.ceil(1.0 * (width - crop[1]) / crop[1])) + 1
            preds = torch.zeros(1, NUM_CLASSES, height, width)
            count = torch.zeros(1, 1, height, width)
            for r in range(rows):
                for c in range(cols):
                    h1 = min(r * crop[0] + crop[0], height)
                    w1 = min(c * crop[1] + crop[1], width)
                    h0, w0 = max(h1 - crop[0], 0), max(w1 - crop[1], 0)
                    pred = hrnet_inference(model, new[:, :, h0:h1, w0:w1],
                                           flip)
                    preds[:, :, h0:h1, w0:w1] += pred
                    count[:, :, h0:h1, w0:w1] += 1
            preds = preds / count
        final += F.interpolate(
            preds, (ori_h, ori_w), mode='bilinear', align_corners=False)
    return final


# --- PyTorch-Encoding (encoding/models/sseg/base.py, MultiEvalModule) ---
def encoding_multi_eval(model, img, scales, base, crop, flip):
    _, _, h, w = img.shape
    stride = int(crop * 2.0 / 3.0)
    pad = black(model)
    up = dict(mode='bilinear', align_corners=True)

    def infer(x):
        out = logits_of(model, x)
        if flip:
            out = out + logits_of(model, x.flip(3)).flip(3)
        return out.exp()

    scores = torch.zeros(1, NUM_CLASSES, h, w)
    for scale in scales:
        long_size = int(math.ceil(base * scale))
        if h > w:
            height, width = long_size, int(1.0 * w * long_size / h + 0.5)
            short_size = width
        else:
            width, height = long_size, int(1.0 * h * long_size / w + 0.5)
            short_size = height
        cur = F.interpolate(img, (height, width), **up)
        if long_size <= crop:
            outputs = infer(pad_to(cur, (crop, crop),
                                   pad))[:, :, :height, :width]
        else:
            padded = pad_to(cur,
                            (crop, crop), pad) if short_size < crop else cur
            ph, pw = padded.shape[-2:]
            h_grids = int(math.ceil(1.0 * (ph - crop) / stride)) + 1
            w_grids = int(math.ceil(1.0 * (pw - crop) / stride)) + 1
            outputs = torch.zeros(1, NUM_CLASSES, ph, pw)
            count = torch.zeros(1, 1, ph, pw)
            for ih in range(h_grids):
                for iw in range(w_grids):
                    h0, w0 = ih * stride, iw * stride
                    h1, w1 = min(h0 + crop, ph), min(w0 + crop, pw)
                    out = infer(
                        pad_to(padded[:, :, h0:h1, w0:w1], (crop, crop), pad))
                    outputs[:, :, h0:h1,
                            w0:w1] += out[:, :, :h1 - h0, :w1 - w0]
                    count[:, :, h0:h1, w0:w1] += 1
            outputs = (outputs / count)[:, :, :height, :width]
        scores += F.interpolate(outputs, (h, w), **up)
    return scores


# --- semseg / SPNet (tool/test.py: net_process, scale_process, test) ---
def semseg_test(model, img, scales, base, crop):
    _, _, h, w = img.shape
    prediction = torch.zeros(1, NUM_CLASSES, h, w)
    for scale in scales:
        long_size = round(scale * base)
        new_h = new_w = long_size
        if h > w:
            new_w = round(long_size / float(h) * w)
        else:
            new_h = round(long_size / float(w) * h)
        image = F.interpolate(
            img, (new_h, new_w), mode='bilinear', align_corners=False)
        ori_h, ori_w = image.shape[-2:]
        pad_h, pad_w = max(crop[0] - ori_h, 0), max(crop[1] - ori_w, 0)
        top, left = int(pad_h / 2), int(pad_w / 2)
        # the mean pixel: 0 after normalisation
        image = F.pad(image, (left, pad_w - left, top, pad_h - top))
        full_h, full_w = image.shape[-2:]
        stride_h = int(np.ceil(crop[0] * 2 / 3))
        stride_w = int(np.ceil(crop[1] * 2 / 3))
        grid_h = int(np.ceil(float(full_h - crop[0]) / stride_h) + 1)
        grid_w = int(np.ceil(float(full_w - crop[1]) / stride_w) + 1)
        acc = torch.zeros(1, NUM_CLASSES, full_h, full_w)
        count = torch.zeros(1, 1, full_h, full_w)
        for ih in range(grid_h):
            for iw in range(grid_w):
                e_h = min(ih * stride_h + crop[0], full_h)
                e_w = min(iw * stride_w + crop[1], full_w)
                s_h, s_w = e_h - crop[0], e_w - crop[1]
                tile = image[:, :, s_h:e_h, s_w:e_w]
                both = logits_of(model, torch.cat([tile, tile.flip(3)]))
                soft = both.softmax(dim=1)
                acc[:, :, s_h:e_h,
                    s_w:e_w] += (soft[:1] + soft[1:].flip(3)) / 2
                count[:, :, s_h:e_h, s_w:e_w] += 1
        acc = (acc / count)[:, :, top:top + ori_h, left:left + ori_w]
        prediction += F.interpolate(
            acc, (h, w), mode='bilinear', align_corners=False)
    return prediction / len(scales)


# --- the TTA model through its mmengine entry point ---
def bgr_image():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (IMG_H, IMG_W, 3)).astype(np.float32)
    img *= np.linspace(1.0, 0.2, IMG_W)[None, :, None]  # not symmetric
    return img.astype(np.uint8)


def normalised(model, img):
    inputs = torch.from_numpy(img).permute(2, 0, 1)
    return model.data_preprocessor(
        dict(inputs=[inputs], data_samples=[SegDataSample()]), False)['inputs']


def run_tta(tta, img):
    """``test_step`` on one image, as mmseg's TTA loop calls it (one view)."""
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=img.shape[:2], ori_shape=img.shape[:2]))
    data = dict(
        inputs=[[torch.from_numpy(img).permute(2, 0, 1)]],
        data_samples=[[sample]])
    with torch.no_grad():
        out = tta.test_step(data)[0]
    return out.seg_logits.data[None], out.pred_sem_seg.data[0]


def assert_same(ours, pred, ref):
    assert ours.shape == ref.shape == (1, NUM_CLASSES, IMG_H, IMG_W)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pred, ref[0].argmax(0), rtol=0, atol=0)


def mmseg_merge(model, img, sizes):
    """mmseg's SegTTAModel: mean of the softmax of whole-image views (each
    view's logits resized to the image, flips mirrored back)."""
    x = normalised(model, img)
    total = 0
    for size in sizes:
        scaled = F.interpolate(x, size, mode='bilinear', align_corners=False)
        for flip in (False, True):
            view = scaled.flip(3) if flip else scaled
            logits = logits_of(model, view)
            logits = logits.flip(3) if flip else logits
            logits = F.interpolate(
                logits, (IMG_H, IMG_W), mode='bilinear', align_corners=False)
            total = total + logits.softmax(dim=1)
    return total


@pytest.fixture(scope='module')
def img():
    return bgr_image()


def test_hrnet_merge_with_lip_swap(img):
    """HRNet's base multi_scale_inference with LIP's swapped flip: scale 0.5
    is padded up to the window, 1.25 runs in padded windows."""
    model = TinySegmentor().eval()
    tta = MultiScaleTileTTAModel(
        module=model,
        scales=(0.5, 1.25),
        flip=True,
        flip_label_pairs=PAIRS,
        base_size=60,
        crop_size=CROP,
        stride=(int(CROP[0] * 2 / 3), int(CROP[1] * 2 / 3)))
    ours, pred = run_tta(tta, img)
    with torch.no_grad():
        ref = hrnet_multi_scale(model, normalised(model, img), (0.5, 1.25), 60,
                                CROP, True, PAIRS)
        unswapped = hrnet_multi_scale(model, normalised(model, img),
                                      (0.5, 1.25), 60, CROP, True)
        mmseg = mmseg_merge(model, img, [(15, 21), (52, 75)])
    assert_same(ours, pred, ref)
    # the swap and the merge both decide labels on these inputs
    assert (unswapped.argmax(1) != ref.argmax(1)).any()
    assert (mmseg.argmax(1) != ref.argmax(1)).any()


def test_gsto_cityscapes_merge(img):
    model = TinySegmentor().eval()
    tta = MultiScaleTileTTAModel(
        module=model,
        scales=(0.75, 1.25),
        flip=True,
        base_size=IMG_W,
        crop_size=CROP,
        stride=CROP,
        whole_max_scale=1.0,
        end_aligned=True,
        pad_value=None)
    ours, pred = run_tta(tta, img)
    with torch.no_grad():
        ref = gsto_cityscapes_multi_scale(model, normalised(model, img),
                                          (0.75, 1.25), IMG_W, CROP, True)
        mmseg = mmseg_merge(model, img, [(28, 40), (46, 66)])
    assert_same(ours, pred, ref)
    assert (mmseg.argmax(1) != ref.argmax(1)).any()


def test_encoding_multi_eval_merge(img):
    model = TinySegmentor(align_corners=True).eval()
    tta = MultiScaleTileTTAModel(
        module=model,
        scales=(0.5, 1.25),
        flip=True,
        base_size=50,
        rounding='ceil',
        crop_size=(28, 28),
        stride=(18, 18),
        view_merge='exp_sum_logits',
        img_align_corners=True,
        align_corners=True)
    ours, pred = run_tta(tta, img)
    with torch.no_grad():
        ref = encoding_multi_eval(model, normalised(model, img), (0.5, 1.25),
                                  50, 28, True)
    assert_same(ours, pred, ref)


def test_semseg_spnet_merge(img):
    """semseg's test: centred mean padding, windows shifted back inside,
    mean of the two softmaxes, mean over scales; 0.5 is smaller than the
    window and 1.25 is cut into windows."""
    model = TinySegmentor(align_corners=True).eval()
    tta = MultiScaleTileTTAModel(
        module=model,
        scales=(0.5, 1.25),
        flip=True,
        base_size=60,
        rounding='half_even',
        crop_size=CROP,
        stride=(int(np.ceil(CROP[0] * 2 / 3)), int(np.ceil(CROP[1] * 2 / 3))),
        end_aligned=True,
        pad_value='mean',
        pad_position='center',
        view_merge='mean_softmax',
        scale_merge='mean')
    ours, pred = run_tta(tta, img)
    with torch.no_grad():
        ref = semseg_test(model, normalised(model, img), (0.5, 1.25), 60, CROP)
    assert_same(ours, pred, ref)


def test_scaled_sizes_follow_each_script():
    tta = MultiScaleTileTTAModel(module=TinySegmentor(), base_size=2048)
    assert [tta.scaled_size(1024, 2048, s)
            for s in (0.5, 0.75, 1.25, 1.75)] == [(512, 1024), (768, 1536),
                                                  (1280, 2560), (1792, 3584)]
    tta = MultiScaleTileTTAModel(
        module=TinySegmentor(), base_size=512, rounding='half_even')
    # portrait image: the height is the longer side
    assert tta.scaled_size(683, 512, 0.75) == (384, round(384 / 683 * 512))
    tta = MultiScaleTileTTAModel(
        module=TinySegmentor(), base_size=520, rounding='ceil')
    assert tta.scaled_size(375, 500, 0.75) == (293, 390)


def test_torch_resize_is_cv2_linear_on_float_images():
    """The scripts resize the (normalised) float image with
    cv2.INTER_LINEAR; the model resizes with torch's bilinear,
    align_corners=False: the same arithmetic up to float rounding."""
    x = np.random.default_rng(0).normal(size=(IMG_H, IMG_W,
                                              3)).astype(np.float32)
    for size in ((28, 40), (46, 66), (19, 27)):
        ref = cv2.resize(x, size[::-1], interpolation=cv2.INTER_LINEAR)
        ours = F.interpolate(
            torch.from_numpy(x).permute(2, 0, 1)[None],
            size,
            mode='bilinear',
            align_corners=False)[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(ours, ref, atol=5e-5)


def test_more_than_one_view_is_refused(img):
    tta = MultiScaleTileTTAModel(module=TinySegmentor())
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=img.shape[:2], ori_shape=img.shape[:2]))
    inputs = torch.from_numpy(img).permute(2, 0, 1)
    with pytest.raises(ValueError, match='one view per image'):
        tta.test_step(
            dict(
                inputs=[[inputs], [inputs]], data_samples=[[sample],
                                                           [sample]]))


@pytest.mark.parametrize('key,value', [('view_merge', 'softmax'),
                                       ('pad_position', 'top'),
                                       ('rounding', 'floor')])
def test_unknown_settings_are_named(key, value):
    with pytest.raises(ValueError, match=f'{key}={value!r}'):
        MultiScaleTileTTAModel(module=TinySegmentor(), **{key: value})


def test_result_is_resized_to_the_original_image(img):
    """A test pipeline that resized the image (LIP's 473x473) gets scores
    at the original size, as mmseg's segmentors return them."""
    tta = MultiScaleTileTTAModel(
        module=TinySegmentor(), crop_size=CROP, stride=(16, 21))
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=img.shape[:2], ori_shape=(50, 70)))
    data = dict(
        inputs=[[torch.from_numpy(img).permute(2, 0, 1)]],
        data_samples=[[sample]])
    with torch.no_grad():
        out = tta.test_step(data)[0]
    assert isinstance(out.seg_logits, PixelData)
    assert out.seg_logits.data.shape == (NUM_CLASSES, 50, 70)
    assert out.pred_sem_seg.data.shape == (1, 50, 70)
