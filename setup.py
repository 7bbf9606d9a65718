import os
import os.path as osp
import pathlib
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def version():
    scope = {}
    with open(osp.join(HERE, 'mmext_pixel', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def requirements(name):
    """The requirement lines of ``requirements/<name>.txt``."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        return [
            line.split('#')[0].strip() for line in f
            if line.split('#')[0].strip()
        ]


def runtime_package():
    """The torch-free runtime of this checkout (``runtime/``, its own
    package) as a requirement of the deploy extra; none in an sdist, which
    does not carry it."""
    runtime = osp.join(HERE, 'runtime')
    if not osp.isfile(osp.join(runtime, 'pyproject.toml')):
        return []
    uri = pathlib.Path(runtime).as_uri()
    return [f'mmext-pixel-runtime[serve,quantize] @ {uri}']


def link_mim_files():
    """Make configs/, tools/ and model-index.yml visible under
    mmext_pixel/.mim.

    As mmseg does, so that mmengine finds ``'mmext_pixel::<config>'``: in the
    source tree (editable installs) they are symlinks; build_py below copies
    the real files into a wheel.
    """
    mim = osp.join(HERE, 'mmext_pixel', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        target = osp.join(mim, name)
        if not osp.lexists(target):
            os.symlink(osp.join('..', '..', name), target)


class BuildPyWithMim(build_py):

    def run(self):
        super().run()
        for name in MIM_FILES:
            dst = osp.join(self.build_lib, 'mmext_pixel', '.mim', name)
            if osp.lexists(dst):
                if osp.islink(dst) or osp.isfile(dst):
                    os.remove(dst)
                else:
                    shutil.rmtree(dst)
            src = osp.join(HERE, name)
            if osp.isfile(src):
                shutil.copyfile(src, dst)
            else:
                shutil.copytree(
                    src,
                    dst,
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


link_mim_files()

setup(
    name='mmext_pixel',
    version=version(),
    description='GSTO-HRNet, Gated-SCNN, GALD/DGCN, Strip Pooling and '
    'datasets for MMSegmentation 1.x and MMPose 1.x',
    long_description=open(osp.join(HERE, 'README.md')).read() if osp.isfile(
        osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['mmext_pixel', 'mmext_pixel.*']),
    # optional: ONNX export and torch-free inference (docs/deployment.md);
    # Cityscapes test-server files (docs/train_test.md, Benchmark servers)
    extras_require=dict(
        deploy=requirements('deploy') + runtime_package(),
        cityscapes=requirements('cityscapes')),
    cmdclass=dict(build_py=BuildPyWithMim),
    include_package_data=False,
    zip_safe=False)
