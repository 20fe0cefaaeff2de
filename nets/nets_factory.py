"""Networks by name: one uniform `network_fn(images, **kwargs) -> (logits, end_points)`, and what
callers need to know about a net without building it (its smallest input, score map sizes, the
end point of its pooled features), so nothing else assumes one particular net."""
import functools
import inspect
import numbers

import tf_slim as slim

from base import BadArgument
from nets import alexnet
from nets import alexnet_tv
from nets import names


def _variant(net_fn, **fixed):
  """net_fn with some arguments fixed, keeping its default_image_size."""
  variant = functools.partial(net_fn, **fixed)
  variant.default_image_size = net_fn.default_image_size
  return variant


nets_map = {
    'alexnet_v2': alexnet.alexnet_v2,
    'alexnet_v2_bn': _variant(alexnet.alexnet_v2, use_batch_norm=True),
    'alexnet_tv': alexnet_tv.alexnet_tv,
}

if tuple(sorted(nets_map)) != names.NAMES:  # the --model_name choices: one of each net
  raise ImportError('nets.names.NAMES %s are not the nets %s' % (names.NAMES, sorted(nets_map)))

arg_scopes_map = {
    'alexnet_v2': alexnet.alexnet_v2_arg_scope,
    'alexnet_v2_bn': functools.partial(alexnet.alexnet_v2_arg_scope, use_batch_norm=True),
    'alexnet_tv': alexnet_tv.alexnet_tv_arg_scope,
}

# The module of each net: MIN_IMAGE_SIZE, CLASSIFY_SIZES, score_map_size, GLOBAL_POOL_END_POINT.
_net_modules = {
    'alexnet_v2': alexnet,
    'alexnet_v2_bn': alexnet,
    'alexnet_tv': alexnet_tv,
}

# Arguments get_network_fn sets itself; they are not options.
_RESERVED = ('inputs', 'num_classes', 'is_training', 'weight_decay')


def _check_name(name):
  if name not in nets_map:
    raise BadArgument('unknown network "%s"; choose one of %s'
                     % (name, ', '.join(sorted(nets_map))))


def min_image_size(name):
  """The smallest square input the net `name` classifies (its fc6 must fit)."""
  _check_name(name)
  return _net_modules[name].MIN_IMAGE_SIZE


def image_size(name, size=None):
  """The side of the square images the net `name` is given: `size` (a --*_image_size flag) when
  set, else (None or 0) the net's default_image_size."""
  _check_name(name)
  return size or nets_map[name].default_image_size


def classify_sizes(name):
  """(smallest, largest) square input the net classifies with one score (a 1x1 map)."""
  _check_name(name)
  return _net_modules[name].CLASSIFY_SIZES


def score_map_size(name, height, width):
  """(rows, columns) of the score map the net gives for a height x width image."""
  _check_name(name)
  return _net_modules[name].score_map_size(height, width)


def features_end_point(name):
  """The end point of the pooled fc7 features ([batch, 1, 1, 4096]) with global_pool=True."""
  _check_name(name)
  return _net_modules[name].GLOBAL_POOL_END_POINT


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False, **options):
  """Returns network_fn(images, **kwargs) -> (logits, end_points) that applies the arg scope.

  Args:
    name: a key of nets_map.
    num_classes: number of classes; 0 or None gives the features before the classifier.
    weight_decay: L2 weight decay of the weights (0 adds no regularization losses).
    is_training: dropout and batch norm in training mode.
    **options: keyword arguments of the net (e.g. dropout_keep_prob, global_pool) and/or of its
      arg scope (e.g. batch_norm_decay); each goes to whichever takes it.

  network_fn.default_image_size is the image size the net classifies; kwargs given to
  network_fn override the net options.
  """
  _check_name(name)
  if weight_decay is None or weight_decay < 0:
    raise BadArgument('weight_decay must be a number >= 0, got %r' % (weight_decay,))
  if num_classes is not None and (isinstance(num_classes, bool) or
                                  not isinstance(num_classes, numbers.Integral) or num_classes < 0):
    raise BadArgument('num_classes must be an integer >= 0 (0 for features), got %r'
                     % (num_classes,))
  net_fn = nets_map[name]
  net_options, scope_options = _split_options(name, net_fn, arg_scopes_map[name], options)
  arg_scope = arg_scopes_map[name](weight_decay=float(weight_decay), **scope_options)

  def network_fn(images, **kwargs):
    with slim.arg_scope(arg_scope):
      return net_fn(images, num_classes=num_classes, is_training=is_training,
                    **dict(net_options, **kwargs))

  network_fn.__name__ = name
  network_fn.default_image_size = net_fn.default_image_size
  return network_fn


def _split_options(name, net_fn, arg_scope_fn, options):
  """(net options, arg scope options); an option both take goes to both."""
  net_params = _parameter_names(net_fn)
  scope_params = _parameter_names(arg_scope_fn)
  for key in options:
    if key in _RESERVED or (key not in net_params and key not in scope_params):
      raise BadArgument('network "%s" has no option "%s"; it takes %s'
                       % (name, key, ', '.join(sorted((net_params | scope_params)
                                                      - set(_RESERVED)))))
  return ({k: v for k, v in options.items() if k in net_params},
          {k: v for k, v in options.items() if k in scope_params})


def _parameter_names(fn):
  return set(inspect.signature(fn).parameters)
