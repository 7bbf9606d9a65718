import os.path as osp

from mmengine.config import config, utils

PACKAGE = 'mmext_pixel'


def register_config_package() -> None:
    """Let configs inherit from ``'mmext_pixel::<path>'``.

    mmengine resolves ``'pkg::path'`` only for the packages in its
    ``MODULE2PACKAGE``, finding the installed folder through pkg_resources
    (site-packages even for an editable install). Listing our name there and
    answering the lookup for it with this module's folder makes such bases
    work in any process that imported ``mmext_pixel`` before parsing (our
    tools do). The stock tools parse before ``custom_imports`` run, so the
    configs use relative ``_base_`` paths.
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
