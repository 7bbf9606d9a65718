import os.path as osp

from mmengine.config import config, utils

PACKAGE = 'mmext_pixel'


def register_config_package() -> None:
    """Let configs inherit from ``'mmext_pixel::<path>'`` in a process that
    imported ``mmext_pixel``: mmengine resolves ``'pkg::path'`` only for its
    ``MODULE2PACKAGE``, through pkg_resources (site-packages even for an
    editable install), so our name is listed and answered with this folder.
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
