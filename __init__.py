"""Restyle: neural video stylisation in Blender's Video Sequence Editor.

The repository root is the Blender extension. Outside Blender it imports as ``restyle``;
bpy is only imported inside register()/unregister(), so the core stays usable without it.
"""

_MODULES = ("props", "prefs", "operators", "panels")  # registered in this order


def _modules():
    import importlib

    return [importlib.import_module(f".{name}", __name__) for name in _MODULES]


def register() -> None:
    for module in _modules():
        module.register()


def unregister() -> None:
    for module in reversed(_modules()):
        module.unregister()
