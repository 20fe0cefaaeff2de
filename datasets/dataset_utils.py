"""The on-disk format shared by the converter, the checks and the readers: file names, labels.txt
and manifest.json. (The records themselves are built and parsed in datasets/records.py.)

No TensorFlow here: the converter's top-level modules import this, and its worker processes
re-import those. Nothing here reads flags.
"""
import glob
import json
import os

from base import UserError
from base import write_text_atomic

LABELS_FILENAME = 'labels.txt'
MANIFEST_FILENAME = 'manifest.json'
SHARD_PATTERN = '%s_%s_%05d-of-%05d.tfrecord'
SPLITS = ('train', 'validation')
FORMAT_VERSION = 1  # manifest.json's format_version: what a reader of the manifest may expect.


def shard_filename(dataset_dir, dataset_name, split_name, shard_id, num_shards):
  return os.path.join(dataset_dir,
                      SHARD_PATTERN % (dataset_name, split_name, shard_id, num_shards))


def shard_glob(dataset_name, split_name):
  return '%s_%s_*-of-*.tfrecord' % (dataset_name, split_name)


def shard_files(dataset_dir, dataset_name, split_name):
  """The sorted paths of a split's shards present in dataset_dir (of any shard count)."""
  return sorted(glob.glob(os.path.join(dataset_dir, shard_glob(dataset_name, split_name))))


def temp_files(dataset_dir, dataset_name):
  """Temporary files an interrupted conversion left (base.atomic_path names: '.NAME.*.tmp')."""
  prefixes = ('.%s_' % dataset_name, '.%s.' % MANIFEST_FILENAME, '.%s.' % LABELS_FILENAME)
  return sorted(os.path.join(dataset_dir, name) for name in os.listdir(dataset_dir)
                if name.startswith(prefixes) and name.endswith('.tmp'))


# --- labels.txt -------------------------------------------------------------------------------

def write_label_file(labels_to_class_names, dataset_dir, filename=LABELS_FILENAME):
  """Writes `id:name` lines, sorted by id."""
  lines = ''.join('%d:%s\n' % (label, labels_to_class_names[label])
                  for label in sorted(labels_to_class_names))
  write_text_atomic(os.path.join(dataset_dir, filename), lines)


def has_labels(dataset_dir, filename=LABELS_FILENAME):
  return os.path.isfile(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads `id:name` lines into {id: name}; names are text (UTF-8), kept as str."""
  path = os.path.join(dataset_dir, filename)
  labels_to_class_names = {}
  with open(path, encoding='utf-8') as f:
    for line_number, line in enumerate(f, 1):
      line = line.rstrip('\r\n')
      if not line:
        continue
      label, sep, name = line.partition(':')
      if not sep or not label.strip().isdigit():
        raise UserError('%s line %d is not "id:name": %r' % (path, line_number, line))
      labels_to_class_names[int(label)] = name
  return labels_to_class_names


# --- manifest.json ----------------------------------------------------------------------------

def write_manifest(dataset_dir, manifest):
  write_text_atomic(os.path.join(dataset_dir, MANIFEST_FILENAME),
                    json.dumps(manifest, indent=2, sort_keys=True) + '\n')


def read_manifest(dataset_dir):
  """The manifest as a dict, or None when there is none or it does not parse."""
  path = os.path.join(dataset_dir, MANIFEST_FILENAME)
  try:
    with open(path, encoding='utf-8') as f:
      manifest = json.load(f)
  except (OSError, ValueError):
    return None
  return manifest if isinstance(manifest, dict) else None
