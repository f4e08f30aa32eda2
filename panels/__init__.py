"""The Sequencer sidebar's Restyle tab."""


def _classes() -> tuple:
    from . import keyframes, sequencer

    return sequencer.classes + keyframes.classes  # parents before their sub-panels


def register() -> None:
    import bpy

    bpy.utils.register_classes_factory(_classes())[0]()


def unregister() -> None:
    import bpy

    bpy.utils.register_classes_factory(_classes())[1]()
