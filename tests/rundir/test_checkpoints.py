"""rundir.checkpoints: one check of a checkpoint against the graph's variables, worded for
resuming, fine-tuning or evaluating."""
import pytest
import tensorflow as tf

from base import UserError
from rundir import checkpoints
from training import resume


def a_checkpoint(path, shape):
  """A checkpoint holding one variable a/w of the given shape."""
  with tf.Graph().as_default():
    var = tf.compat.v1.get_variable('a/w', shape)
    with tf.compat.v1.Session() as sess:
      sess.run(var.initializer)
      tf.compat.v1.train.Saver([var]).save(sess, str(path), write_meta_graph=False)
  return str(path)


def check_against(prefix, check, shape, name='a/w'):
  with tf.Graph().as_default():
    var = tf.compat.v1.get_variable('a/w', shape)
    check(prefix, {name: var})


def test_check_variables_names_what_is_missing_or_of_another_shape_and_ends_with_the_advice():
  with tf.Graph().as_default():
    w, b = tf.compat.v1.get_variable('a/w', [5]), tf.compat.v1.get_variable('a/b', [2])
  seen = []

  def advice(name, saved_shape):
    seen.append((name, saved_shape))
    return 'do this'

  with pytest.raises(UserError, match=r'^checkpoint c has no variable a/b; do this$'):
    checkpoints.check_variables('c', {'a/w': [5]}, {'a/w': w, 'a/b': b}, advice)
  with pytest.raises(UserError, match=r'^checkpoint c holds a/w with shape \[3\] but the model '
                                      r'needs \[5\]; do this$'):
    checkpoints.check_variables('c', {'a/w': [3]}, {'a/w': w}, advice)
  assert seen == [('a/b', None), ('a/w', [3])]
  assert checkpoints.check_variables('c', {'a/w': [5]}, {'a/w': w, 'a/b': b}, advice,
                                     missing_ok=True) == ['a/b']


def test_resume_evaluate_and_fine_tune_give_their_own_advice(tmp_path):
  prefix = a_checkpoint(tmp_path / 'model.ckpt-1', [3])
  with pytest.raises(UserError, match=r'with shape \[3\] but the model needs \[5\]; it was '
                                      r'trained with other settings.*give a new --train_dir'):
    with tf.Graph().as_default():
      resume.check_resumable(prefix, [tf.compat.v1.get_variable('a/w', [5])])
  with pytest.raises(UserError, match=r'needs \[5\]; check --model_name \(alexnet_v2\) and '
                                      r'--dataset_name'):
    check_against(prefix, lambda p, v: checkpoints.check_evaluable(p, v, 'alexnet_v2'), [5])
  with pytest.raises(UserError, match='has no variable a/w/ExponentialMovingAverage; it holds '
                                      'no moving averages'):
    check_against(prefix, lambda p, v: checkpoints.check_evaluable(p, v, 'alexnet_v2'), [3],
                  name='a/w/ExponentialMovingAverage')
  with pytest.raises(checkpoints.CheckpointGone):
    check_against(str(tmp_path / 'gone'),
                  lambda p, v: checkpoints.check_evaluable(p, v, 'alexnet_v2'), [3])
