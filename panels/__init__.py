"""The Sequencer sidebar's Restyle tab."""


def _classes() -> tuple:
    from . import background, edit, keyframes, sequencer

    # parents before their sub-panels
    return sequencer.classes + keyframes.classes + background.classes + edit.classes


def register() -> None:
    import bpy

    bpy.utils.register_classes_factory(_classes())[0]()


def unregister() -> None:
    import bpy

    bpy.utils.register_classes_factory(_classes())[1]()
