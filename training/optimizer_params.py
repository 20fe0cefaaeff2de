"""The optimizers and learning-rate schedules by name, with the optimizers' parameters and their
ranges, without TensorFlow: the flags of train_alexnet.py (cli reads them before TensorFlow
loads); training.optimization builds them."""
from base import UserError

DECAY_TYPES = ('fixed', 'exponential', 'polynomial', 'cosine')

# Each optimizer with its parameters and their defaults (research/slim's).
OPTIMIZER_PARAMS = {
    'sgd': {},
    'momentum': {'momentum': 0.9},
    'rmsprop': {'rmsprop_momentum': 0.9, 'rmsprop_decay': 0.9, 'opt_epsilon': 1.0},
    'adam': {'adam_beta1': 0.9, 'adam_beta2': 0.999, 'opt_epsilon': 1.0},
    'adagrad': {'adagrad_initial_accumulator_value': 0.1},
    'adadelta': {'adadelta_rho': 0.95, 'opt_epsilon': 1.0},
    'ftrl': {'ftrl_learning_rate_power': -0.5, 'ftrl_initial_accumulator_value': 0.1,
             'ftrl_l1': 0.0, 'ftrl_l2': 0.0},
}
OPTIMIZERS = tuple(OPTIMIZER_PARAMS)


def parameter_users():
  """{parameter: [the optimizers that take it]}, parameters sorted (one flag each)."""
  users = {}
  for name, params in OPTIMIZER_PARAMS.items():
    for param in params:
      users.setdefault(param, []).append(name)
  return dict(sorted(users.items()))


def params_not_taken(optimizer, names):
  """[(parameter, the optimizers that take it)] of the parameters in `names` that `optimizer`
  does not take (research/slim's --momentum, say, with --optimizer=rmsprop)."""
  return [(name, users) for name, users in parameter_users().items()
          if name in names and optimizer not in users]


def check_params(params):
  """UserError for an optimizer parameter out of its range (all are >= 0 but the FTRL power,
  epsilons and Adagrad's accumulator are positive, and the betas, decays and momenta are below
  1)."""
  for name, value in sorted((params or {}).items()):
    if name == 'ftrl_learning_rate_power':
      ok, expected = value <= 0, '<= 0'
    elif name.endswith(('momentum', 'beta1', 'beta2', 'decay', 'rho')):
      ok, expected = 0 <= value < 1, 'in [0, 1)'
    elif name.endswith('epsilon') or name == 'adagrad_initial_accumulator_value':
      ok, expected = value > 0, 'positive'
    else:
      ok, expected = value >= 0, '>= 0'
    if not ok:
      raise UserError('--%s must be %s, got %g' % (name, expected, value))
