"""The Sequencer sidebar's Restyle tab."""


def register() -> None:
    import bpy

    from .sequencer import classes

    for cls in classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    import bpy

    from .sequencer import classes

    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
