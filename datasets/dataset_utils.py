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


def in_folder(dataset_dir, pattern):
  """The sorted paths matching a glob pattern inside dataset_dir, the folder taken literally (a
  folder named ds[1] must never match its sibling ds1's files)."""
  return sorted(glob.glob(os.path.join(glob.escape(dataset_dir), pattern)))


def shard_files(dataset_dir, dataset_name, split_name):
  """The sorted paths of a split's shards present in dataset_dir (of any shard count)."""
  return in_folder(dataset_dir, shard_glob(dataset_name, split_name))


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
  """Reads `id:name` lines into {id: name}; names are text (UTF-8), kept as str. A line that
  is not `id:name`, or repeats an id, is a UserError naming the file and the line."""
  path = os.path.join(dataset_dir, filename)
  labels_to_class_names = {}
  lines_of_ids = {}
  with open(path, encoding='utf-8') as f:
    for line_number, line in enumerate(f, 1):
      line = line.rstrip('\r\n')
      if not line:
        continue
      label, sep, name = line.partition(':')
      if not sep or not label.strip().isdigit():
        raise UserError('%s line %d is not "id:name": %r' % (path, line_number, line))
      label = int(label)
      if label in lines_of_ids:
        raise UserError('%s line %d repeats id %d of line %d; each class needs its own id'
                        % (path, line_number, label, lines_of_ids[label]))
      lines_of_ids[label] = line_number
      labels_to_class_names[label] = name
  return labels_to_class_names


def labels_problem(labels_to_names, class_names=None, per_class=None):
  """What is wrong with labels.txt's {id: name}, or None: its ids must be 0..N-1; given the
  manifest's class_names, it must list exactly them; given a split's per_class counts (by
  name), every class with records must be in it."""
  if not labels_to_names:
    return 'it lists no class'
  gaps = sorted(set(range(max(labels_to_names) + 1)) - set(labels_to_names))
  if gaps:
    return 'id %d is missing (ids run 0-%d without gaps)' % (gaps[0], max(labels_to_names))
  if len(set(labels_to_names.values())) < len(labels_to_names):
    return 'a class name appears twice'
  if class_names is not None:
    class_names = list(class_names)
    if len(class_names) != len(labels_to_names):
      missing = [name for name in class_names if name not in labels_to_names.values()]
      return 'it lists %d classes, manifest.json %d%s' % (
          len(labels_to_names), len(class_names),
          ' (%s missing)' % ', '.join(repr(name) for name in missing) if missing else '')
    for class_id, name in enumerate(class_names):
      if labels_to_names[class_id] != name:
        return 'id %d is %r, manifest.json says %r' % (class_id, labels_to_names[class_id], name)
  names = set(labels_to_names.values())
  unknown = sorted(name for name, count in (per_class or {}).items()
                   if count and name not in names)
  if unknown:
    return 'the records hold class %r, which it does not list' % unknown[0]
  return None


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


STAGING_DIRNAME = '.staging'


SWAPPING_FILENAME = 'SWAPPING'


def staging_dir(dataset_dir):
  return os.path.join(dataset_dir, STAGING_DIRNAME)


def swap_marker(dataset_dir):
  return os.path.join(staging_dir(dataset_dir), SWAPPING_FILENAME)


def swap_interrupted(dataset_dir):
  """True when a swap began and did not finish: dataset_dir mixes old and new files."""
  return os.path.isfile(swap_marker(dataset_dir))
