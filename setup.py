"""The package list, which pyproject.toml cannot express: every package under geometry/ and app/, found by
setuptools, plus the top-level assets/ folder shipped as the package `decision_atlas_assets` (the embedded
models and sample images, see [tool.setuptools.package-data]). Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["geometry", "geometry.*", "app", "app.*"]), "decision_atlas_assets"],
    package_dir={"decision_atlas_assets": "assets"},
)
