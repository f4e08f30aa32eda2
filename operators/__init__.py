"""Blender operators: ``restyle.apply_style`` and the sidebar's helpers.

bpy is imported on registration only, so ``strip_frames`` stays importable (and testable)
without Blender.
"""


def _modules():
    from . import apply_style, sidebar

    return apply_style, sidebar


def register() -> None:
    import bpy

    apply_style, sidebar = _modules()
    for cls in apply_style.classes + sidebar.classes:
        bpy.utils.register_class(cls)
    bpy.app.handlers.load_pre.append(apply_style.cancel_on_load)


def unregister() -> None:
    import bpy

    apply_style, sidebar = _modules()
    apply_style.cancel_on_load()
    if apply_style.cancel_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(apply_style.cancel_on_load)
    for cls in reversed(apply_style.classes + sidebar.classes):
        bpy.utils.unregister_class(cls)
