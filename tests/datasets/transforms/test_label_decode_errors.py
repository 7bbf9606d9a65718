"""Label maps that do not decode are errors naming the file."""
import pytest

from mmext_pixel.datasets.transforms import LoadOptionalAnnotations


def damaged(tmp_path, synthetic_root, kind):
    good = sorted(
        (synthetic_root / 'urbanisation' / 'y' / 'train').glob('*.png'))[0]
    data = good.read_bytes()
    path = tmp_path / f'{kind}.png'
    path.write_bytes({
        'truncated': data[:len(data) // 2],
        'empty': b'',
        'not an image': b'label: 1\n',
    }[kind])
    return str(path)


@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
@pytest.mark.parametrize('kind', ['truncated', 'empty', 'not an image'])
def test_undecodable_label_map_names_its_file(tmp_path, synthetic_root, kind,
                                              backend):
    path = damaged(tmp_path, synthetic_root, kind)
    load = LoadOptionalAnnotations(imdecode_backend=backend)
    with pytest.raises(ValueError) as info:
        load(dict(seg_map_path=path, reduce_zero_label=False, seg_fields=[]))
    assert str(info.value).startswith(f'label map {path} does not decode')


def test_intact_label_map_loads(synthetic_root):
    path = sorted(
        (synthetic_root / 'urbanisation' / 'y' / 'train').glob('*.png'))[0]
    results = LoadOptionalAnnotations()(
        dict(seg_map_path=str(path), reduce_zero_label=False, seg_fields=[]))
    assert results['gt_seg_map'].shape == (64, 64)
