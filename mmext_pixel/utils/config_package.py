import os.path as osp

PACKAGE = 'mmext_pixel'


def register_config_package() -> None:
    """Let configs inherit from ``'mmext_pixel::<path>'``.

    mmengine resolves ``'pkg::path'`` only for the OpenMMLab packages listed
    in its ``MODULE2PACKAGE``, as ``<installed pkg>/.mim/configs/<path>``, and
    finds the installed folder through pkg_resources, which points into
    site-packages even for an editable install. Adding our name to that list
    and answering the folder lookup for our package with the folder this
    module was imported from makes ``_base_ = 'mmext_pixel::...'`` work in any
    process that imported ``mmext_pixel`` before parsing the config (our
    tools do; a user's script can ``import mmext_pixel``). The stock tools
    parse the config before its ``custom_imports`` run, so there the configs'
    relative ``_base_`` paths are the way.
    """
    from mmengine.config import config, utils
    utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    lookup = config.get_installed_path
    if getattr(lookup, '_mmext_pixel', False):
        return
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))

    def get_installed_path(package: str) -> str:
        return package_dir if package == PACKAGE else lookup(package)

    get_installed_path._mmext_pixel = True
    config.get_installed_path = get_installed_path
