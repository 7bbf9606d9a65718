"""mmengine's package lookups as ``mmext_pixel`` answers them: our configs
by ``mmext_pixel::`` (tests/test_registration.py), and mmseg's metafiles
read once per process."""
import os.path as osp

import mmengine.config.config as mmengine_config
import mmengine.config.utils as mmengine_config_utils
import mmengine.utils as mmengine_utils
from mmengine.config import Config
from mmengine.fileio import load

from conftest import REPO_ROOT
from mmext_pixel.utils import config_package

CONFIGS = [
    osp.join(REPO_ROOT, 'configs', name)
    for name in ('hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py',
                 'spnet/pspnet-spm_r50-d8_4xb2-80k_cityscapes-512x1024.py')
]


def test_package_bases_resolve_as_mmengine_with_one_reading(monkeypatch):
    reads = []

    def counted_load(path):
        reads.append(path)
        return load(path)

    config_package._metafile_configs.cache_clear()
    monkeypatch.setattr(config_package, 'load', counted_load)
    ours = [Config.fromfile(path).to_dict() for path in CONFIGS]
    index = osp.join(
        mmengine_utils.get_installed_path('mmseg'), '.mim', 'model-index.yml')
    assert len(reads) == 1 + len(load(index)['Import'])

    # mmengine's own lookups give the same configs
    for name, original in (('_get_external_cfg_path',
                            mmengine_config_utils._get_external_cfg_path),
                           ('is_installed', mmengine_utils.is_installed),
                           ('get_installed_path',
                            mmengine_utils.get_installed_path)):
        monkeypatch.setattr(mmengine_config, name, original)
    assert [Config.fromfile(path).to_dict() for path in CONFIGS] == ours
