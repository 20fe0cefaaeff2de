"""What the three scripts share: quiet TensorFlow start-up, flag errors and user errors as one
line on stderr with exit status 2, absl logging for everything else.

Import this before anything that imports TensorFlow.
"""
import os
import sys

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing); TF_CPP_MIN_LOG_LEVEL=0 shows it again.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402

USAGE_STATUS = 2


def fail(message):
  print('error: %s' % message, file=sys.stderr)
  sys.exit(USAGE_STATUS)


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail('%s (see --helpshort)' % str(e).splitlines()[0])


def run(main):
  """Runs main(argv) under absl; UserError (from datasets.dataset_utils) becomes one line, exit 2."""
  from datasets.dataset_utils import UserError

  def guarded(argv):
    logging.get_absl_handler().use_absl_log_file = False
    try:
      return main(argv)
    except UserError as e:
      fail(e)

  app.run(guarded, flags_parser=_parse_flags)
