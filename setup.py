from setuptools import find_packages, setup

setup(name='mmext_pixel', version='0.1.0', packages=find_packages(include=['mmext_pixel*']))
