"""The evaluator's record in eval_dir (eval_state.json) of the checkpoints it has evaluated or
skipped, and of the steps whose summaries it has written, so a restarted evaluator goes on where
it stopped and never writes a step's summaries twice.

The record belongs to one run of one training folder: its path and the run id training writes
into run.json (rundir.run_info). A new run in the same folder (deleted and trained again) has
another run id, and is evaluated from the start. A record without a run id (written before run
ids existed) takes the run id of the folder's run when it is first seen."""
import json
import os

from absl import logging

import base

EVAL_STATE_FILENAME = 'eval_state.json'  # in eval_dir: the steps an evaluator is done with


def _fresh(checkpoint_dir, run_id):
  return {'checkpoint_dir': os.path.realpath(checkpoint_dir), 'run_id': run_id, 'last_step': -1,
          'evaluated': [], 'skipped': [], 'summarized': []}


def load_eval_state(eval_dir, checkpoint_dir, claim=True, run_id=None):
  """The state of an earlier evaluator of the same training folder in eval_dir, or a fresh one:
  {'checkpoint_dir', 'run_id', 'last_step', 'evaluated': [...], 'skipped': [...],
  'summarized': [steps]}. run_id: the folder's run now (run_info.run_id_of; None: not known).

  The state of another training folder, or of another run in it, is replaced by a fresh one (with
  a warning), or, with claim=False, gives None: the caller leaves it as it is.
  """
  fresh = _fresh(checkpoint_dir, run_id)
  path = os.path.join(eval_dir, EVAL_STATE_FILENAME)
  try:
    with open(path, encoding='utf-8') as f:
      state = json.load(f)
  except FileNotFoundError:
    return fresh
  except (OSError, ValueError) as e:
    logging.warning('Ignoring unreadable %s (%s); evaluating from the start.', path, e)
    return fresh
  if not isinstance(state, dict) or state.get('checkpoint_dir') != fresh['checkpoint_dir']:
    if not claim:
      return None
    logging.warning('%s belongs to another training folder (%s); evaluating %s from the start.',
                    path, state.get('checkpoint_dir') if isinstance(state, dict) else '?',
                    checkpoint_dir)
    return fresh
  for key, value in fresh.items():
    state.setdefault(key, value)
  if is_another_run(state, run_id) and not claim:
    return None
  return follow_run(eval_dir, state, run_id)


def is_another_run(state, run_id):
  """True when the state records a run other than run_id (both known)."""
  return bool(run_id and state.get('run_id') and state['run_id'] != run_id)


def follow_run(eval_dir, state, run_id):
  """The state to go on with when the training folder holds the run run_id (None: not known):
  this one (taking run_id when it had none), or, when it records another run, a fresh one, with
  a warning: the folder was deleted and trained again, so its steps are new."""
  if not run_id:
    return state
  if not state.get('run_id'):
    state['run_id'] = run_id
    return state
  if state['run_id'] == run_id:
    return state
  logging.warning('%s holds a new run (run id %s in its run.json; %s recorded %s up to step %d): '
                  'evaluating it from the start (the summaries of the old run stay in %s; give '
                  'another --eval_dir to keep the two apart).', state['checkpoint_dir'], run_id,
                  EVAL_STATE_FILENAME, state['run_id'], state['last_step'], eval_dir)
  return _fresh(state['checkpoint_dir'], run_id)


def save_eval_state(eval_dir, state):
  base.write_text_atomic(os.path.join(eval_dir, EVAL_STATE_FILENAME),
                         json.dumps(state, indent=2, sort_keys=True) + '\n')


def summaries_written(state, step):
  """True when eval_dir already holds the summaries of this step (a rerun must not write them a
  second time: TensorBoard would show both)."""
  return step in state['summarized'] or any(e.get('step') == step for e in state['evaluated'])


def record_summaries(eval_dir, state, step):
  """Notes in eval_dir's state, at once, that the summaries of step are written."""
  state['summarized'] = sorted(set(state['summarized']) | {step})
  save_eval_state(eval_dir, state)
