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
