"""Classifies your own photos with a trained checkpoint, and shows where the net looked.

  python predict_alexnet.py --checkpoint_path=runs/alexnet photo.jpg more_photos/ 'shots/*.png'
  python predict_alexnet.py --checkpoint_path=runs/alexnet --output=predictions.csv \\
                            --explain=runs/alexnet/explained photos/

Prints the top classes of every photo in an aligned table (stdout); --output writes every
class's probability as CSV or JSON lines; --explain writes a Grad-CAM picture per photo. Photos
that cannot be read are skipped and listed at the end (stderr). Exit status: 0 when every photo
was classified, 1 when any was skipped, 2 for a usage error.
"""
import sys

from absl import flags
from absl import logging

import cli
from cli import script_flags
from inference import predict_config
from inference import reports

FLAGS = flags.FLAGS
CONFIG = predict_config.PredictConfig  # every option lives there: default, help, topic, range
SKIPPED_STATUS = 1


def define_flags():
  script_flags.define_config_flags(CONFIG)  # a flag per PredictConfig option, with its help
  script_flags.define_checkpoint_flags()


define_flags()
flags.adopt_module_key_flags(script_flags)  # listed in --helpshort, as this script's own


def main(argv):
  # Here, not above: it imports TensorFlow, which cli loads only after the flags parsed.
  from inference import predict

  config = script_flags.config_from_flags(CONFIG, photos=argv[1:],
                                          overrides=script_flags.checkpoint_overrides())
  try:
    predictions = predict.predict(config)
  except KeyboardInterrupt:
    logging.info('Stopped.')
    return 130
  skipped = [(p.path, p.error) for p in predictions if p.error]
  for line in reports.skipped_lines(skipped, len(predictions)):
    print(line, file=sys.stderr)
  if config.output:
    logging.info('Wrote %s.', config.output)
  return SKIPPED_STATUS if skipped else 0


if __name__ == '__main__':
  flags.mark_flags_as_required(['checkpoint_path'])
  sys.exit(cli.run(main, takes_arguments=True))
