"""The compiled core's extensions (native/): everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("native._forest", sources=["native/_forest.c"], extra_compile_args=["-O3"])])
