"""The evaluation loop and the runs of a training folder: the net comes from run.json unless
given; a new run in the same path (deleted and trained again) is recognised by the run id in
run.json and evaluated from the start; a training folder that disappears is said once."""
import dataclasses
import glob
import json
import logging
import os
import shutil

import pytest
import tensorflow as tf
from tensorboard.plugins.hparams import metadata as hparams_metadata

from base import UserError
from datasets import input_pipeline
from evaluation import eval_state
from evaluation import evaluator
from evaluation.eval_config import EvalConfig
from rundir import checkpoints
from rundir import run_info
from support.tf_helpers import save_random_checkpoint

OPTIONS = dict(batch_size=4, eval_interval_secs=0.1, num_preprocessing_threads=1,
               fixed_photos=0, embedding_every=0, grid_images=0)


def eval_config(trained, checkpoint_path, eval_dir, **overrides):
  """The loops here end at their run's last step; the timeout only bounds a failure (it counts
  from the last evaluation, through the test's own copying of 185 MB checkpoints)."""
  settings = dict(OPTIONS, dataset_dir=trained.dataset_dir, checkpoint_path=str(checkpoint_path),
                  eval_dir=str(eval_dir), timeout=60.0)
  settings.update(overrides)
  return EvalConfig(**settings)


def start_run(trained, folder, last_step):
  """A fresh run in folder, as training starts one: run.json (a new run id) and labels.txt."""
  os.makedirs(str(folder), exist_ok=True)
  info = run_info.read(trained.train_dir)
  return run_info.write(str(folder), dataclasses.replace(info, max_number_of_steps=last_step,
                                                         run_id=''))


def old_run(trained, folder, step=50, last_step=50):
  """A run at `step` (an untrained net's checkpoint) of `last_step` (0: until stopped):
  evaluated first, then deleted."""
  run_id = start_run(trained, folder, last_step)
  save_random_checkpoint(os.path.join(str(folder), 'model.ckpt-%d' % step), 5, step)
  return run_id


def new_run(trained, folder):
  """A new run in the same folder, trained to an earlier step than the old one."""
  step, prefix = trained.checkpoints[-1]
  run_id = start_run(trained, folder, step)
  for path in [p for p in os.listdir(os.path.dirname(prefix))
               if p.startswith(os.path.basename(prefix) + '.')]:
    shutil.copy(os.path.join(os.path.dirname(prefix), path), str(folder))
  return step, run_id


def sizes_seen(seen):
  """build_batches that notes the size of each image the preprocessing makes."""
  def build_batches(dataset, preprocess, *args, **kwargs):
    def noted(encoded):
      image = preprocess(encoded)
      seen.append(tuple(image.shape.as_list()))
      return image
    return input_pipeline.build_batches(dataset, noted, *args, **kwargs)
  return build_batches


def test_the_net_and_its_size_come_from_run_json_unless_given(trained, tmp_path, caplog):
  folder = tmp_path / 'alexnet_tv'
  os.makedirs(str(folder))
  info = dataclasses.replace(run_info.read(trained.train_dir), model_name='alexnet_tv',
                             image_size=230, preprocessing='torchvision', run_id='')
  run_info.write(str(folder), info)
  save_random_checkpoint(str(folder / 'model.ckpt-3'), 5, 3, model_name='alexnet_tv')
  seen = []
  with caplog.at_level(logging.INFO):
    [result] = evaluator.evaluate(eval_config(trained, folder, tmp_path / 'eval', once=True),
                                  build_batches=sizes_seen(seen))
  assert result.step == 3 and set(seen) == {(230, 230, 3)}
  assert 'alexnet_tv, 230 px (torchvision preprocessing), as run.json in' in caplog.text
  seen.clear()
  evaluator.evaluate(eval_config(trained, folder, tmp_path / 'eval224', once=True,
                                 eval_image_size=224), build_batches=sizes_seen(seen))
  assert set(seen) == {(224, 224, 3)}                 # a size given wins
  with pytest.raises(UserError, match='no variable alexnet_v2/conv1/biases.*check --model_name'):
    evaluator.evaluate(eval_config(trained, folder, tmp_path / 'eval_v2', once=True,
                                   model_name='alexnet_v2'))       # so does a net given
  with pytest.raises(UserError, match='--eval_image_size must be at least 223 .*alexnet_tv'):
    evaluator.evaluate(eval_config(trained, folder, tmp_path / 'eval200', once=True,
                                   eval_image_size=200))


