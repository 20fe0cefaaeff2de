"""train_alexnet.py --deterministic from the shell: two runs of the same flags end with the same
weights, bit for bit. (What it refuses, the default queue pipeline among it, is tested in process:
training/test_deterministic.py; a UserError's one line and exit 2 from the shell:
test_train_script.)"""
import numpy as np
import pytest
import tensorflow as tf

from support.scripts import run_script
from support.tf_helpers import read_events

STEPS = 6


def deterministic_flags(dataset_dir, train_dir):
  # Two readers and two preprocessing threads (what races without the flag), summaries and
  # checkpoints on a clock of a second, so that they come at other steps in each run. (A save
  # of the 370 MB checkpoint takes seconds: the step-0 one alone spans most of the STEPS. The
  # smallest image size the net takes: the check is of the weights, not of their size.)
  return ['--dataset_dir=' + dataset_dir, '--train_dir=%s' % train_dir, '--batch_size=4',
          '--max_number_of_steps=%d' % STEPS, '--train_image_size=195', '--num_readers=2',
          '--num_preprocessing_threads=2', '--log_every_n_steps=3', '--save_summaries_secs=1',
          '--save_interval_secs=1', '--summarize_histograms=false', '--input_pipeline=tf_data',
          '--deterministic', '--seed=3']


@pytest.mark.slow
def test_two_deterministic_runs_end_with_bit_identical_weights(records_dataset, tmp_path):
  weights = []
  for run in ('first', 'second'):
    result = run_script('train_alexnet.py', *deterministic_flags(records_dataset[0],
                                                                 tmp_path / run))
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'deterministic (seed 3): the same weights from the same flags' in result.stderr
    # The summaries' clock fired during the run, not only at its first step.
    assert len(read_events(tmp_path / run)['losses/total']) >= 2
    reader = tf.train.load_checkpoint(str(tmp_path / run / ('model.ckpt-%d' % STEPS)))
    weights.append({name: reader.get_tensor(name)
                    for name in reader.get_variable_to_shape_map()})
  first, second = weights
  assert sorted(first) == sorted(second) and len(first) > 30  # weights, momenta, step, averages
  assert 'alexnet_v2/fc8/weights/Momentum' in first
  differ = [name for name in first if not np.array_equal(first[name], second[name])]
  assert not differ

