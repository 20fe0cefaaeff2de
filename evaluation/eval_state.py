"""The evaluator's record in eval_dir (eval_state.json) of the checkpoints it has evaluated or
skipped, and of the steps whose summaries it has written, so a restarted evaluator goes on where
it stopped and never writes a step's summaries twice."""
import json
import os

from absl import logging

import base

EVAL_STATE_FILENAME = 'eval_state.json'  # in eval_dir: the steps an evaluator is done with


def load_eval_state(eval_dir, checkpoint_dir, claim=True):
  """The state of an earlier evaluator of the same training folder in eval_dir, or a fresh one:
  {'checkpoint_dir', 'last_step', 'evaluated': [...], 'skipped': [...], 'summarized': [steps]}.

  The state of another training folder is replaced by a fresh one (with a warning), or, with
  claim=False, gives None: the caller leaves it as it is.
  """
  fresh = {'checkpoint_dir': os.path.realpath(checkpoint_dir), 'last_step': -1,
           'evaluated': [], 'skipped': [], 'summarized': []}
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
  return state


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