def session_starts(eval_dir):
  """The HParams session starts (SessionStartInfo) in eval_dir's event files."""
  starts = []
  for path in sorted(glob.glob(os.path.join(str(eval_dir), 'events.out.tfevents.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      starts += [hparams_metadata.parse_session_start_info_plugin_data(
          value.metadata.plugin_data.content) for value in event.summary.value
          if value.tag == hparams_metadata.SESSION_START_INFO_TAG]
  return starts


def test_the_run_s_hparams_session_is_written_once_into_eval_dir(trained, tmp_path):
  eval_dir = tmp_path / 'eval'
  stored = run_info.read(trained.train_dir)       # as the trainer wrote it
  assert stored.hparams['model_name'] == 'alexnet_v2' and stored.hparams['batch_size'] == 4
  for _ in range(2):                              # --once twice: the step's summaries once
    evaluator.evaluate(eval_config(trained, trained.train_dir, eval_dir, once=True))
  [start] = session_starts(eval_dir)
  assert start.group_name == stored.run_id        # one row with training's session
  assert start.hparams['model_name'].string_value == 'alexnet_v2'
  assert start.hparams['batch_size'].number_value == 4
  assert read_state(eval_dir)['session'] == stored.run_id


def read_state(eval_dir):
  with open(os.path.join(str(eval_dir), eval_state.EVAL_STATE_FILENAME)) as f:
    return json.load(f)


def test_a_new_run_in_the_same_folder_is_evaluated_from_the_start(trained, tmp_path, caplog):
  watched, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  old_id = old_run(trained, watched)
  assert [r.step for r in evaluator.evaluate(eval_config(trained, watched, eval_dir))] == [50]
  assert read_state(eval_dir)['run_id'] == old_id
  shutil.rmtree(str(watched))
  step, new_id = new_run(trained, watched)
  with caplog.at_level(logging.WARNING):
    results = evaluator.evaluate(eval_config(trained, watched, eval_dir))
  assert [r.step for r in results] == [step] and step < 50
  assert caplog.text.count('holds a new run') == 1
  assert {start.group_name for start in session_starts(eval_dir)} == {old_id, new_id}
  state = read_state(eval_dir)
  assert (state['run_id'], state['last_step']) == (new_id, step)
  assert [e['step'] for e in state['evaluated']] == [step]


def test_a_new_run_created_while_the_loop_waits_is_evaluated(trained, tmp_path):
  watched, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  old_run(trained, watched, last_step=0)  # the loop waits after step 50
  replaced = []

  def listing(folder):  # After the old run's step 50: the folder is deleted and trained again.
    if os.path.exists(os.path.join(str(eval_dir), eval_state.EVAL_STATE_FILENAME)) and \
        not replaced:
      shutil.rmtree(str(watched))
      replaced.append(new_run(trained, watched))
    return checkpoints.list_checkpoints(folder)
  results = evaluator.evaluate(eval_config(trained, watched, eval_dir, max_number_of_steps=0),
                               list_checkpoints=listing)
  assert [r.step for r in results] == [50, replaced[0][0]]
  assert read_state(eval_dir)['run_id'] == replaced[0][1]


def test_a_state_without_a_run_id_takes_the_folder_s_run(tmp_path, caplog):
  eval_dir = str(tmp_path)
  eval_state.save_eval_state(eval_dir, {'checkpoint_dir': os.path.realpath('train'),
                                        'last_step': 7, 'evaluated': [], 'skipped': [],
                                        'summarized': [7]})
  with caplog.at_level(logging.WARNING):
    state = eval_state.load_eval_state(eval_dir, 'train', run_id='abc')
  assert (state['run_id'], state['last_step'], state['summarized']) == ('abc', 7, [7])
  assert eval_state.load_eval_state(eval_dir, 'train')['last_step'] == 7  # no run id known
  eval_state.save_eval_state(eval_dir, state)
  assert eval_state.load_eval_state(eval_dir, 'train', run_id='abc')['last_step'] == 7
  assert eval_state.load_eval_state(eval_dir, 'train', claim=False, run_id='new') is None
  assert eval_state.load_eval_state(eval_dir, 'train', run_id='new')['last_step'] == -1
  assert caplog.text.count('holds a new run') == 1


def test_a_resumed_run_keeps_its_run_id_and_a_fresh_start_gets_a_new_one(trained, tmp_path):
  info = dataclasses.replace(run_info.read(trained.train_dir), run_id='', hparams={'a': 1})
  first = run_info.write(str(tmp_path), info)
  assert len(first) == 32 and run_info.run_id_of(str(tmp_path)) == first
  resumed = dataclasses.replace(info, hparams={})   # (the trainer gives them at a fresh start)
  assert run_info.write(str(tmp_path), resumed, resumed=True) == first
  assert run_info.read(str(tmp_path)).run_id == first
  assert run_info.read(str(tmp_path)).hparams == {'a': 1}
  assert run_info.write(str(tmp_path), info) != first
  assert run_info.run_id_of(str(tmp_path / 'nowhere')) is None


def test_a_training_folder_that_disappears_is_said_once(trained, tmp_path, caplog):
  watched = tmp_path / 'train'
  watched.mkdir()
  polls = []

  def listing(folder):  # The folder is deleted while the loop waits for its first checkpoint.
    polls.append(os.path.isdir(folder))
    shutil.rmtree(folder, ignore_errors=True)
    return checkpoints.list_checkpoints(folder)
  with caplog.at_level(logging.INFO):
    results = evaluator.evaluate(eval_config(trained, watched, tmp_path / 'eval', timeout=1.0),
                                 list_checkpoints=listing)
  assert results == [] and polls[0] and len(polls) > 2
  assert caplog.text.count('was deleted or moved; waiting for training to create it again') == 1
  assert 'No new checkpoint in %s' % watched in caplog.text  # then --timeout, as before
