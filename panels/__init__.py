"""The Sequencer sidebar's Restyle tab. Imports bpy."""

import bpy

from . import sequencer

_register, _unregister = bpy.utils.register_classes_factory(sequencer.classes)


def register() -> None:
    _register()


def unregister() -> None:
    _unregister()
