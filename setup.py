"""For `scrapyd-deploy`, which builds its egg with `setup.py bdist_egg` and writes a setup.py of its
own into the project when there is none. Everything is declared in pyproject.toml."""

from setuptools import setup

setup()
