"""Is a converted dataset whole? From the cheap check to the thorough one:

- check_complete / up_to_date: the files against manifest.json (names, sizes, labels.txt, no
  leftovers), and the settings it was made with; no record is read. The converter skips its
  work when these pass.
- corrupt_shards / damaged_shards_error: every record's length and CRC, for the trainer and the
  evaluator after TensorFlow reported lost data, to name the damaged shard.
- verify_dataset (download_and_convert_flowers.py --verify): every record decoded and counted.

Nothing here writes. Nothing here reads flags.
"""
import collections
import os

from absl import logging

from base import UserError
from datasets import dataset_utils
from datasets import records

MAX_LISTED = 10  # Bad records of a shard listed one by one; the rest only counted.
SPLITS = dataset_utils.SPLITS


# --- is an existing output complete? ----------------------------------------------------------

def _shard_problems(dataset_dir, manifest):
  """(the shard files manifest.json lists, problems with their presence and sizes)."""
  listed, problems = set(), []
  for split in SPLITS:
    for shard in manifest['splits'][split]['shards']:
      listed.add(shard['file'])
      path = os.path.join(dataset_dir, shard['file'])
      if not os.path.isfile(path):
        problems.append('shard %s is missing' % shard['file'])
      elif os.path.getsize(path) != shard['bytes']:
        problems.append('shard %s has %d bytes, manifest.json says %d'
                        % (shard['file'], os.path.getsize(path), shard['bytes']))
  return listed, problems


def _labels_problems(dataset_dir, class_names):
  if not dataset_utils.has_labels(dataset_dir):
    return ['%s is missing' % dataset_utils.LABELS_FILENAME]
  try:
    labels = dataset_utils.read_label_file(dataset_dir)
  except UserError as e:
    labels = str(e)
  if labels != dict(enumerate(class_names)):
    return ['%s does not match the class names in manifest.json' % dataset_utils.LABELS_FILENAME]
  return []


def _structure_problems(dataset_dir, dataset_name, manifest):
  """Everything about the files that does not match the manifest (no record is read)."""
  if dataset_utils.swap_interrupted(dataset_dir):
    return ['a conversion was interrupted while its new files were moved in: rerun it to finish']
  if manifest.get('format_version') != dataset_utils.FORMAT_VERSION:
    return ['manifest.json has format_version %r, expected %d'
            % (manifest.get('format_version'), dataset_utils.FORMAT_VERSION)]
  if manifest.get('dataset_name') != dataset_name:
    return ['manifest.json describes dataset %r, not %r'
            % (manifest.get('dataset_name'), dataset_name)]
  try:
    class_names = list(manifest['class_names'])
    listed, problems = _shard_problems(dataset_dir, manifest)
  except (KeyError, TypeError, ValueError) as e:
    return ['manifest.json is malformed (%s: %s)' % (type(e).__name__, e)]
  for split in SPLITS:
    for path in dataset_utils.shard_files(dataset_dir, dataset_name, split):
      if os.path.basename(path) not in listed:
        problems.append('extra shard %s is not in manifest.json (left by an earlier run?)'
                        % os.path.basename(path))
  for path in dataset_utils.temp_files(dataset_dir, dataset_name):
    problems.append('temporary file %s left by an interrupted run' % os.path.basename(path))
  return problems + _labels_problems(dataset_dir, class_names)


def check_complete(dataset_dir, dataset_name='flowers'):
  """(True, '') when dataset_dir holds a complete conversion, else (False, first problem)."""
  manifest = dataset_utils.read_manifest(dataset_dir)
  if manifest is None:
    return False, 'no readable %s in %s' % (dataset_utils.MANIFEST_FILENAME, dataset_dir)
  problems = _structure_problems(dataset_dir, dataset_name, manifest)
  if problems:
    return False, problems[0]
  return True, ''


# --- do the records read back? ----------------------------------------------------------------

def _corrupt_problem(name, good_records, error):
  return '%s is corrupt after %d good records: %s' % (name, good_records, error)


def corrupt_shards(paths):
  """Reads every record of each TFRecord file, checking only lengths and CRCs (no decoding);
  returns [(path, problem)] for the files that do not read back whole (flipped bytes, cut)."""
  found = []
  for path in paths:
    good = 0
    try:
      for _ in records.read(path):
        good += 1
    except records.CorruptFile as e:
      found.append((path, _corrupt_problem(os.path.basename(path), good, e)))
  return found


