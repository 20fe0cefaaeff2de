"""A new conversion is built beside the old one and swapped in only when it is complete.

    dataset_dir/.staging/            the new shards, labels.txt and manifest.json while written
    dataset_dir/.staging/SWAPPING    written (and synced) once they are complete: from then on
                                     the new files replace the old ones

Until SWAPPING exists the old output in dataset_dir is untouched and usable, and a failure (a
full disk, Ctrl-C) only removes the staging folder. The swap renames files within one file
system (it needs no space) with Ctrl-C, SIGTERM and SIGHUP held back until it is done; the old
manifest.json goes first, the new one last. A process killed during the swap leaves SWAPPING
behind: the readers refuse the folder, and the next conversion finishes the swap before anything
else. No TensorFlow here. Nothing here reads flags.
"""
import contextlib
import json
import os
import shutil
import signal
import threading

from absl import logging

import base
from datasets import dataset_utils

_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def discard(dataset_dir):
  """Removes the staging folder (a conversion that did not finish); the old output stays."""
  path = dataset_utils.staging_dir(dataset_dir)
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path)
  elif os.path.lexists(path):
    os.remove(path)


def recover(dataset_dir, dataset_name):
  """Before a conversion looks at dataset_dir: finishes a swap a killed run began, or removes
  the staging folder of a conversion that never completed."""
  if dataset_utils.swap_interrupted(dataset_dir):
    logging.warning('Finishing the swap of a conversion into %s that was interrupted while its '
                    'new files were moved in.', dataset_dir)
    _finish_swap(dataset_dir, dataset_name)
  elif os.path.lexists(dataset_utils.staging_dir(dataset_dir)):
    logging.info('Removing %s: an unfinished conversion (the dataset beside it was not '
                 'touched).', dataset_utils.staging_dir(dataset_dir))
    discard(dataset_dir)


def create(dataset_dir):
  """A fresh, empty staging folder inside dataset_dir (on the same file system, so the swap is
  renames); returns its path."""
  discard(dataset_dir)
  path = dataset_utils.staging_dir(dataset_dir)
  os.makedirs(path)
  return path


def swap_in(dataset_dir, dataset_name, replace=os.replace):
  """Replaces the dataset in dataset_dir by the complete one in its staging folder, moving each
  file in with replace(source, target)."""
  with open(dataset_utils.swap_marker(dataset_dir), 'w') as f:
    f.flush()
    os.fsync(f.fileno())
  base.fsync_path(dataset_utils.staging_dir(dataset_dir))
  _finish_swap(dataset_dir, dataset_name, replace)


@contextlib.contextmanager
def _signals_held():
  """Ctrl-C, SIGTERM and SIGHUP wait until the block is done, then act as they would have
  (only the main thread can set handlers; elsewhere the block runs unprotected)."""
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  received = []
  previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum))
              for signum in _HELD_SIGNALS}
  try:
    yield
  finally:
    for signum, handler in previous.items():
      signal.signal(signum, signal.SIG_DFL if handler is None else handler)
    if received:
      signal.raise_signal(received[0])


def _old_files(dataset_dir, dataset_name, keep):
  """The old output's shards (any shard count) and leftover temporary files not in `keep`."""
  paths = [path for split in dataset_utils.SPLITS
           for path in dataset_utils.shard_files(dataset_dir, dataset_name, split)]
  paths += dataset_utils.temp_files(dataset_dir, dataset_name)
  return [path for path in paths if os.path.basename(path) not in keep]


def _finish_swap(dataset_dir, dataset_name, replace=os.replace):
  """Moves the staged files in (idempotent: a rerun after a kill goes on where it stopped)."""
  staged = dataset_utils.staging_dir(dataset_dir)
  manifest_name = dataset_utils.MANIFEST_FILENAME
  with _signals_held():
    staged_manifest = os.path.join(staged, manifest_name)
    if os.path.isfile(staged_manifest):  # Else the kill came after its move: all was moved.
      with open(staged_manifest, encoding='utf-8') as f:
        new_files = {shard['file'] for split in json.load(f)['splits'].values()
                     for shard in split['shards']}
      old_manifest = os.path.join(dataset_dir, manifest_name)
      if os.path.lexists(old_manifest):
        os.remove(old_manifest)  # First: from here on the old output is not complete.
      for name in sorted(os.listdir(staged)):
        if name not in (manifest_name, dataset_utils.SWAPPING_FILENAME):
          replace(os.path.join(staged, name), os.path.join(dataset_dir, name))
      removed = _old_files(dataset_dir, dataset_name, new_files)
      for path in removed:
        os.remove(path)
      if removed:
        logging.info('Removed %d files of the earlier %s conversion in %s.', len(removed),
                     dataset_name, dataset_dir)
      replace(staged_manifest, old_manifest)  # Last: the new output is complete.
    base.fsync_path(dataset_dir)
    shutil.rmtree(staged)
