"""Restyle: neural video stylisation in Blender's Video Sequence Editor.

The repository root is the Blender extension. Outside Blender it imports as ``restyle``;
bpy is only imported inside register()/unregister() so the core stays usable without it.
"""

def register() -> None:
    from . import operators, panels

    operators.register()
    panels.register()


def unregister() -> None:
    from . import operators, panels

    panels.unregister()
    operators.unregister()
