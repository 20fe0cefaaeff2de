"""What the three scripts share: a quiet TensorFlow start-up, graph mode, flag errors and user
errors as one line on stderr with exit status 2, absl logging for everything else.

Import this before anything that imports TensorFlow.
"""
import contextlib
import logging as std_logging
import os
import re
import sys
import tempfile
import traceback
import warnings

from absl import app
from absl import flags
from absl import logging

USAGE_STATUS = 2

# TensorFlow's C++ start-up chatter, printed before its logging is set up (so
# TF_CPP_MIN_LOG_LEVEL cannot hide it). TF_CPP_MIN_LOG_LEVEL=0 shows it again.
_CHATTER = re.compile(r'WARNING: All log messages before absl::InitializeLog|'
                      r'^[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cuda_platform|cpu_feature_guard)'
                      r'\.cc:|^To enable the following instructions:')


@contextlib.contextmanager
def _filtered_stderr():
  """Captures what C++ code writes to file descriptor 2; replays all but the chatter."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile(mode='w+b') as capture:
    os.dup2(capture.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      capture.seek(0)
      for line in capture.read().decode('utf-8', 'replace').splitlines(True):
        if not _CHATTER.search(line):
          sys.stderr.write(line)


def _import_tensorflow():
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  quiet = os.environ['TF_CPP_MIN_LOG_LEVEL'] != '0'
  with _filtered_stderr() if quiet else contextlib.nullcontext():
    import tensorflow as tf
    tf.config.list_physical_devices('GPU')  # the CUDA probe, which also talks


_import_tensorflow()


def fail(message):
  print('error: %s' % message, file=sys.stderr)
  sys.exit(USAGE_STATUS)


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail('%s (see --helpshort)' % str(e).splitlines()[0])


class _NoDeprecationNotices(std_logging.Filter):
  """TensorFlow's notices that tf.compat.v1 APIs are deprecated: we use them on purpose."""

  def filter(self, record):
    return record.filename != 'deprecation.py'


_GRAPH_BUILDERS = tuple(os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
                        for name in ('nets', 'preprocessing', 'compat.py'))


def _raised_by_graph_builder(error):
  """A ValueError that nets/, preprocessing/ or compat raised: a precise message about the
  settings (an image too small for the net, say), not a bug to show a traceback for."""
  if not isinstance(error, ValueError):
    return False
  frames = traceback.extract_tb(error.__traceback__)
  return bool(frames) and os.path.abspath(frames[-1].filename).startswith(_GRAPH_BUILDERS)


def run(main, graph_mode=True):
  """Runs main(argv) under absl. A UserError (base), or a ValueError that the graph builders
  raise with a precise message, becomes one line on stderr and exit status 2."""
  import tensorflow as tf
  from base import UserError

  if graph_mode:
    tf.compat.v1.disable_eager_execution()
  # tf-slim's layers call keras' deprecated layer.apply: nothing a user can act on.
  warnings.filterwarnings('ignore', message='`layer.apply` is deprecated')
  tf_logger = tf.get_logger()
  tf_logger.addFilter(_NoDeprecationNotices())
  for handler in list(tf_logger.handlers):  # absl's handler prints its records already
    tf_logger.removeHandler(handler)

  def guarded(argv):
    try:
      if len(argv) > 1:  # e.g. "--use_batch_norm false": absl would drop the "false"
        raise UserError('unexpected arguments %s: every option is a --flag=value'
                        % ' '.join(argv[1:]))
      return main(argv)
    except UserError as e:
      fail(e)
    except ValueError as e:
      if not _raised_by_graph_builder(e):
        raise
      fail(e)

  app.run(guarded, flags_parser=_parse_flags)
