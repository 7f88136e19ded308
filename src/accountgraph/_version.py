"""The package version (a module of its own, so views can name it without importing the package root)."""

__version__ = "0.1.0"
