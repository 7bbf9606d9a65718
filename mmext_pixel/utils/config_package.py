import os.path as osp

from mmengine.config import config, utils

PACKAGE = 'mmext_pixel'


def register_config_package() -> None:
    """Let configs inherit from ``'mmext_pixel::<path>'``: mmengine resolves
    only its ``MODULE2PACKAGE`` names, through pkg_resources (site-packages
    even for an editable install), so ours is listed, answered by this tree.
    """
    utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    lookup = config.get_installed_path
    if getattr(lookup, '_mmext_pixel', False):
        return
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))

    def get_installed_path(package: str) -> str:
        return package_dir if package == PACKAGE else lookup(package)

    get_installed_path._mmext_pixel = True
    config.get_installed_path = get_installed_path
