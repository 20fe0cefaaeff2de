"""What the evaluator takes from the training folder it evaluates, through the run.json training
writes there (rundir.run_info): the net (model, preprocessing, image size) where the settings
leave it open, as prediction and export take it. A setting the user gave wins; a folder without
run.json (trained before runs described themselves) is evaluated as alexnet_v2 at its own size.
And the run's HParams session, written into eval_dir once, so that TensorBoard's HParams
dashboard shows the validation metrics beside the run's hyperparameters (summaries.run_start).
"""
import dataclasses

from absl import logging

from base import UserError
from rundir import checkpoints
from rundir import run_info
from summaries import run_start


def stored_run(train_dir):
  """The RunInfo of train_dir's run.json; None when it has none (or one that cannot be used:
  with a warning, as the evaluator can go on with the settings it was given)."""
  try:
    return run_info.read(train_dir)
  except UserError as e:
    logging.warning('Not using the training folder\'s %s: %s', run_info.FILENAME, e)
    return None


def with_net(config, checkpoint):
  """(config, stored): config (an EvalConfig) with the model, its preprocessing and the image
  size of the checkpoint's run where config leaves them None (run_info.net_settings), and the
  run's RunInfo (None: no usable run.json)."""
  stored = stored_run(checkpoints.train_dir_of(checkpoint))
  model_name, image_size, preprocessing = run_info.net_settings(
      stored, config.model_name, config.eval_image_size, size_flag='eval_image_size')
  if config.model_name is None and stored is not None:
    logging.info('%s, %d px (%s preprocessing), as %s in %s says.', model_name, image_size,
                 preprocessing, run_info.FILENAME, checkpoints.train_dir_of(checkpoint))
  return dataclasses.replace(config, model_name=model_name, eval_image_size=image_size,
                             preprocessing=preprocessing), stored


def write_session_once(writer, state, stored):
  """The run's HParams session (run.json's hyperparameters and run id: stored, a RunInfo) into
  eval_dir's events (writer), unless eval_dir's state (eval_state) notes it written for this run;
  the state then notes it (saved with the summaries it comes with). Nothing for a run without
  hyperparameters in run.json (trained before), or without a state (eval_dir holds another
  run's)."""
  if (state is None or stored is None or not stored.hparams or not stored.run_id
      or state.get('session') == stored.run_id):
    return
  writer.add_summary(run_start.session_summary(stored.hparams, stored.run_id), 0)
  state['session'] = stored.run_id
