"""Restyle's core: everything that does not need Blender.

Importing this package (or any module in it) never imports bpy, and never imports torch
unless a torch path (the torch engine, training, export) is actually used.
"""
