"""Folders the session fixtures share among tests (read-only for every test) and the check that
a test left one as it found it."""
import os


def snapshot(folder):
  """{path: (size, mtime_ns)} of the folder and everything in it: a write, a new file, a removed
  one (even a file made and removed again) or a write through a hard link changes it."""
  folder = str(folder)
  paths = [folder]
  for root, dirs, files in os.walk(folder):
    paths += [os.path.join(root, name) for name in dirs + files]
  return {path: (os.lstat(path).st_size, os.lstat(path).st_mtime_ns) for path in paths}


def changes(before, after):
  """The paths added, removed or changed between two snapshots, sorted."""
  return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))
