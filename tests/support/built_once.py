"""A session fixture's folder built once per pytest run, even under pytest-xdist's -n: its
--dist worksteal hands a module's tests to whichever worker is idle, so a module-scoped fixture
of a slow build (the README's Quick start: tens of seconds) would be built by each worker that
runs one of them. Here the first worker to ask builds it, holding a lock; the others wait for it
and then read what it found (pytest-xdist's documented pattern for such fixtures, with fcntl's
lock for the filelock package).

  folder, value = built_once.folder(tmp_path_factory, 'readme', build)   # build(folder) -> value

value must be JSON (str, numbers, lists, dicts with str keys). A build that failed (an exception)
is tried again by the next worker that asks, in a fresh folder.
"""
import contextlib
import fcntl
import json
import os
import shutil


def _run_folder(tmp_path_factory):
  """The folder every process of this pytest run shares: the base temp, or under -n the
  controller's one, above the workers' own."""
  basetemp = tmp_path_factory.getbasetemp()
  return basetemp.parent if os.environ.get('PYTEST_XDIST_WORKER') else basetemp


@contextlib.contextmanager
def _locked(path):
  with open(path, 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)


def folder(tmp_path_factory, name, build):
  """(folder, value): `name`'s folder for this pytest run and what build(folder) returned, built
  by the first process to ask."""
  root = _run_folder(tmp_path_factory)
  built, value_file = root / name, root / (name + '.json')
  with _locked(root / (name + '.lock')):
    if not value_file.exists():
      shutil.rmtree(built, ignore_errors=True)  # a build that failed
      built.mkdir()
      value_file.write_text(json.dumps(build(built)))
    return built, json.loads(value_file.read_text())
