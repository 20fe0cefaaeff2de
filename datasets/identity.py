"""Which dataset a reader opened, and whether its folder still holds it.

TensorFlow's readers (the queue pipeline's TFRecordReader, tf.data's TFRecordDataset) open the
shards by name at every epoch: a conversion swapped in under a running trainer or evaluator
(download_and_convert_flowers.py --overwrite, other photos into the same --dataset_dir) would be
read from then on, under the class count, sizes and schedule of the one they opened. So a run
reads the dataset it opened, or stops. Its Identity, taken when reader.get_split opens it, is the
inode, size and modification time of each shard it reads, of labels.txt and of manifest.json (a
conversion renames new files over all of them, so each gets a new inode), and a description for
people. `changed_error` compares the folder with it: one stat per file, nothing read.

No TensorFlow here. Nothing here reads flags.
"""
import collections
import os

from base import UserError
from datasets import dataset_utils

Identity = collections.namedtuple('Identity', 'files description')


def _stat(path):
  try:
    stat = os.stat(path)
  except FileNotFoundError:
    return None
  return stat.st_ino, stat.st_size, stat.st_mtime_ns


def stat_files(dataset_dir, filenames):
  """((path, (inode, size, mtime) or None when absent), ...) of the shards, labels.txt and
  manifest.json: an Identity's files. Taken before they are read, so that a conversion swapped in
  while they are is noticed."""
  paths = list(filenames) + [os.path.join(dataset_dir, name) for name in (
      dataset_utils.LABELS_FILENAME, dataset_utils.MANIFEST_FILENAME)]
  return tuple((path, _stat(path)) for path in paths)


def describe(dataset_dir, split_name, manifest):
  """What dataset_dir holds, for people: '5 classes, 3320 train images, converted <UTC time>'
  from its manifest (a dict, or None without one), else what labels.txt says."""
  try:
    return '%d classes, %d %s images, converted %s' % (
        len(manifest['class_names']), manifest['splits'][split_name]['num_samples'], split_name,
        manifest.get('created', 'at an unknown time'))
  except (KeyError, TypeError, ValueError):
    pass
  if os.path.isdir(dataset_utils.staging_dir(dataset_dir)):
    return 'a conversion moving its files in'
  try:
    return '%d classes in %s, no %s' % (len(dataset_utils.read_label_file(dataset_dir)),
                                        dataset_utils.LABELS_FILENAME,
                                        dataset_utils.MANIFEST_FILENAME)
  except (OSError, UserError):
    return 'no readable %s' % dataset_utils.LABELS_FILENAME


def changed_error(dataset, work, outcome):
  """None while the folder holds the files `dataset` (reader.get_split's) was opened on, else the
  UserError 'dataset DIR changed while <work> (was ...; now ...): <outcome>'. A dataset opened
  without an identity (made by hand) never changes."""
  opened = getattr(dataset, 'opened', None)
  if opened is None or stat_files(dataset.dataset_dir, dataset.data_sources) == opened.files:
    return None
  return UserError('dataset %s changed while %s (was %s; now %s): %s' % (
      dataset.dataset_dir, work, opened.description,
      describe(dataset.dataset_dir, dataset.split_name,
               dataset_utils.read_manifest(dataset.dataset_dir)), outcome))
