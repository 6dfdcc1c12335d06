"""The marker plugins use to implement hooks: ``from ganforge.plugin import hookimpl``."""

import pluggy

hookimpl = pluggy.HookimplMarker("ganforge")
