"""A run folder is relocatable (copied, moved, mounted elsewhere): TensorFlow's state file may
name the original folder's checkpoints by absolute paths, and only files inside --train_dir are
ever resumed from or rotated away."""
import logging
import os
import shutil

import pytest
import tensorflow as tf

from rundir import checkpoints
from support import tf_helpers
from support.faults import state_path
from support.faults import write_tiny_checkpoints
from training import resume
from training import saving
from training import trainer


def files_of(folder):
  return sorted(os.listdir(str(folder)))


def state_text(folder):
  with open(state_path(folder)) as f:
    return f.read()


def test_a_copied_folder_resumes_from_its_own_checkpoint_and_names_it_relatively(tmp_path):
  original, copy = tmp_path / 'A', tmp_path / 'B'
  write_tiny_checkpoints(original, [5, 10])
  assert str(original) in state_text(original)  # What TensorFlow's Saver writes: absolute.
  shutil.copytree(str(original), str(copy))
  before = (files_of(original), state_text(original))
  assert resume.repair_state(str(copy)) == str(copy / 'model.ckpt-10')
  assert tf.train.latest_checkpoint(str(copy)) == str(copy / 'model.ckpt-10')
  assert str(original) not in state_text(copy)
  assert (files_of(original), state_text(original)) == before
  # Names relative to the folder: moved again, it needs no repair.
  moved = tmp_path / 'C'
  os.rename(str(copy), str(moved))
  assert checkpoints.named_checkpoint(str(moved)) == (str(moved / 'model.ckpt-10'), '')


def test_the_original_is_never_named_as_a_copys_newest_checkpoint(tmp_path):
  original, copy = tmp_path / 'A', tmp_path / 'B'
  write_tiny_checkpoints(original, [5])
  shutil.copytree(str(original), str(copy))
  write_tiny_checkpoints(original, [5, 10])  # The original trained on; the copy did not.
  named, problem = checkpoints.named_checkpoint(str(copy))
  assert named is None and 'outside' in problem
  assert resume.newest_safe(str(copy)) == (5, str(copy / 'model.ckpt-5'))


def test_the_savers_rotation_never_deletes_checkpoints_outside_its_folder(tmp_path):
  original, copy = tmp_path / 'A', tmp_path / 'B'
  write_tiny_checkpoints(original, [5, 10])
  shutil.copytree(str(original), str(copy))
  before = files_of(original)
  with tf.Graph().as_default():
    global_step = tf.compat.v1.train.get_or_create_global_step()
    tf.compat.v1.get_variable('tiny/w', [3])
    saver = saving.StepSaver(max_to_keep=1, folder=str(copy))
    # What tf-slim's Supervisor does on a restart: it reads the state file's list.
    saver.recover_last_checkpoints([str(original / 'model.ckpt-5'),
                                    str(copy / 'model.ckpt-10')])
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for step in (11, 12):
        sess.run(global_step.assign(step))
        saver.save(sess, str(copy / 'model.ckpt'), global_step=global_step)
  assert files_of(original) == before
  assert [s for s, _ in checkpoints.list_checkpoints(str(copy))] == [5, 12]
  assert 'model_checkpoint_path: "model.ckpt-12"' in state_text(copy)


@pytest.mark.slow
def test_training_a_copy_of_a_run_folder_leaves_the_original_whole(records_dataset, tmp_path,
                                                                    caplog):
  original, copy = tmp_path / 'A', tmp_path / 'B'
  # (sgd: momentum would double the checkpoints, copy included; nothing here looks at it)
  trainer.train(tf_helpers.tiny_train_config(records_dataset[0], original,
                                             max_number_of_steps=3, optimizer='sgd'))
  kept = checkpoints.list_checkpoints(str(original))
  shutil.copytree(str(original), str(copy))
  with caplog.at_level(logging.INFO):
    assert trainer.train(tf_helpers.tiny_train_config(
        records_dataset[0], copy, max_number_of_steps=5, keep_checkpoint_max=1,
        optimizer='sgd'))[0] == 5
  assert checkpoints.list_checkpoints(str(original)) == kept
  assert all(checkpoints.is_complete(prefix) for _, prefix in kept)
  assert 'Resuming from %s.' % (copy / 'model.ckpt-3') in caplog.text
  assert 'Resuming from %s' % original not in caplog.text
  # Its own copy of step 3 rotated away (--keep_checkpoint_max=1); the original's stays (above).
  assert [s for s, _ in checkpoints.list_checkpoints(str(copy))] == [5]
