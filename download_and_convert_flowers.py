r"""Downloads the Flowers photos (or takes yours) and converts them to sharded TFRecords.

    python download_and_convert_flowers.py --dataset_dir=data/flowers
    python download_and_convert_flowers.py --dataset_dir=data/mine --photos_dir=my_photos
    python download_and_convert_flowers.py --dataset_dir=data/synth --synthetic=100 \
        --num_validation=100
    python download_and_convert_flowers.py --dataset_dir=data/flowers --verify

Writes DIR/<name>_{train,validation}_NNNNN-of-NNNNN.tfrecord, labels.txt and manifest.json (last,
the completion mark). Rerunning over a complete output does nothing; a half-written one is
rebuilt. A rebuild is made in DIR/.staging and swapped in only when complete: the earlier output
stays usable until then, and after a failure (a full disk, Ctrl-C). Everything (download,
extraction) happens inside --dataset_dir. Exit codes: 0 done, 1 --verify found problems, 2 a
usage error, 3 a full disk or a folder that cannot be written (one line on stderr), 130
interrupted by Ctrl-C.
"""
import sys

from absl import flags

from base import UserError
from datasets import images  # No TensorFlow: the converter's worker processes import this too.

flags.DEFINE_string('dataset_dir', None, 'Folder to write the TFRecords, labels.txt and '
                    'manifest.json to (created if needed).')
flags.DEFINE_string('dataset_name', 'flowers', 'Shards are named <name>_<split>_NNNNN-of-NNNNN.')
flags.DEFINE_string('archive', None, 'Photos archive (.tgz/.tar.gz/.tar/.zip of class folders): '
                    'a path or a file://, http:// or https:// URL. Default: the official '
                    'Flowers archive.')
flags.DEFINE_string('sha256', None, 'Expected SHA-256 of --archive (or of the default download).')
flags.DEFINE_string('photos_dir', None, 'A folder of class folders of photos to convert.')
flags.DEFINE_integer('synthetic', 0, 'Draw this many synthetic flower photos per class (from '
                     '--seed) instead of downloading.')
flags.DEFINE_integer('seed', 0, 'Seed of the train/validation split (and synthetic photos).')
flags.DEFINE_integer('num_validation', 350, 'Photos in the validation split; must be fewer '
                     'than all photos (it is not scaled down for small sources).')
flags.DEFINE_integer('num_shards', 5, 'TFRecord files per split (some may be empty when a '
                     'split has fewer photos).')
flags.DEFINE_integer('num_workers', 0, 'Processes decoding photos; 0 = all cores.')
flags.DEFINE_boolean('overwrite', False, 'Rebuild even if --dataset_dir is already complete.')
flags.DEFINE_boolean('cleanup', True, 'Remove the downloaded archive and the extracted photos '
                     'afterwards (--nocleanup keeps them in --dataset_dir).')
flags.DEFINE_boolean('verify', False, 'Only check an existing --dataset_dir: every record, '
                     'image and count; exit 1 if problems are found.')
flags.DEFINE_integer('max_pixels', images.DEFAULT_MAX_PIXELS, 'Photos with more pixels are '
                     'skipped (decompression-bomb guard); a value above Pillow\'s own limit '
                     'raises that limit for the run.')

FLAGS = flags.FLAGS
INTERRUPTED_STATUS = 130  # Ctrl-C, as a shell reports it.
_SOURCE_FLAGS = ('archive', 'sha256', 'photos_dir', 'synthetic')


def verify(dataset_dir, dataset_name):
  """Prints the problems found; returns the exit code."""
  problems = checks.verify_dataset(dataset_dir, dataset_name)
  for problem in problems:
    print('problem: %s' % problem)
  if problems:
    print('%d problem(s) in %s' % (len(problems), dataset_dir))
    return 1
  print('%s: all records of %s verified' % (dataset_dir, dataset_name))
  return 0


def run(argv):
  if not FLAGS.dataset_dir:
    raise UserError('--dataset_dir is required: the folder to write the dataset to')
  if FLAGS.verify:
    given = ['--' + name for name in _SOURCE_FLAGS if getattr(FLAGS, name)]
    if given:
      raise UserError('--verify checks an existing --dataset_dir: drop %s' % ', '.join(given))
    return verify(FLAGS.dataset_dir, FLAGS.dataset_name)
  try:
    manifest = sources.download_and_convert(
        FLAGS.dataset_dir, archive=FLAGS.archive, sha256=FLAGS.sha256,
        photos_dir=FLAGS.photos_dir, synthetic=FLAGS.synthetic, dataset_name=FLAGS.dataset_name,
        num_validation=FLAGS.num_validation, num_shards=FLAGS.num_shards, seed=FLAGS.seed,
        num_workers=FLAGS.num_workers, overwrite=FLAGS.overwrite, cleanup=FLAGS.cleanup,
        max_pixels=FLAGS.max_pixels, flags=_flag_values())
  except KeyboardInterrupt:
    # The new output is built beside the old one and swapped in with Ctrl-C held back
    # (datasets/convert/staging.py): whichever dataset the folder holds is whole.
    print('interrupted: %s holds no half-written dataset (the earlier one, or the new one if '
          'it was complete); rerun to finish' % FLAGS.dataset_dir, file=sys.stderr)
    return INTERRUPTED_STATUS
  print(writer.summary_text(manifest, FLAGS.dataset_dir))
  return 0


def _flag_values():
  """This script's flags as a plain dict, for the manifest."""
  names = ('dataset_dir', 'dataset_name', 'archive', 'sha256', 'photos_dir', 'synthetic', 'seed',
           'num_validation', 'num_shards', 'num_workers', 'overwrite', 'cleanup', 'max_pixels')
  return {name: FLAGS[name].value for name in names}


if __name__ == '__main__':
  # Here, not at the top: the converter's worker processes re-import this script, and these
  # modules import TensorFlow, which they do not need (cli first: it quiets TensorFlow's start).
  import cli
  from datasets import checks
  from datasets.convert import sources
  from datasets.convert import writer
  cli.run(run, graph_mode=False)
