import functools
import os.path as osp
from typing import Dict

from mmengine.config import config, utils
from mmengine.fileio import load
from mmengine.utils import check_file_exist

PACKAGE = 'mmext_pixel'


@functools.lru_cache(maxsize=None)
def _metafile_configs(package_path: str) -> Dict[str, str]:
    """The configs that an installed package's metafiles list, by name."""
    configs = {}
    for metafile in load(osp.join(package_path, '.mim',
                                  'model-index.yml'))['Import']:
        for model in load(osp.join(package_path, '.mim', metafile))['Models']:
            if 'Config' in model:
                configs.setdefault(model['Config'].partition('/')[-1],
                                   model['Config'])
    return configs


def _metafile_config_path(package_path: str, name: str) -> str:
    """mmengine's lookup of a ``pkg::`` base among the package's metafiles,
    answered from one reading of them."""
    found = _metafile_configs(package_path).get(name.split('.')[0])
    if found is None:  # not a metafile's: mmengine takes it as a path
        raise ValueError(f'{name} is no config of a metafile')
    path = osp.join(package_path, found)
    check_file_exist(path)
    return path


def register_config_package() -> None:
    """Let configs inherit from ``'mmext_pixel::<path>'``: mmengine resolves
    only its ``MODULE2PACKAGE`` names, through pkg_resources (site-packages
    even for an editable install), so ours is listed, answered by this tree.
    Its lookups for ``pkg::`` bases are answered once per process (it reloads
    pkg_resources and reads ~100 metafiles of mmseg for every base: 0.3 s).
    """
    utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    lookup = config.get_installed_path
    if getattr(lookup, '_mmext_pixel', False):
        return
    lookup = functools.lru_cache(maxsize=None)(lookup)
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))

    def get_installed_path(package: str) -> str:
        return package_dir if package == PACKAGE else lookup(package)

    get_installed_path._mmext_pixel = True
    config.get_installed_path = get_installed_path
    config.is_installed = functools.lru_cache(maxsize=None)(
        config.is_installed)
    config._get_external_cfg_path = _metafile_config_path
