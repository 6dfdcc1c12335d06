"""A ganforge test plugin (see tests/plugin_packages/__init__.py)."""
