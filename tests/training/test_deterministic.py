"""--deterministic in process: what it refuses and what the start line says (two whole runs:
e2e/test_deterministic_script.py)."""
import pytest

from base import UserError
from support import tf_helpers
from training import cluster_roles
from training import trainer

config = tf_helpers.tiny_train_config


@pytest.mark.parametrize('setting, message', [
    (dict(), '--deterministic needs --input_pipeline=tf_data: the queue pipeline'),
    (dict(input_pipeline='tf_data', num_clones=2, clone_on_cpu=True),
     '--deterministic trains one clone'),
    (dict(input_pipeline='tf_data', cluster=cluster_roles.resolve('worker', 0, ['p:1'], ['w:1'])),
     '--deterministic runs in one process'),
])
def test_deterministic_refuses_what_races_before_anything_runs(tmp_path, setting, message):
  with pytest.raises(UserError, match=message):
    trainer.train(config(str(tmp_path / 'unused'), tmp_path / 'run', deterministic=True,
                         **setting))
  assert not (tmp_path / 'run').exists()


class _Split:
  num_samples, num_classes, labels_to_names = 100, 5, {}


def test_the_start_line_says_the_run_is_deterministic_and_its_seed():
  line = trainer.start_line(config('unused', 'unused', input_pipeline='tf_data',
                                   deterministic=True, seed=7), _Split(), num_gpus=0)
  assert line.endswith('; deterministic (seed 7): the same weights from the same flags.'), line
  assert 'deterministic' not in trainer.start_line(config('unused', 'unused'), _Split(), 0)
