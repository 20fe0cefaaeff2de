"""Nothing lost, part 2 (issue 15, item 14): files the system refuses (read-only folder,
permission denied, name too long) are one line and exit status 3 (cli.FILES_STATUS), and a
checkpoint whose .index is garbage is one line where it is the one to resume from or evaluate,
and is skipped and recorded by the evaluator's loop instead of crashing it at every restart."""
import errno
import json
import os
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf

import base
from evaluation import eval_state
from evaluation import evaluator
from evaluation.eval_config import EvalConfig
from rundir import checkpoints
from support.faults import tmpfs
from support.faults import write_tiny_checkpoints
from support.scripts import run_script
from support.tf_helpers import save_random_checkpoint
from support.tf_helpers import tiny_train_config
from training import resume
from training import trainer

TRAIN = 'train_alexnet.py'
EVAL = 'eval_alexnet.py'
LONG_NAME = 'n' * 300  # Longer than any file system allows a name (255).


def assert_files_error(result, *fragments):
  """Exit status 3, one 'error: ...' line on stderr naming the fragments, no traceback."""
  assert result.returncode == 3, (result.returncode, result.stderr[-3000:])
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  lines = [line for line in result.stderr.splitlines() if line.startswith('error: ')]
  assert len(lines) == 1 and result.stderr.strip().endswith(lines[0]), result.stderr[-3000:]
  for fragment in fragments:
    assert fragment in lines[0], (fragment, lines[0])


def train_flags(dataset_dir, train_dir):
  return ('--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir, '--batch_size=2',
          '--max_number_of_steps=1', '--num_readers=1', '--num_preprocessing_threads=1')


def eval_flags(dataset_dir, checkpoint_path, eval_dir, *extra):
  return ('--dataset_dir=%s' % dataset_dir, '--checkpoint_path=%s' % checkpoint_path,
          '--eval_dir=%s' % eval_dir, '--batch_size=5', '--embedding_size=0',
          '--grid_images=0') + extra


def garbage_index(prefix, data=b'not an sstable at all\n' * 20):
  with open(prefix + '.index', 'wb') as f:
    f.write(data)


# --- files the system refuses -----------------------------------------------------------------

@pytest.mark.parametrize('where', ['the folder', 'a new folder in it'])
def test_training_into_a_read_only_folder_is_a_files_error(records_dataset, tmp_path, where):
  """(In process: a FileSystemError leaves train_alexnet.py as one line with exit status 3, as
  the name too long below shows from the shell.)"""
  with tmpfs(tmp_path / 'ro', '1m', read_only=True) as read_only:
    train_dir = read_only if where == 'the folder' else os.path.join(read_only, 'run')
    with pytest.raises(base.FileSystemError) as error:
      trainer.train(tiny_train_config(records_dataset[0], train_dir, batch_size=2,
                                      max_number_of_steps=1, num_readers=1,
                                      num_preprocessing_threads=1))
  for fragment in ('%s is on a read-only file system' % read_only, 'give another --train_dir'):
    assert fragment in str(error.value), (fragment, str(error.value))


def test_a_train_dir_name_too_long_exits_3_in_one_line(records_dataset, tmp_path):
  result = run_script(TRAIN, *train_flags(records_dataset[0], tmp_path / LONG_NAME / 'run'))
  assert_files_error(result, '(300 characters) in %s is longer than the 255' % tmp_path,
                     'shorter names')


def test_an_eval_dir_on_a_read_only_file_system_exits_3_before_evaluating(records_dataset,
                                                                          tmp_path):
  prefix = save_random_checkpoint(str(tmp_path / 'train' / 'model.ckpt-1'), 5, 1)
  with tmpfs(tmp_path / 'ro', '1m', read_only=True) as read_only:
    result = run_script(EVAL, *eval_flags(records_dataset[0], prefix, read_only))
  assert_files_error(result, 'could not read or write files: %s is on a read-only file system'
                     % read_only)
  assert 'Evaluating' not in result.stderr  # Refused before the pass, not after it.


def test_an_os_error_the_scripts_meet_is_one_line_with_exit_status_3(monkeypatch, capsys):
  import cli

  def main(argv):
    raise PermissionError(errno.EACCES, 'Permission denied', '/data/runs/model.ckpt-5.index')

  monkeypatch.setattr(sys, 'argv', ['train_alexnet.py'])
  monkeypatch.setattr(threading, 'excepthook', threading.excepthook)  # cli.run wraps it
  with pytest.raises(SystemExit) as exit_:
    cli.run(main)
  assert exit_.value.code == cli.FILES_STATUS == 3
  assert capsys.readouterr().err == ('error: could not read or write files: permission denied '
                                     'for /data/runs/model.ckpt-5.index\n')


