"""Blender operators: ``restyle.apply_style``, ``restyle.train_style``, keyframes, helpers.

bpy is imported on registration only, so the package stays importable
without Blender.
"""


def _modules():
    from . import apply_style, cut_tools, keyframes, matte, sidebar, stabilize, train_style

    classes = apply_style.classes + sidebar.classes + keyframes.classes + train_style.classes
    return apply_style, classes + matte.classes + stabilize.classes + cut_tools.classes


def register() -> None:
    import bpy

    from . import keyframes, modal_job

    apply_style, classes = _modules()
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.app.handlers.undo_post.append(modal_job.forget_undone_edit)
    bpy.app.handlers.load_pre.append(apply_style.cancel_on_load)
    bpy.app.handlers.load_post.append(keyframes.key_named_keyframes)
    bpy.app.handlers.load_post.append(apply_style.forget_run_on_load)
    # enabled (or updated) with a file open: no load follows, so key its strips now
    bpy.app.timers.register(keyframes.key_named_keyframes, first_interval=0.0)
    bpy.app.handlers.save_pre.append(apply_style.keep_frames_on_save)
    bpy.app.handlers.save_post.append(apply_style.restore_after_copy)


def unregister() -> None:
    import bpy

    from . import keyframes, modal_job

    apply_style, classes = _modules()
    apply_style.cancel_on_load()
    if modal_job.forget_undone_edit in bpy.app.handlers.undo_post:
        bpy.app.handlers.undo_post.remove(modal_job.forget_undone_edit)
    if apply_style.cancel_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(apply_style.cancel_on_load)
    if keyframes.key_named_keyframes in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(keyframes.key_named_keyframes)
    if apply_style.forget_run_on_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(apply_style.forget_run_on_load)
    if bpy.app.timers.is_registered(keyframes.key_named_keyframes):
        bpy.app.timers.unregister(keyframes.key_named_keyframes)
    if apply_style.keep_frames_on_save in bpy.app.handlers.save_pre:
        bpy.app.handlers.save_pre.remove(apply_style.keep_frames_on_save)
    if apply_style.restore_after_copy in bpy.app.handlers.save_post:
        bpy.app.handlers.save_post.remove(apply_style.restore_after_copy)
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
