# registers the components
from . import datasets, engine, evaluation, models, visualization  # noqa: F401
from .utils import allow_mmengine_checkpoint_globals, register_config_package
from .version import __version__

register_config_package()
allow_mmengine_checkpoint_globals()


def _register_pose_components() -> bool:
    """Import (and so register) the MMPose components if mmpose is installed.

    Segmentation needs none of mmpose, mmdet and xtcocotools (mmpose imports
    the other two), so a segmentation-only install leaves them out and gets
    every mmseg component all the same.

    Returns:
        bool: Whether the pose components are registered.
    """
    try:
        from .datasets import checked_coco  # noqa: F401
        from .models import pose  # noqa: F401
    except ImportError as e:
        if isinstance(e, ModuleNotFoundError) and e.name == 'mmpose':
            return False
        # An installed but broken pose stack must not pass for a missing
        # one: the pose configs would only fail later, on an unknown type.
        raise ImportError(
            'mmpose is installed, so mmext_pixel registers its pose '
            f'components, but they do not import: {e!r}. Complete the pose '
            'stack (mmpose, mmdet, xtcocotools: `bash tools/install.sh`) or, '
            'for segmentation only, uninstall mmpose.') from e
    return True


#: True when the MMPose components (``GSTOHeatmapHead``, ``GSTOHRNet`` in
#: mmpose's registry, ``CheckedCocoDataset``) are registered.
WITH_MMPOSE = _register_pose_components()

__all__ = ['WITH_MMPOSE', '__version__']
