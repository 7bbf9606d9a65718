"""Make packages look not installed in a fresh interpreter."""
import textwrap
from pathlib import Path
from typing import Sequence

POSE_STACK = ('mmpose', 'mmdet', 'xtcocotools')

SITECUSTOMIZE = textwrap.dedent('''
    import sys

    BLOCKED = {blocked!r}


    class NotInstalled:
        """Finds the blocked packages (and their submodules) nowhere."""

        def find_spec(self, name, path=None, target=None):
            if name.partition('.')[0] in BLOCKED:
                # what a missing package raises, and what mmseg catches
                # around its optional mmdet import
                raise ModuleNotFoundError(
                    f'No module named {{name!r}} (blocked)', name=name)
            return None


    sys.meta_path.insert(0, NotInstalled())
''')


def write_import_blocker(folder: Path, blocked: Sequence[str]) -> str:
    """Write a ``sitecustomize.py`` that blocks ``blocked`` into ``folder``.

    Put the folder on ``PYTHONPATH`` (``run_tool``'s ``extra_paths``): every
    interpreter started with it then cannot import the blocked packages.

    Args:
        folder (Path): Where the file goes (created if missing).
        blocked (Sequence[str]): Top-level package names to block.

    Returns:
        str: ``folder``, for ``PYTHONPATH``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'sitecustomize.py').write_text(
        SITECUSTOMIZE.format(blocked=tuple(blocked)))
    return str(folder)
