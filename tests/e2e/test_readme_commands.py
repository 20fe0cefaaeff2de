"""The commands README.md prints, run as printed, only smaller, one after the other in a fresh
folder: the Quick start (convert, train, evaluate), what the console shows of it and what the
TensorBoard command it prints shows in HParams, then the pretrained recipe (convert
torchvision's weights, fine-tune in two stages, evaluate).

Made smaller, and only so (SIZES): 4 synthetic photos per class with 5 for validation (README:
200 and 200); each --max_number_of_steps=N becomes N // 750, at least 2 (500, 1500, 3000 ->
2, 2, 4) of batch 4 with one reader and one preprocessing thread; the recipe's photos are the
Quick start's synthetic ones (data/flowers -> data/synthetic_flowers: the real archive cannot be
downloaded here), its .pth random weights written by the tests' own writer
(support.pth_files), and without torch --verify is left out (it runs torchvision). Every other
flag is the README's. Not run: the sections whose commands download the real photos, serve,
or run a cluster (the e2e tests of those scripts run them).
"""
import importlib.util

import pytest

from support import built_once
from support import pth_files
from support import readme_commands
from support import tb_server

QUICK_START = 'Quick start'
PRETRAINED = 'A pretrained start: torchvision\'s ImageNet AlexNet'
SIZES = {'--synthetic': '4', '--num_validation': '5',
         '--max_number_of_steps': lambda steps: str(max(2, int(steps) // 750))}
SMALL_TRAINING = ['--batch_size=4', '--num_readers=1', '--num_preprocessing_threads=1']
REAL_PHOTOS, SYNTHETIC_PHOTOS = 'data/flowers', 'data/synthetic_flowers'
HAS_TORCH = all(importlib.util.find_spec(name) for name in ('torch', 'torchvision'))
# What tf-slim's Supervisor and evaluation and TensorFlow's sessions log at INFO: the suite's own
# lines say it (issue 21, item 4); -v 1 shows them.
LIBRARY_LINES = ('Running local_init_op', 'Done running local_init_op', 'Starting Session',
                 'Saving checkpoint to path', 'Starting Queues', 'global_step/sec',
                 'Recording summary at step', 'Starting evaluation at', 'Graph was finalized',
                 'Restoring parameters from', 'Inference Time', 'Finished evaluation at',
                 'Stopping Training', 'Finished training! Saving model to disk')


def small(command, values=None, drop=()):
  """A README command with the SIZES it has (and `values`), a small training, the synthetic
  photos for the real ones."""
  command = [word.replace(REAL_PHOTOS, SYNTHETIC_PHOTOS) for word in command]
  values = dict({flag: value for flag, value in SIZES.items()
                 if readme_commands.flag_value(command, flag) is not None}, **(values or {}))
  extra = SMALL_TRAINING if command[1] == 'train_alexnet.py' else []
  return readme_commands.shrink(command, values, extra, drop)


def run_all(commands, cwd):
  """Runs each command in cwd, in order; {script: [output (stderr + stdout)]}."""
  outputs = {}
  for command in commands:
    result = readme_commands.run(command, cwd)
    output = result.stderr + result.stdout
    assert result.returncode == 0, (' '.join(command), output[-3000:])
    outputs.setdefault(command[1], []).append(output)
  return outputs


@pytest.fixture(scope='session')
def quick_start(tmp_path_factory):
  """(folder, {script: [outputs]}) of the README's Quick start, run small in a fresh folder: once
  per pytest run, not once per worker that runs one of this module's tests (built_once)."""
  commands = readme_commands.section_commands(QUICK_START)
  assert [c[1] for c in commands] == ['download_and_convert_flowers.py', 'train_alexnet.py',
                                      'eval_alexnet.py']
  return built_once.folder(tmp_path_factory, 'readme',
                           lambda folder: run_all([small(c) for c in commands], folder))


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


@pytest.mark.slow
def test_hparams_shows_validation_accuracy_for_the_tensorboard_command_printed(quick_start):
  folder, outputs = quick_start
  printed = readme_commands.tensorboard_logdirs(readme_commands.section(QUICK_START))
  printed += readme_commands.tensorboard_logdirs(outputs['train_alexnet.py'][0])
  assert printed == ['runs/synthetic'] * 2      # the README's and training's end lines
  request = {'experimentName': '', 'startIndex': 0, 'sliceSize': 10,
             'allowedStatuses': ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE',
                                 'STATUS_RUNNING'], 'colParams': []}
  with tb_server.tensorboard(folder / printed[0]) as tb:
    def metrics():
      groups = tb.hparams('session_groups', request).get('sessionGroups', [])
      tags = {m['name']['tag'] for g in groups for m in g.get('metricValues', [])}
      return len(groups) == 1 and {'eval/accuracy', 'losses/total'} <= tags and tags
    tags = tb.wait_for(metrics, timeout=120)
  assert {'eval/accuracy', 'eval/loss', 'eval/mean_per_class_accuracy'} <= tags


@pytest.mark.slow
def test_the_pretrained_recipe_fine_tunes_and_evaluates_as_printed(quick_start):
  folder, _ = quick_start
  commands = readme_commands.section_commands(PRETRAINED)
  assert [c[1] for c in commands] == ['convert_torchvision_alexnet.py', 'train_alexnet.py',
                                      'train_alexnet.py', 'eval_alexnet.py']
  pth = str(folder / 'alexnet-owt-7be5be79.pth')
  pth_files.write_pth(pth, pth_files.random_state_dict())
  outputs = run_all([small(c, {'--pth': pth} if c[1].startswith('convert') else None,
                           drop=() if HAS_TORCH else ('--verify',)) for c in commands], folder)
  [evaluation] = outputs['eval_alexnet.py']      # the net, its preprocessing and size: run.json's
  assert 'alexnet_tv, 224 px (torchvision preprocessing), as run.json in runs/alexnet_tv' in (
      evaluation)
  assert 'on 5 validation images: accuracy' in evaluation