def test_tensorflow_errors_are_recognised_by_the_words_of_the_refusal():
  import tensorflow as tf
  error = tf.errors.PermissionDeniedError(
      None, None, "Graph execution error:\n\nNode: 'save/SaveV2'\n/runs/x/model.ckpt-5.data-"
      "00000-of-00001.tempstate123; Read-only file system\n\t [[{{node save/SaveV2}}]]")
  assert base.file_system_refusal(error) == (
      errno.EROFS, '/runs/x/model.ckpt-5.data-00000-of-00001.tempstate123')
  assert base.file_system_refusal(ValueError('no such thing')) is None


# --- a checkpoint whose .index is garbage -----------------------------------------------------

def test_resuming_from_a_checkpoint_with_a_garbage_index_is_one_line(tmp_path):
  prefixes = write_tiny_checkpoints(tmp_path, [5])
  garbage_index(prefixes[0])
  os.remove(os.path.join(str(tmp_path), checkpoints.STATE_FILENAME))
  # Without a state file this started again from step 0 and wrote over the run.
  with pytest.raises(base.UserError, match=r'holds no complete checkpoint to resume from '
                     r'\(model\.ckpt-5 \(it cannot be read \(.*sstable'):
    resume.repair_state(str(tmp_path))


def test_the_state_file_naming_a_garbage_checkpoint_says_why_it_cannot_be_resumed(tmp_path):
  prefixes = write_tiny_checkpoints(tmp_path, [5, 10])
  garbage_index(prefixes[1])
  assert resume.repair_state(str(tmp_path)) == prefixes[0]
  garbage_index(prefixes[0])
  with pytest.raises(base.UserError, match=r'checkpoint names .*model\.ckpt-5, but it cannot be '
                     r'read \(.*sstable'):
    resume.repair_state(str(tmp_path))


def test_evaluating_a_checkpoint_with_a_garbage_index_once_is_a_user_error(records_dataset,
                                                                             tmp_path):
  """(In process: eval_alexnet.py makes a UserError one line and exit 2, test_eval_script.)"""
  prefix = save_random_checkpoint(str(tmp_path / 'train' / 'model.ckpt-1'), 5, 1)
  garbage_index(prefix)
  with pytest.raises(base.UserError, match='checkpoint %s cannot be read: .*sstable' % prefix):
    evaluator.evaluate(eval_config(records_dataset[0], prefix, tmp_path / 'eval'))


def eval_config(dataset_dir, train_dir, eval_dir, **overrides):
  settings = dict(batch_size=5, embedding_size=0, grid_images=0, fixed_photos=0,
                  eval_interval_secs=0.01, timeout=0.5, max_number_of_steps=3)
  settings.update(overrides)
  return EvalConfig(dataset_dir=dataset_dir, checkpoint_path=str(train_dir),
                              eval_dir=str(eval_dir), **settings)


def infinite_fc8_biases(prefix):
  """Rewrites a checkpoint with its fc8 biases +inf (as a hand-edited or converted one might).
  (Restored into variables and saved from them: its 185 MB never pass through numpy or the
  graph as constants.)"""
  reader = tf.train.load_checkpoint(prefix)
  dtypes = reader.get_variable_to_dtype_map()
  with tf.Graph().as_default():
    variables = {name: tf.compat.v1.get_variable(name, shape, dtypes[name])
                 for name, shape in reader.get_variable_to_shape_map().items()}
    saver = tf.compat.v1.train.Saver(variables)
    [biases] = [v for name, v in variables.items() if name.endswith('fc8/biases')]
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, prefix)
      sess.run(biases.assign(tf.fill(tf.shape(biases), np.inf)))
      saver.save(sess, prefix, write_meta_graph=False)


def test_the_eval_loop_skips_and_records_a_garbage_checkpoint_once(records_dataset, tmp_path):
  train_dir, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  for step in (1, 2, 3, 4):
    save_random_checkpoint(str(train_dir / ('model.ckpt-%d' % step)), 5, step)
  garbage_index(str(train_dir / 'model.ckpt-1'))
  with open(str(train_dir / 'model.ckpt-2.data-00000-of-00001'), 'r+b') as f:
    f.seek(1000)
    f.write(b'\xff' * 64)  # Its weights damaged: the restore fails its checksum.
  infinite_fc8_biases(str(train_dir / 'model.ckpt-3'))  # readable, but no numbers come out
  results = evaluator.evaluate(eval_config(records_dataset[0], train_dir, eval_dir,
                                           max_number_of_steps=4))
  assert [r.step for r in results] == [4]
  with open(str(eval_dir / eval_state.EVAL_STATE_FILENAME)) as f:
    state = json.load(f)
  assert [(s['step'], s['checkpoint']) for s in state['skipped']] == [
      (1, 'model.ckpt-1'), (2, 'model.ckpt-2'), (3, 'model.ckpt-3')]
  assert 'sstable' in state['skipped'][0]['reason']
  assert 'cannot be read' in state['skipped'][1]['reason']
  assert 'gives logits that are not finite' in state['skipped'][2]['reason']
  # A restart goes on after them instead of crashing on the first again.
  assert evaluator.evaluate(eval_config(records_dataset[0], train_dir, eval_dir,
                                        max_number_of_steps=0)) == []
