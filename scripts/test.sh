#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, what CI runs:
#   1. lint, the zip built once for this platform, the core tests and the whole Blender suite
#      on 5.0 (the main venv: Python 3.11, numpy 1);
#   2. the whole Blender suite on 5.2 LTS (Python 3.13, numpy 2) in a Debian trixie root
#      (.ci/trixie-root; needs root privileges; built once, then reused);
#   3. the whole Blender suite on 4.2 LTS and 4.5 LTS (venvs of their own, with torch, so
#      training inside Blender runs there too) and 5.3 (trixie root; no torch for 3.13 here);
#   4. the GUI tests: Debian's Blender under Xvfb in the trixie root (.ci/blender-gui);
#   5. the core tests that touch numpy most, on numpy 2 (.ci/numpy2).
# Every Blender installs the same zip with package_install_files. Each step's time is
# printed; the script exits non-zero when any step fails.
# With arguments, only those run, after setup: `scripts/test.sh tests/test_x.py` (or
# `tests/test_x.py -k name`, `tests/blender/test_y.py`: any pytest arguments) runs one
# pytest process on all of them in .venv, with a RESTYLE_HOME of its own. It does not split
# them: give core tests and tests/blender in separate calls of the script (a process that
# imported bpy counts as inside Blender; tests/conftest.py fails and stops a core test that
# runs after bpy came in). Without arguments, the whole suite (its steps keep them apart).
# Setup (scripts/setup.sh: pip, 73 s on a loaded machine) is skipped where .venv is as the
# last setup left it and requirements/, pyproject.toml and setup.sh are unchanged (a stamp
# in .venv: a hash of those files and of `pip freeze`, but the editable Restyle, whose line
# names the commit); RESTYLE_SETUP=1 runs it anyway.
# A RESTYLE_HOME this script made is removed at the end; one given is kept.
# The trixie root's Blenders (5.2, 5.3, then the GUI tests: one after another, they share the
# root's mounts) run beside 4.2 and 4.5, and 5.0 beside the core tests: each Blender keeps about
# one of two cores busy, the GUI tests far less. Their output is shown when they end.
# The venvs of step 3 are installed in the background while setup runs, step 5's while the core
# tests run, each of which keeps about one of two cores busy (a 4.2 venv is ~94 s of CPU: 38 s
# installing, 56 s pip's byte-compiling); a failed install fails its step, with pip's output.
# Step 5 runs its tests there too, right after its install (its own RESTYLE_HOME; no Ray, no
# Blender): its step only waits for it and shows its output.
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name" >&2
  # Not left to set -e: a step in an && list (the background lane) would go on past a failure.
  "$@" || return
  echo "== $name: passed in $((SECONDS - start)) s" >&2
}

