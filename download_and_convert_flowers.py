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
import dataclasses
import sys
from typing import Optional

import cli
from base import UserError
from base import options
from base.options import REQUIRED
from base.options import option
from datasets import images  # No TensorFlow: the converter's worker processes import this too.

# No TensorFlow above: the flags answer before it loads, and the worker processes (started with
# 'spawn', they re-import this script as __mp_main__) do without it. What uses it (the checks,
# the converter) is imported in verify() and run(), after cli started TensorFlow quietly.

INTERRUPTED_STATUS = 130  # Ctrl-C, as a shell reports it.
_SOURCE_FLAGS = ('archive', 'sha256', 'photos_dir', 'synthetic')


@dataclasses.dataclass
class ConvertConfig:
  """What to convert, and how: a field per flag of this script (base.options)."""
  dataset_dir: str = option(REQUIRED, 'Folder to write the TFRecords, labels.txt and '
                            'manifest.json to (created if needed).')
  dataset_name: str = option('flowers', 'Shards are named <name>_<split>_NNNNN-of-NNNNN.')
  archive: Optional[str] = option(
      None, 'Photos archive (.tgz/.tar.gz/.tar/.zip of class folders): a path or a file://, '
      'http:// or https:// URL. Default: the official Flowers archive.')
  sha256: Optional[str] = option(
      None, 'Expected SHA-256 of --archive (or of the default download).')
  photos_dir: Optional[str] = option(None, 'A folder of class folders of photos to convert.')
  synthetic: int = option(0, 'Draw this many synthetic flower photos per class (from --seed) '
                          'instead of downloading.')
  seed: int = option(0, 'Seed of the train/validation split (and synthetic photos).')
  num_validation: int = option(350, 'Photos in the validation split; must be fewer than all '
                               'photos (it is not scaled down for small sources).')
  num_shards: int = option(5, 'TFRecord files per split (some may be empty when a split has '
                           'fewer photos).')
  num_workers: int = option(0, 'Processes drawing (--synthetic) and decoding photos; 0 = all '
                            'cores.')
  overwrite: bool = option(False, 'Rebuild even if --dataset_dir is already complete.')
  cleanup: bool = option(True, 'Remove the downloaded archive and the extracted photos '
                         'afterwards (--nocleanup keeps them in --dataset_dir).')
  max_pixels: int = option(images.DEFAULT_MAX_PIXELS, 'Photos with more pixels are skipped '
                           '(decompression-bomb guard); a value above Pillow\'s own limit '
                           'raises that limit for the run.')
  verify: bool = option(False, 'Only check an existing --dataset_dir: every record, image and '
                        'count; exit 1 if problems are found.')


options.define_flags(ConvertConfig)  # this script's flags (not a topic's: no --helpfull topics)


def verify(dataset_dir, dataset_name):
  """Prints the problems found; returns the exit code."""
  from datasets import checks
  problems = checks.verify_dataset(dataset_dir, dataset_name)
  for problem in problems:
    print('problem: %s' % problem)
  if problems:
    print('%d problem(s) in %s' % (len(problems), dataset_dir))
    return 1
  print('%s: all records of %s verified' % (dataset_dir, dataset_name))
  return 0


def run(config):
  """Converts the photos a ConvertConfig names into config.dataset_dir (with config.verify:
  checks that folder's dataset instead); prints the summary and returns the exit code."""
  from datasets.convert import sources
  from datasets.convert import writer

  if not config.dataset_dir:
    raise UserError('--dataset_dir is required: the folder to write the dataset to')
  if config.verify:
    given = ['--' + name for name in _SOURCE_FLAGS if getattr(config, name)]
    if given:
      raise UserError('--verify checks an existing --dataset_dir: drop %s' % ', '.join(given))
    return verify(config.dataset_dir, config.dataset_name)
  settings = dataclasses.asdict(config)
  del settings['verify']
  try:  # the manifest records the settings under 'flags'
    manifest = sources.download_and_convert(flags=dict(settings), **settings)
  except KeyboardInterrupt:
    # The new output is built beside the old one and swapped in with Ctrl-C held back
    # (datasets/convert/staging.py): whichever dataset the folder holds is whole.
    print('interrupted: %s holds no half-written dataset (the earlier one, or the new one if '
          'it was complete); rerun to finish' % config.dataset_dir, file=sys.stderr)
    return INTERRUPTED_STATUS
  print(writer.summary_text(manifest, config.dataset_dir))
  return 0


def main(argv):
  del argv
  return run(options.from_flags(ConvertConfig))


if __name__ == '__main__':
  cli.run(main, graph_mode=False)
