"""What the converter says per class, bounded for many classes: the summary's table of images per
class and split, and the warnings about classes a split lacks.

Up to base.LISTED_CLASSES classes the table lists every class, as it always did. Beyond, it
gives the images per class in three numbers (min, median, max) for each split and lists only the
classes with the fewest and the most images (base.worst_and_best), their names cut to NAME_WIDTH;
manifest.json holds the counts of every class (splits.<split>.per_class). A warning is one line
whatever the class count: a count, the reason and a few of the names. Nothing here reads flags.
"""
import statistics

import base
from datasets import dataset_utils

SPLITS = dataset_utils.SPLITS
NAME_WIDTH = 40  # beyond LISTED_CLASSES, longer class names are cut to this in the table
EXAMPLES = 3  # class names a warning gives as examples


def _cut(name, width=NAME_WIDTH):
  return name if len(name) <= width else name[:width - 3] + '...'


def _examples(names):
  shown = ', '.join(repr(_cut(name, 30)) for name in names[:EXAMPLES])
  return shown + (', ...' if len(names) > EXAMPLES else '')


def _counts(manifest, split):
  per_class = manifest['splits'][split]['per_class']
  return [per_class.get(name, 0) for name in manifest['class_names']]


def _spread(counts):
  return 'min %d, median %g, max %d' % (min(counts), statistics.median(counts), max(counts))


def class_table(manifest):
  """The summary's lines of images per class and split, 'total' last (indented two spaces)."""
  class_names = manifest['class_names']
  splits = manifest['splits']
  train, validation = _counts(manifest, 'train'), _counts(manifest, 'validation')
  rows = list(range(len(class_names)))
  worst, best, left_out = base.worst_and_best(rows, key=lambda i: (train[i] + validation[i],
                                                                   train[i]))
  lines = []
  names = {i: class_names[i] for i in worst + best}
  if left_out:
    names = {i: _cut(name) for i, name in names.items()}
    lines += ['  %d classes; images per class: train %s; validation %s'
              % (len(class_names), _spread(train), _spread(validation)),
              '  the %d with the fewest images and the %d with the most (every class in %s):'
              % (len(worst), len(best), dataset_utils.MANIFEST_FILENAME)]
  width = max([len('class')] + [len(name) for name in names.values()])
  lines.append('  %-*s %8s %11s' % (width, 'class', 'train', 'validation'))
  for i in worst:
    lines.append('  %-*s %8d %11d' % (width, names[i], train[i], validation[i]))
  if left_out:
    lines.append('  ... %d more classes' % left_out)
  for i in best:
    lines.append('  %-*s %8d %11d' % (width, names[i], train[i], validation[i]))
  lines.append('  %-*s %8d %11d' % (width, 'total', splits['train']['num_samples'],
                                   splits['validation']['num_samples']))
  return lines


def _missing(manifest):
  """([classes with training photos and no validation photo], [the other way round])."""
  train, validation = _counts(manifest, 'train'), _counts(manifest, 'validation')
  names = manifest['class_names']
  return ([name for name, t, v in zip(names, train, validation) if t and not v],
          [name for name, t, v in zip(names, train, validation) if v and not t])


def missing_lines(manifest):
  """The summary's lines about classes one split lacks (none when both have every class, or
  when no validation split was asked for)."""
  if not manifest['splits']['validation']['num_samples']:
    return []
  no_validation, no_train = _missing(manifest)
  lines = []
  if no_validation:
    lines.append('Classes without a validation photo: %d of %d (%s); see per_class in %s'
                 % (len(no_validation), len(manifest['class_names']),
                    _examples(no_validation), dataset_utils.MANIFEST_FILENAME))
  if no_train:
    lines.append('Classes without a training photo: %d of %d (%s); see per_class in %s'
                 % (len(no_train), len(manifest['class_names']), _examples(no_train),
                    dataset_utils.MANIFEST_FILENAME))
  return lines


def split_warnings(manifest, photos_per_class):
  """One line per problem with the split just written: classes left without a validation photo
  (and why), classes with no training photo. photos_per_class: {class name: photos listed}."""
  if not manifest['splits']['validation']['num_samples'] and not manifest['num_validation']:
    return []
  no_validation, no_train = _missing(manifest)
  num_classes = len(manifest['class_names'])
  warnings = []
  if no_validation:
    if manifest.get('split') == 'given':
      why = 'the %s/ folder has no photo of them' % manifest['split_folders']['validation']
    else:
      single = sum(1 for name in no_validation if photos_per_class.get(name) == 1)
      many = sum(1 for count in photos_per_class.values() if count >= 2)
      reasons = []
      if single:
        reasons.append('%d have a single photo, which goes to training' % single)
      if len(no_validation) > single:
        reasons.append(
            '%d got none as --num_validation=%d is below the %d classes of two or more photos'
            % (len(no_validation) - single, manifest['num_validation'], many)
            if manifest['num_validation'] < many else
            '%d lost theirs to skipped photos' % (len(no_validation) - single))
      why = '; '.join(reasons)
    warnings.append('%d of %d classes have no validation photo, so evaluation cannot measure '
                    'them: %s (%s; per_class in %s).' % (
                        len(no_validation), num_classes, why, _examples(no_validation),
                        dataset_utils.MANIFEST_FILENAME))
  if no_train:
    warnings.append('%d of %d classes have validation photos but no training photo, so '
                    'training cannot learn them (%s).' % (len(no_train), num_classes,
                                                         _examples(no_train)))
  return warnings