build_zip() {
  .venv/bin/python scripts/build_extension.py --platform linux-x64 --output-dir "$out" \
    --stage-dir "$out/stage" >/dev/null
  export RESTYLE_EXTENSION_ZIP
  RESTYLE_EXTENSION_ZIP=$(ls "$out"/*.zip)
}

# prepare NAME CMD...: run CMD in the background, its output kept in $out/NAME.log.
prepare() {
  local name=$1
  shift
  RESTYLE_CI_PREPARE=1 "$@" >"$out/$name.log" 2>&1 &
  eval "prepared_$name=$!"
}

# ready NAME: wait for NAME's preparation; show its output when it failed.
ready() {
  local pid
  eval "pid=\$prepared_$1"
  wait "$pid" && return 0
  cat "$out/$1.log" >&2
  echo "== preparing $1 failed" >&2
  return 1
}

# finished NAME: wait for NAME (run by background), show its output; its exit status.
finished() {
  local pid rc=0
  eval "pid=\$prepared_$1"
  wait "$pid" || rc=$?
  cat "$out/$1.log" >&2
  return "$rc"
}

# background NAME CMD...: run CMD (all of it, not only its preparation) in the background.
background() {
  local name=$1
  shift
  "$@" >"$out/$name.log" 2>&1 &
  eval "prepared_$name=$!"
}

lts() { ready "$1" && env BPY_VERSION="$2" bash .ci/blender-lts; }

trixie_lane() {
  step "Blender 5.2.3 LTS (trixie root)" env BPY_VERSION=5.2.3 bash .ci/blender-trixie &&
    step "Blender 5.3.0 (trixie root)" env BPY_VERSION=5.3.0 bash .ci/blender-trixie &&
    step "GUI, Debian's Blender under Xvfb" bash .ci/blender-gui
}

# setup_stamp: what the venv's last setup was made from and what it holds ('' without one).
setup_stamp() {
  [ -x .venv/bin/python ] || return 0
  {
    cat requirements/*.txt pyproject.toml scripts/setup.sh
    # not the editable Restyle: its line names the checkout's commit where it has a remote
    .venv/bin/python -m pip freeze --all --exclude-editable --disable-pip-version-check \
      2>/dev/null
  } | sha256sum | cut -d' ' -f1
}

# setup: scripts/setup.sh, unless .venv is as its last run left it (nothing changed since).
setup() {
  local stamp
  stamp=$(setup_stamp)
  if [ -z "${RESTYLE_SETUP:-}" ] && [ -n "$stamp" ] &&
    [ "$stamp" = "$(cat .venv/.restyle-setup-stamp 2>/dev/null)" ]; then
    echo "setup: .venv is up to date (nothing changed since its setup); skipped" >&2
    return 0
  fi
  # || return: set -e is off inside step's `"$@" || return`, so a failed setup would be
  # stamped as done and skipped from then on
  bash scripts/setup.sh || return
  setup_stamp >.venv/.restyle-setup-stamp
}

out=$(mktemp -d)
made_home=""
# An early exit still waits for the installs: a venv cut off halfway could look complete.
trap 'wait; rm -rf "$out" ${made_home:+"$made_home"}' EXIT
if [ -z "${RESTYLE_HOME:-}" ]; then
  made_home=$(mktemp -d)
  export RESTYLE_HOME=$made_home
fi
if [ "$#" -gt 0 ]; then # only the tests named
  step setup setup
  step "pytest $*" .venv/bin/python -m pytest -q "$@"
  exit
fi
# The LTS venvs need nothing from .venv: they install beside setup (pip, about one core), not
# beside the core tests and Blender 5.0.1.
prepare bpy42 env BPY_VERSION=4.2.23 bash .ci/blender-lts
prepare bpy45 env BPY_VERSION=4.5.15 bash .ci/blender-lts
step setup setup
step lint sh -c ".venv/bin/ruff check . && .venv/bin/ruff format --check ."
mkdir "$out/numpy2-home"
background numpy2 env RESTYLE_HOME="$out/numpy2-home" bash .ci/numpy2
step "build the zip" build_zip
# Two processes: a process that has imported bpy counts as inside Blender
# (core.engines.inside_blender: OpenVINO then runs in a child process), which the core tests
# must not. Blender 5.0.1 runs beside the core tests (the second core is otherwise idle for
# ~500 of their ~900 s), with a TMPDIR of its own: its Ray clusters (TMPDIR/ray, their
# ray_current_cluster, which the core tests' --ray auto reads), unsaved files' frames
# (TMPDIR/restyle) and scratch folders stay apart from the core tests'.
mkdir "$out/tmp50"
background blender50 step "Blender 5.0.1 (beside the core tests)" \
  env TMPDIR="$out/tmp50" .venv/bin/python -m pytest -q tests/blender
step "core" .venv/bin/python -m pytest -q --ignore=tests/blender
step "Blender 5.0.1 (ran beside the core tests)" finished blender50
background trixie trixie_lane
step "Blender 4.2.23 LTS" lts bpy42 4.2.23
step "Blender 4.5.15 LTS" lts bpy45 4.5.15
step "Blender 5.2.3, 5.3.0, the GUI (ran beside 4.2 and 4.5)" finished trixie
step "core on numpy 2 (ran beside the steps above)" finished numpy2
