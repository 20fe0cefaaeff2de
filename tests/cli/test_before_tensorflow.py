"""Flag errors and --helpshort of the six scripts answer before TensorFlow loads (cli parses the
flags first; the configs and their choices import no TensorFlow), with the same one-line error."""
import subprocess
import sys

import pytest

from support.scripts import ROOT
from support.scripts import assert_one_line_error

SCRIPTS = ('train_alexnet.py', 'eval_alexnet.py', 'predict_alexnet.py', 'export_alexnet.py',
           'download_and_convert_flowers.py', 'convert_torchvision_alexnet.py')

# Runs the script as `python script args` would, then says on stdout (last line) whether
# TensorFlow was imported by the time the process exits.
RUN_AND_TELL = '''
import atexit, runpy, sys
atexit.register(lambda: print('tensorflow imported: %s' % ('tensorflow' in sys.modules)))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def run_telling(script, *args):
  result = subprocess.run([sys.executable, '-c', RUN_AND_TELL, script] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  *output, last = result.stdout.splitlines() or ['']
  return result, '\n'.join(output), last


@pytest.mark.parametrize('script', SCRIPTS)
def test_a_flag_error_is_one_line_before_tensorflow(script):
  result, _, told = run_telling(script, '--no_such_flag=1')
  assert_one_line_error(result, 'Unknown command line flag \'no_such_flag\'', '--helpshort')
  assert told == 'tensorflow imported: False'


@pytest.mark.parametrize('script', SCRIPTS)
def test_helpshort_answers_before_tensorflow(script):
  result, output, told = run_telling(script, '--helpshort')
  # (absl's help flags exit with status 1)
  assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr[-2000:]
  assert '--' in output and script.split('.')[0] in output
  assert told == 'tensorflow imported: False'


def test_a_missing_flag_and_a_bad_choice_are_one_line_before_tensorflow():
  result, _, told = run_telling('train_alexnet.py', '--train_dir=runs/x')
  assert_one_line_error(result, '--dataset_dir')
  assert told == 'tensorflow imported: False'
  result, _, told = run_telling('eval_alexnet.py', '--dataset_dir=d', '--model_name=vgg')
  assert_one_line_error(result, 'model_name')
  assert told == 'tensorflow imported: False'


def test_training_settings_that_cannot_work_are_one_line_before_tensorflow(tmp_path):
  """train_config.validate's checks (ranges, settings that go together, the folders; the
  trainer makes them again in process) answer before TensorFlow loads, as a malformed TF_CONFIG
  does (test_cluster)."""
  result, _, told = run_telling('train_alexnet.py', '--dataset_dir=d', '--train_dir=t',
                                '--num_readers=0')
  assert_one_line_error(result, '--num_readers and --num_preprocessing_threads must be positive')
  assert told == 'tensorflow imported: False'
  (tmp_path / 'file').write_text('')
  result, _, told = run_telling('train_alexnet.py', '--dataset_dir=d',
                                '--train_dir=%s' % (tmp_path / 'file'))
  assert_one_line_error(result, 'is a file, not a folder')
  assert told == 'tensorflow imported: False'


def test_evaluation_settings_that_cannot_work_are_one_line_before_tensorflow():
  """eval_config.check_settings (evaluator.validate makes them again in process, with the
  net's size) and the flags an evaluation needs answer before TensorFlow loads."""
  flags = ['--dataset_dir=d', '--checkpoint_path=c', '--eval_dir=e']
  for extra, message in ((['--batch_size=0'], '--batch_size must be positive, got 0'),
                         (['--full_image', '--input_pipeline=queue'], '--full_image needs'),
                         (['--eval_dir='], '--eval_dir is required')):
    result, _, told = run_telling('eval_alexnet.py', *flags, *extra)
    assert_one_line_error(result, message)
    assert told == 'tensorflow imported: False'


def test_unexpected_arguments_are_one_line_before_tensorflow():
  result, _, told = run_telling('train_alexnet.py', '--dataset_dir=d', '--train_dir=t',
                                '--use_batch_norm', 'false')
  assert_one_line_error(result, 'unexpected arguments false')
  assert told == 'tensorflow imported: False'
