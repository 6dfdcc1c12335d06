"""A ganforge test plugin (see tests/plugin_packages/__init__.py): a third-party variant with two generators."""
