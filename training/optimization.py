"""Learning-rate schedules and optimizers by name (research/slim's flag vocabulary)."""
import tensorflow as tf

from base import UserError
from training.optimizer_params import DECAY_TYPES
from training.optimizer_params import OPTIMIZER_PARAMS
from training.optimizer_params import OPTIMIZERS


def learning_rate(global_step, base_rate, decay_type, steps_per_epoch, num_epochs_per_decay=2.0,
                  decay_factor=0.94, end_learning_rate=0.0001, max_steps=None, warmup_epochs=0.0):
  """The learning rate tensor at global_step.

  exponential: base * decay_factor ** floor(step / decay_steps) (staircase);
  polynomial: linear from base to end_learning_rate over decay_steps;
  cosine: half a cosine from base to 0 over max_steps (the trainer requires them; else over
  decay_steps);
  warmup_epochs: a linear ramp from 0 to the schedule over the first epochs.
  """
  if decay_type not in DECAY_TYPES:
    raise UserError('unknown --learning_rate_decay_type "%s"; choose one of %s'
                    % (decay_type, ', '.join(DECAY_TYPES)))
  if base_rate <= 0:
    raise UserError('--learning_rate must be positive, got %g' % base_rate)
  decay_steps = max(1, int(steps_per_epoch * num_epochs_per_decay))
  warmup_steps = int(steps_per_epoch * warmup_epochs)
  step = tf.cast(global_step, tf.int64)
  if decay_type == 'fixed':
    rate = tf.constant(base_rate, tf.float32)
  elif decay_type == 'exponential':
    rate = tf.compat.v1.train.exponential_decay(base_rate, step, decay_steps, decay_factor,
                                                staircase=True)
  elif decay_type == 'polynomial':
    rate = tf.compat.v1.train.polynomial_decay(base_rate, step, decay_steps, end_learning_rate,
                                               power=1.0, cycle=False)
  else:
    rate = tf.compat.v1.train.cosine_decay(base_rate, tf.maximum(step - warmup_steps, 0),
                                           max(1, (max_steps or decay_steps) - warmup_steps))
  if warmup_steps > 0:
    ramp = tf.cast(step + 1, tf.float32) / float(warmup_steps)
    rate = tf.where(step < warmup_steps, rate * ramp, rate)
  return tf.cast(rate, tf.float32)


def optimizer(name, rate, params=None):
  """A tf.compat.v1 optimizer; `params` overrides OPTIMIZER_PARAMS[name]'s defaults."""
  if name not in OPTIMIZER_PARAMS:
    raise UserError('unknown --optimizer "%s"; choose one of %s' % (name, ', '.join(OPTIMIZERS)))
  p = dict(OPTIMIZER_PARAMS[name])
  p.update({k: v for k, v in (params or {}).items() if k in p})
  train = tf.compat.v1.train
  if name == 'sgd':
    return train.GradientDescentOptimizer(rate)
  if name == 'momentum':
    return train.MomentumOptimizer(rate, momentum=p['momentum'], name='Momentum')
  if name == 'rmsprop':
    return train.RMSPropOptimizer(rate, decay=p['rmsprop_decay'], momentum=p['rmsprop_momentum'],
                                  epsilon=p['opt_epsilon'])
  if name == 'adam':
    return train.AdamOptimizer(rate, beta1=p['adam_beta1'], beta2=p['adam_beta2'],
                               epsilon=p['opt_epsilon'])
  if name == 'adagrad':
    return train.AdagradOptimizer(
        rate, initial_accumulator_value=p['adagrad_initial_accumulator_value'])
  if name == 'adadelta':
    return train.AdadeltaOptimizer(rate, rho=p['adadelta_rho'], epsilon=p['opt_epsilon'])
  return train.FtrlOptimizer(rate, learning_rate_power=p['ftrl_learning_rate_power'],
                             initial_accumulator_value=p['ftrl_initial_accumulator_value'],
                             l1_regularization_strength=p['ftrl_l1'],
                             l2_regularization_strength=p['ftrl_l2'])
