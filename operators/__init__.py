"""Blender operators: ``restyle.apply_style`` and the sidebar's helpers. Imports bpy."""

import bpy

from . import apply_style, sidebar
from .runner import RUN

classes = (apply_style.RESTYLE_OT_apply_style, *sidebar.classes)
_register, _unregister = bpy.utils.register_classes_factory(classes)


@bpy.app.handlers.persistent
def _cancel_on_load(*_args) -> None:
    """A file is being loaded: stop a running job (its frames stay on disk)."""
    RUN.cancel()


def register() -> None:
    _register()
    bpy.app.handlers.load_pre.append(_cancel_on_load)


def unregister() -> None:
    RUN.cancel()
    if _cancel_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_cancel_on_load)
    _unregister()
