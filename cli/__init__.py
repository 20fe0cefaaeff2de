"""What the six scripts (train_alexnet, eval_alexnet, predict_alexnet, export_alexnet,
download_and_convert_flowers, convert_torchvision_alexnet) share: a quiet TensorFlow start-up,
graph mode, flag errors and user errors as one line on stderr with exit status 2, files the
system could not read or write (full, read-only, permission denied, name too long) and a process
out of memory or address space (a thread that cannot start, a MemoryError, TensorFlow's OOM:
ulimit -v) as one line with exit status 3, absl logging for everything else (its INFO lines
without absl's prefix unless --verbosity is above 0; TensorFlow's and tf-slim's INFO lines only
then).

Flags are parsed before TensorFlow loads: a flag error, --help, --helpshort and --helpfull answer
at once. cli imports TensorFlow (quietly) only then, before main; so the scripts define their
flags from TensorFlow-free modules (the configs) and import what uses TensorFlow inside main.
"""
import contextlib
import logging as std_logging
import os
import re
import resource
import sys
import tempfile
import threading
import warnings

from absl import app
from absl import flags
from absl import logging

import base

USAGE_STATUS = 2   # a flag or input the user can fix (1 is the converter's --verify findings)
FILES_STATUS = 3   # the file system refused a read or write: full, read-only, permissions, names;
                   # or the process ran out of memory or address space (resource limits)
_NO_THREAD = "can't start new thread"  # Python's RuntimeError when pthread_create fails
_OOM = 'OOM when allocating'  # TensorFlow's ResourceExhaustedError for a tensor
_UNPARSED = 'Cannot parse tensor from proto'  # ... and its error for a constant it cannot allocate
_CLOSED_SESSION = 'Attempted to use a closed Session'  # a thread's session.run after the close

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
  return tf


def fail(message, status=USAGE_STATUS):
  print('error: %s' % message, file=sys.stderr)
  sys.exit(status)


def _fail_at_once(message):
  """fail(message, FILES_STATUS) without Python's finalization: a process out of memory leaves
  threads blocked inside TensorFlow, and finalization would unwind them through its C++ code
  (an abort, status 134, after the line)."""
  print('error: %s' % message, file=sys.stderr)
  logging.flush()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(FILES_STATUS)


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail('%s (see --helpshort)' % base.first_line(e))


class _NoDeprecationNotices(std_logging.Filter):
  """TensorFlow's notices that tf.compat.v1 APIs are deprecated (we use them on purpose), and
  that a tensor of its own was never used (tf_should_use: a screen of stack when a run fails
  before the Supervisor ran its readiness check)."""

  def filter(self, record):
    return record.filename not in ('deprecation.py', 'tf_should_use.py')


class _LibraryInfoAtVerbosity(std_logging.Filter):
  """TensorFlow's and tf-slim's INFO lines (the Supervisor's "Starting Queues", "global_step/sec",
  "Saving checkpoint to path", the evaluation's "Restoring parameters from", "Inference Time",
  ...) only from --verbosity=1 (-v 1) on: the suite's own lines (the start line, progress, the
  results table, the end lines) say what they say, for the user. Warnings and errors always."""

  def filter(self, record):
    return record.levelno >= std_logging.WARNING or flags.FLAGS['verbosity'].value >= 1


class _ShortThreadErrors(std_logging.Filter):
  """TensorFlow's thread coordinator (and tf-slim's loop after it) log the error that stopped a
  thread with its traceback and the op's whole creation stack. The error is raised again in the
  main thread, which reports it (one line for a file the system refused, a traceback for a bug),
  so one line of it is enough here."""

  def filter(self, record):
    if record.filename in ('coordinator.py', 'learning.py') and isinstance(record.args, tuple):
      record.exc_info = None
      record.args = tuple(_one_line(arg) if isinstance(arg, (str, Exception)) else arg
                          for arg in record.args)
    return True


def _one_line(error):
  """The line of a (TensorFlow) error message that says what went wrong."""
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  refusal = base.file_system_refusal(error)
  found = None
  for i, line in enumerate(lines):
    if refusal and line.endswith(os.strerror(refusal[0])):
      return line
    if found is None and line.startswith("Node: '") and i + 1 < len(lines):
      found = lines[i + 1]  # After "Graph execution error: Detected at node ... Node: 'x'".
  return found or base.first_line(error)


def _thread_excepthook(previous):
  """A thread that dies because the file system refused a write (TensorFlow's event writer on a
  full disk) or the process is out of memory logs one line, not a traceback: the main thread
  reports the error. One whose session was closed under it (a CancelledError, or a closed
  session: the main thread failed and closed it) says so only with --verbosity=1."""
  import tensorflow as tf

  def hook(args):
    error = args.exc_value
    name = args.thread.name if args.thread else 'A thread'
    if isinstance(error, tf.errors.CancelledError) or _CLOSED_SESSION in str(error):
      logging.vlog(1, '%s stopped: %s', name, _one_line(error))
    elif base.file_system_refusal(error) is None and out_of_memory(error) is None:
      previous(args)
    else:
      logging.error('%s stopped: %s', name, _one_line(error))
  return hook