def damaged_shards_error(paths, dataset_dir, dataset_name='flowers'):
  """After a tf.errors.DataLossError while reading `paths`: a UserError naming the damaged shards
  and what to do, or None when every shard reads back whole (the error came from elsewhere)."""
  damaged = corrupt_shards(paths)
  if not damaged:
    return None
  name_flag = '' if dataset_name == 'flowers' else ' --dataset_name=%s' % dataset_name
  return UserError('damaged data: %s; check every shard with download_and_convert_flowers.py '
                   '--verify --dataset_dir=%s%s, then rerun its conversion with --overwrite'
                   % ('; '.join(problem for _, problem in damaged), dataset_dir, name_flag))


# --- verifying every record -------------------------------------------------------------------

def _record_problem(record, jpeg_shapes, num_classes):
  """What is wrong with one parsed record, or None."""
  if record.label is None or not 0 <= record.label < num_classes:
    return 'label %r is not a class id' % (record.label,)
  if record.encoded is None or record.format != records.IMAGE_FORMAT.encode():
    return 'no JPEG image'
  shape = jpeg_shapes.shape(record.encoded)
  if shape is None:
    return 'image does not decode with tf.io.decode_jpeg'
  if shape != [record.height, record.width, 3]:
    return 'image is %dx%d, the record says %sx%s' % (shape[0], shape[1], record.height,
                                                     record.width)
  return None


def _verify_shard(path, jpeg_shapes, num_classes, problems):
  """Reads every record of a shard; returns the labels read (a problem stops at that record)."""
  name = os.path.basename(path)
  labels = []
  bad = 0
  try:
    for index, serialized in enumerate(records.read(path)):
      record = records.parse(serialized)
      problem = _record_problem(record, jpeg_shapes, num_classes)
      if problem is not None:
        bad += 1
        if bad <= MAX_LISTED:
          filename = record.filename or b'?'
          problems.append('%s record %d (%s): %s'
                          % (name, index, filename.decode('utf-8', 'replace'), problem))
      labels.append(record.label)
  except records.CorruptFile as e:
    problems.append(_corrupt_problem(name, len(labels), e))
  if bad > MAX_LISTED:
    problems.append('%s: %d more bad records' % (name, bad - MAX_LISTED))
  return labels


def _verify_split(dataset_dir, split, entry, class_names, jpeg_shapes, problems):
  """Verifies a split's shards, then (when they had no problem) its counts per class."""
  per_class = collections.Counter()
  known = len(problems)
  for shard in entry['shards']:
    path = os.path.join(dataset_dir, shard['file'])
    if not os.path.isfile(path):
      continue  # Already reported.
    logging.info('Verifying %s', shard['file'])
    labels = _verify_shard(path, jpeg_shapes, len(class_names), problems)
    if len(labels) != shard['num_records']:
      problems.append('%s has %d records, manifest.json says %d'
                      % (shard['file'], len(labels), shard['num_records']))
    per_class.update(labels)
  if len(problems) > known:
    return  # The split's totals would only repeat what its shards' problems say.
  counts = {name: per_class[i] for i, name in enumerate(class_names)}
  if counts != entry.get('per_class', counts):
    problems.append('%s split: records per class %s, manifest.json says %s'
                    % (split, counts, entry['per_class']))
  if sum(per_class.values()) != entry['num_samples']:
    problems.append('%s split: %d records, manifest.json says %d'
                    % (split, sum(per_class.values()), entry['num_samples']))


def verify_dataset(dataset_dir, dataset_name='flowers'):
  """Reads every record: CRCs, JPEG decoding and size, counts per shard/split/class against the
  manifest. Returns a list of problems, each naming its file; empty when all is well."""
  if not os.path.isdir(dataset_dir):
    raise UserError('dataset folder %s does not exist: give the --dataset_dir of a conversion'
                    % dataset_dir)
  manifest = dataset_utils.read_manifest(dataset_dir)
  if manifest is None:
    return ['no readable %s in %s (the conversion never finished): rerun the conversion'
            % (dataset_utils.MANIFEST_FILENAME, dataset_dir)]
  problems = _structure_problems(dataset_dir, dataset_name, manifest)
  if any(p.startswith('manifest.json') for p in problems):
    return problems
  jpeg_shapes = records.JpegShapes()
  try:
    for split in SPLITS:
      _verify_split(dataset_dir, split, manifest['splits'][split], manifest['class_names'],
                    jpeg_shapes, problems)
  finally:
    jpeg_shapes.close()
  return problems
