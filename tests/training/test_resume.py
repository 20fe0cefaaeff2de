"""training.resume: a garbled, stale or missing checkpoint state file is rewritten to name the
newest complete checkpoint (tf-slim's Supervisor reads that file and would start over or crash).

Moved from e2e/test_faults.py; the end-to-end resume of a garbled folder stays there.
"""
import os

import pytest
import tensorflow as tf

from base import UserError
from rundir import checkpoints
from support.faults import state_path
from support.faults import write_state
from support.faults import write_tiny_checkpoints
from training import resume


@pytest.mark.parametrize('garbage', ['', 'model_checkpoint_path: {{ garbled', '\x00\x01\x02'])
def test_an_empty_or_garbled_state_file_is_rewritten_to_the_newest_complete_checkpoint(
    tmp_path, garbage):
  prefixes = write_tiny_checkpoints(tmp_path, [5, 10, 15])
  write_state(tmp_path, garbage)
  assert resume.repair_state(str(tmp_path)) == prefixes[-1]
  assert tf.train.latest_checkpoint(str(tmp_path)) == prefixes[-1]  # What Supervisor reads.


def test_a_state_file_naming_a_missing_checkpoint_is_rewritten(tmp_path):
  prefixes = write_tiny_checkpoints(tmp_path, [5, 10])
  write_state(tmp_path, 'model_checkpoint_path: "%s"\n' % os.path.join(str(tmp_path),
                                                                       'model.ckpt-99'))
  assert resume.repair_state(str(tmp_path)) == prefixes[-1]
  assert tf.train.latest_checkpoint(str(tmp_path)) == prefixes[-1]


def test_a_missing_state_file_beside_checkpoints_is_recreated(tmp_path):
  prefixes = write_tiny_checkpoints(tmp_path, [5, 10])
  os.remove(state_path(tmp_path))
  assert resume.repair_state(str(tmp_path)) == prefixes[-1]
  assert tf.train.latest_checkpoint(str(tmp_path)) == prefixes[-1]


def test_an_incomplete_newest_checkpoint_is_passed_over(tmp_path):
  prefixes = write_tiny_checkpoints(tmp_path, [5, 10, 15, 20])
  os.remove(prefixes[3] + '.data-00000-of-00001')  # Data gone: not complete.
  with open(prefixes[2] + '.index', 'r+b') as f:  # Index cut short: TensorFlow cannot read it.
    f.truncate(10)
  write_state(tmp_path, 'garbled')
  assert [s for s, _ in checkpoints.complete_checkpoints(str(tmp_path))] == [5, 10]
  assert resume.repair_state(str(tmp_path)) == prefixes[1]


def test_leftovers_of_a_save_cut_short_are_tolerated(tmp_path):
  prefixes = write_tiny_checkpoints(tmp_path, [5, 10])
  for name in ('model.ckpt-10.data-00000-of-00001.tempstate123', 'model.ckpt-15.index.tempstate4',
               'model.ckpt-15.data-00000-of-00001.tempstate5', 'checkpoint.tmp1a2b'):
    with open(os.path.join(str(tmp_path), name), 'wb') as f:
      f.write(b'half')
  assert [s for s, _ in checkpoints.complete_checkpoints(str(tmp_path))] == [5, 10]
  assert resume.repair_state(str(tmp_path)) == prefixes[-1]


def test_a_sound_state_file_is_left_as_it_is(tmp_path):
  prefixes = write_tiny_checkpoints(tmp_path, [5, 10])
  with open(state_path(tmp_path)) as f:
    before = f.read()
  assert resume.repair_state(str(tmp_path)) == prefixes[-1]
  with open(state_path(tmp_path)) as f:
    assert f.read() == before


def test_a_state_file_without_any_complete_checkpoint_is_a_user_error(tmp_path):
  write_state(tmp_path, 'model_checkpoint_path: "model.ckpt-7"\n')
  with pytest.raises(UserError, match='no complete checkpoint.*delete .*checkpoint'):
    resume.repair_state(str(tmp_path))


def test_an_empty_train_dir_is_a_fresh_start(tmp_path):
  assert resume.repair_state(str(tmp_path)) is None
  assert not os.path.exists(state_path(tmp_path))
