"""Registration through a user's own config, in a fresh interpreter."""
import json
import textwrap

import pytest

from conftest import run_tool

OUR_COMPONENTS = {
    'model': ['FlipSwapSegTTAModel'],
    'dataset': ['UrbanisationDataset', 'LIPParsingDataset'],
    'transform': ['CheckSegMap'],
    'pose_model': ['GSTOHRNet', 'GSTOHeatmapHead'],
    'pose_dataset': ['CheckedCocoDataset'],
}

PROBE = textwrap.dedent('''
    import json, sys
    import mmseg.datasets, mmseg.models  # stock
    import mmpose.datasets, mmpose.models  # stock
    from mmseg.registry import DATASETS, MODELS, TRANSFORMS
    from mmpose.registry import DATASETS as POSE_DATASETS
    from mmpose.registry import MODELS as POSE_MODELS
    from mmpose.registry import TRANSFORMS as POSE_TRANSFORMS
    registries = dict(model=MODELS, dataset=DATASETS, transform=TRANSFORMS,
                      pose_model=POSE_MODELS, pose_dataset=POSE_DATASETS,
                      pose_transform=POSE_TRANSFORMS)
    assert 'mmext_pixel' not in sys.modules
    before = {k: dict(r.module_dict) for k, r in registries.items()}
    from mmengine.config import Config
    cfg = Config.fromfile(sys.argv[1])  # runs the config's custom_imports
    after = {k: dict(r.module_dict) for k, r in registries.items()}
    imported = 'mmext_pixel' in sys.modules
    import mmext_pixel
    print(json.dumps(dict(
        imported=imported,
        with_mmpose=mmext_pixel.WITH_MMPOSE,
        added={k: sorted(set(after[k]) - set(before[k])) for k in after},
        replaced={k: sorted(n for n in before[k]
                            if after[k][n] is not before[k][n])
                  for k in after})))
''')


@pytest.mark.slow
def test_custom_imports_register_without_clobbering(tmp_path):
    user_cfg = tmp_path / 'my_config.py'
    user_cfg.write_text(
        "_base_ = ['mmseg::_base_/models/fcn_hr18.py']\n"
        "custom_imports = dict(imports=['mmext_pixel'], "
        'allow_failed_imports=False)\n'
        "train_dataloader = dict(dataset=dict(type='UrbanisationDataset'))\n")
    probe = tmp_path / 'probe.py'
    probe.write_text(PROBE)
    out = run_tool([str(probe), str(user_cfg)], cwd=str(tmp_path)).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result['imported']
    assert result['with_mmpose']  # mmpose is installed here
    for kind, names in OUR_COMPONENTS.items():
        assert set(names) <= set(result['added'][kind]), (kind, result)
    assert all(not names for names in result['replaced'].values()), result
    # mmseg's own LIPDataset is left alone next to ours
    assert 'LIPDataset' not in result['added']['dataset']


def test_inherit_from_package_configs(tmp_path):
    user_cfg = tmp_path / 'user.py'
    user_cfg.write_text("_base_ = 'mmext_pixel::hrnet/"
                        "fcn_hr18s-v1_4xb4-80k_urbanisation-512x512.py'\n"
                        'model = dict(decode_head=dict(num_classes=5))\n')
    from mmext_pixel.utils.run_config import load_config
    cfg = load_config(str(user_cfg))
    assert cfg.model.decode_head.num_classes == 5
    assert cfg.model.backbone.extra.stage4.num_channels == (16, 32, 64, 128)
    assert cfg.custom_imports['imports'] == ['mmext_pixel']
