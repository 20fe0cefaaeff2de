"""The commands README.md prints, run as printed, only smaller, in a fresh folder: the Quick start
(convert, train, evaluate) and what the console shows of it.

Made smaller, and only so: 4 synthetic photos per class with 5 for validation (README: 200 and
200); 2 training steps (README: 800) of batch 4 with one reader and one preprocessing thread.
Every other flag is the README's.
"""
import pytest

from support import readme_commands

QUICK_START = 'Quick start'
QUICK_SIZES = {'--synthetic': '4', '--num_validation': '5', '--max_number_of_steps': '2'}
SMALL_TRAINING = ['--batch_size=4', '--num_readers=1', '--num_preprocessing_threads=1']
# What tf-slim's Supervisor and evaluation and TensorFlow's sessions log at INFO: the suite's own
# lines say it (issue 21, item 4); -v 1 shows them.
LIBRARY_LINES = ('Running local_init_op', 'Done running local_init_op', 'Starting Session',
                 'Saving checkpoint to path', 'Starting Queues', 'global_step/sec',
                 'Recording summary at step', 'Starting evaluation at', 'Graph was finalized',
                 'Restoring parameters from', 'Inference Time', 'Finished evaluation at',
                 'Stopping Training', 'Finished training! Saving model to disk')


def small(command, sizes):
  """A README command with the sizes of `sizes` that it has, and a small training."""
  extra = SMALL_TRAINING if command[1] == 'train_alexnet.py' else []
  return readme_commands.shrink(
      command, {flag: value for flag, value in sizes.items()
                if readme_commands.flag_value(command, flag) is not None}, extra)


def run_all(commands, cwd):
  """Runs each command in cwd, in order; {script: [output (stderr + stdout)]}."""
  outputs = {}
  for command in commands:
    result = readme_commands.run(command, cwd)
    output = result.stderr + result.stdout
    assert result.returncode == 0, (' '.join(command), output[-3000:])
    outputs.setdefault(command[1], []).append(output)
  return outputs


@pytest.fixture(scope='module')
def quick_start(tmp_path_factory):
  """(folder, {script: [outputs]}) of the README's Quick start, run small in a fresh folder."""
  commands = readme_commands.section_commands(QUICK_START)
  assert [c[1] for c in commands] == ['download_and_convert_flowers.py', 'train_alexnet.py',
                                      'eval_alexnet.py']
  folder = tmp_path_factory.mktemp('readme')
  return folder, run_all([small(c, QUICK_SIZES) for c in commands], folder)


@pytest.mark.slow
def test_the_quick_start_trains_and_evaluates(quick_start):
  _, outputs = quick_start
  [training], [evaluation] = outputs['train_alexnet.py'], outputs['eval_alexnet.py']
  assert 'Training finished at step 2.' in training
  assert 'model.ckpt-2 (step 2) on 5 validation images: accuracy' in evaluation


@pytest.mark.slow
def test_the_console_holds_the_suite_s_lines_and_verbosity_1_the_libraries_too(quick_start):
  folder, outputs = quick_start
  for script, [output] in outputs.items():
    shown = [line for line in LIBRARY_LINES if line in output]
    assert not shown, (script, shown, output[-3000:])
  [evaluate] = [c for c in readme_commands.section_commands(QUICK_START)
                if c[1] == 'eval_alexnet.py']
  detailed = run_all([evaluate + ['-v', '1']], folder)['eval_alexnet.py'][0]
  assert 'Restoring parameters from runs/synthetic/model.ckpt-2' in detailed
  assert 'Inference Time' in detailed
