"""The add-on's own preferences, reachable from any module.

A module of its own (importing nothing of ours), so that prefs.py can import the modules
that need the preferences without a cycle.
"""

from __future__ import annotations

from pathlib import Path

import bpy


def preferences(context: bpy.types.Context | None = None):
    """This add-on's ``RESTYLE_AP_preferences``."""
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


def library_root(context: bpy.types.Context | None = None) -> Path | None:
    """The style library folder set in the preferences (None: the restyle command's default)."""
    folder = preferences(context).library_folder
    return Path(bpy.path.abspath(folder)) if folder else None
