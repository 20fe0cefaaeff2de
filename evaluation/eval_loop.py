"""The evaluator's loop over a training folder: every checkpoint in global-step order as training
writes them, remembered in eval_dir/eval_state.json so a restarted evaluator goes on where it
stopped (evaluation.evaluator evaluates each one). Nothing here reads flags.
"""
import os
import time

from absl import logging

from evaluation import eval_state
from rundir import checkpoints
from rundir import run_info


def wants_embedding(config, evaluation_index, step, last_step=None):
  """The projector every --embedding_every evaluations, and for training's last step."""
  if not config.embedding_every or config.embedding_size == 0:
    return False
  return evaluation_index % config.embedding_every == 0 or bool(last_step and step >= last_step)


def loop(config, dataset, checkpoint_dir, writer, evaluate_one, list_checkpoints):
  """Evaluates each new checkpoint of checkpoint_dir in step order with evaluate_one(config,
  dataset, checkpoint, writer, write_embedding=, state=) until training's last step or
  config.timeout seconds without one; returns the EvalResults. list_checkpoints(folder): [(step,
  prefix)], oldest first."""
  state = eval_state.load_eval_state(config.eval_dir, checkpoint_dir,
                                     run_id=run_info.run_id_of(checkpoint_dir))
  last_step = state['last_step']
  max_steps = config.max_number_of_steps or run_info.last_step(checkpoint_dir)
  state_path = os.path.join(config.eval_dir, eval_state.EVAL_STATE_FILENAME)
  if max_steps is not None and last_step >= max_steps:
    logging.info('Step %d (training\'s last, --max_number_of_steps) is already evaluated '
                 '(%s); nothing to do.', last_step, state_path)
    return []
  if not os.path.isdir(checkpoint_dir):
    logging.warning('%s does not exist yet; waiting for training to create it.', checkpoint_dir)
  elif last_step >= 0:
    logging.info('Going on after step %d (%s).', last_step, state_path)
  evaluated = []
  idle_since = time.monotonic()
  waiting_logged = False
  folder_there = os.path.isdir(checkpoint_dir)
  while True:
    folder_there, was_there = os.path.isdir(checkpoint_dir), folder_there
    if was_there and not folder_there:  # said once; a new run may be trained in its place
      logging.warning('%s was deleted or moved; waiting for training to create it again '
                      '(--timeout=%g s; 0: until stopped).', checkpoint_dir, config.timeout)
    state = eval_state.follow_run(config.eval_dir, state, run_info.run_id_of(checkpoint_dir))
    last_step = state['last_step']  # (-1 when the folder holds a new run)
    pending = [(s, p) for s, p in list_checkpoints(checkpoint_dir) if s > last_step]
    if not pending:
      idle = time.monotonic() - idle_since
      if config.timeout and idle >= config.timeout:
        logging.info('No new checkpoint in %s for %.0f s (--timeout); stopping after %d '
                     'evaluation(s).', checkpoint_dir, idle, len(evaluated))
        return evaluated
      if not waiting_logged:
        logging.info('Waiting for a checkpoint newer than step %d in %s.', last_step,
                     checkpoint_dir)
        waiting_logged = True
      pause = config.eval_interval_secs
      if config.timeout:
        pause = min(pause, max(config.timeout - idle, 0.0))
      time.sleep(max(pause, 0.01))
      continue
    waiting_logged = False
    step, checkpoint = pending[0]
    if len(pending) > 1:
      logging.info('%d checkpoints waiting; taking them in order.', len(pending))
    skipped = {'step': step, 'checkpoint': os.path.basename(checkpoint)}
    try:
      result = evaluate_one(config, dataset, checkpoint, writer,
                            write_embedding=wants_embedding(config, len(evaluated), step,
                                                             max_steps),
                            state=state)
    except checkpoints.CheckpointDamaged as e:  # Skipped once, not a crash at every restart.
      logging.warning('Skipping %s: %s', skipped['checkpoint'], e)
      result, skipped['reason'] = None, str(e)
    last_step = step
    state['last_step'] = step
    if result is None:
      state['skipped'].append(skipped)
    else:
      evaluated.append(result)
      state['evaluated'].append(result.to_json())
    eval_state.save_eval_state(config.eval_dir, state)
    idle_since = time.monotonic()
    max_steps = config.max_number_of_steps or run_info.last_step(checkpoint_dir)
    if max_steps is not None and step >= max_steps:
      logging.info('Evaluated step %d, training\'s last (--max_number_of_steps); done.', step)
      return evaluated
