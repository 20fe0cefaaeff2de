"""What the scripts print: INFO lines without absl's prefix, unless --verbosity asks for detail."""
import re
import subprocess
import sys

from support.scripts import ROOT

# A script in miniature: cli.run of a main that logs at INFO and WARNING, then again as with
# --verbosity=1 (the flag's value, set as absl's parser sets it).
_SCRIPT = '''
import cli
from absl import flags, logging
def main(argv):
  logging.info('step 10/40  loss 1.5')
  logging.warning('look here')
  flags.FLAGS.verbosity = 1
  logging.info('in detail')
  return 0
cli.run(main)
'''
_PREFIX = re.compile(r'^[IW]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\] ')


def test_info_lines_have_no_prefix_and_verbosity_brings_it_back():
  result = subprocess.run([sys.executable, '-c', _SCRIPT], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)
  lines = result.stderr.splitlines()
  assert result.returncode == 0 and 'step 10/40  loss 1.5' in lines, result.stderr
  assert [l for l in lines if _PREFIX.match(l) and l.endswith('] look here')], lines
  assert [l for l in lines if _PREFIX.match(l) and l.endswith('] in detail')], lines


# TensorFlow's and tf-slim's INFO lines (as tf-slim's Supervisor and evaluation log them) beside
# the suite's own line and a library warning.
_LIBRARY_SCRIPT = '''
import cli
import tensorflow as tf
from absl import logging
def main(argv):
  logging.info('Training finished at step 2.')
  tf.compat.v1.logging.info('Starting Queues.')
  tf.compat.v1.logging.info('Restoring parameters from %s', 'runs/x/model.ckpt-2')
  tf.compat.v1.logging.warning('a library warning')
  return 0
cli.run(main)
'''


def test_library_info_lines_show_only_from_verbosity_1():
  def run(*args):
    result = subprocess.run([sys.executable, '-c', _LIBRARY_SCRIPT, *args], cwd=ROOT, text=True,
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stderr
  quiet = run()
  assert 'Training finished at step 2.' in quiet.splitlines() and 'a library warning' in quiet
  assert 'Starting Queues' not in quiet and 'Restoring parameters' not in quiet, quiet
  detailed = run('-v', '1')
  assert 'Starting Queues.' in detailed and 'Restoring parameters from runs/x' in detailed