def _allocation_failure(error, limited):
  """What could not be had, when `error` is a failure to allocate memory, else None. TensorFlow
  reports a large constant it could not allocate as a tensor that does not parse: taken for
  one only under an address-space limit (`limited`)."""
  import tensorflow as tf

  if isinstance(error, RuntimeError) and _NO_THREAD in str(error):
    return 'cannot start a thread'
  if isinstance(error, MemoryError):
    return 'cannot allocate memory'
  if isinstance(error, tf.errors.ResourceExhaustedError) and _OOM in str(error):
    return _one_line(error)
  if limited and isinstance(error, tf.errors.InvalidArgumentError) and _UNPARSED in str(error):
    return 'cannot allocate a tensor (%s)' % _one_line(error)
  return None


def out_of_memory(error, limit=None):
  """The line for a process out of memory or address space (a thread that cannot start, a
  MemoryError, TensorFlow's OOM), naming the address-space limit (ulimit -v; `limit` in bytes,
  default the process's own) when one is set; None for any other error."""
  if limit is None:
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
  limited = limit != resource.RLIM_INFINITY
  what = _allocation_failure(error, limited)
  if what is None:
    return None
  return ('out of memory or address space: %s%s; raise the limit (ulimit -v unlimited) or ask '
          'for less (a smaller --batch_size, fewer threads or workers)'
          % (what, ' (ulimit -v allows %s)' % base.format_bytes(limit) if limited else ''))


def _file_system_error(error):
  """A FileSystemError for an error the file system caused (OSError, or TensorFlow's error
  naming the refused file), else None."""
  refusal = base.file_system_refusal(error)
  if refusal is None:
    return None
  return base.FileSystemError('could not read or write files: %s' % base.describe_refusal(
      *refusal))


def _start_tensorflow(graph_mode):
  """Imports TensorFlow quietly and sets up what the scripts share: graph mode, its loggers'
  filters, the threads' one-line errors."""
  tf = _import_tensorflow()
  if graph_mode:
    tf.compat.v1.disable_eager_execution()
  tf_logger = tf.get_logger()
  tf_logger.addFilter(_NoDeprecationNotices())
  tf_logger.addFilter(_LibraryInfoAtVerbosity())
  tf_logger.addFilter(_ShortThreadErrors())
  threading.excepthook = _thread_excepthook(threading.excepthook)
  for handler in list(tf_logger.handlers):  # absl's handler prints its records already
    tf_logger.removeHandler(handler)


def run(main, graph_mode=True, takes_arguments=False, before_tensorflow=None):
  """Runs main(argv) under absl. A UserError (base; base.BadArgument is the one the nets,
  preprocessing and compat raise for settings they cannot build with, an image too small for the
  net, say) becomes one line on stderr and exit status 2; a file the system refused to read or
  write (base.FileSystemError, an OSError, TensorFlow's error naming it) or a process out of
  memory or address space (out_of_memory) one line and exit status 3. Arguments that are not
  flags are a UserError unless takes_arguments (predict_alexnet.py's photos).

  The flags are parsed (and those arguments refused) before TensorFlow loads; then
  before_tensorflow() runs, when given (convert_torchvision_alexnet.py's torch import), then
  TensorFlow starts (_start_tensorflow), then main."""
  # INFO lines without absl's prefix ("I1204 12:00:00.123456 140... file.py:12] "); --verbosity=1
  # (or --showprefixforinfo) shows it again, warnings and errors keep it.
  flags.FLAGS.set_default('showprefixforinfo', False)
  # tf-slim's layers call keras' deprecated layer.apply, and its Supervisor's summary thread may
  # write once more after the writer closed at the end: nothing a user can act on.
  warnings.filterwarnings('ignore', message='`layer.apply` is deprecated')
  warnings.filterwarnings('ignore', message='Attempting to use a closed FileWriter')

  def guarded(argv):
    try:
      # e.g. "--use_batch_norm false": absl would drop the "false"
      if len(argv) > 1 and not takes_arguments:
        raise base.UserError('unexpected arguments %s: every option is a --flag=value'
                             % ' '.join(argv[1:]))
      if before_tensorflow is not None:
        before_tensorflow()
      _start_tensorflow(graph_mode)
      return main(argv)
    except base.FileSystemError as e:
      fail(e, FILES_STATUS)
    except base.UserError as e:
      fail(e)
    except Exception as e:  # pylint: disable=broad-except
      refused = _file_system_error(e)
      if refused is not None:
        fail(refused, FILES_STATUS)
      exhausted = out_of_memory(e)
      if exhausted is None:
        raise
      _fail_at_once(exhausted)

  app.run(guarded, flags_parser=_parse_flags)
