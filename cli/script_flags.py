"""The flags of train_alexnet.py, eval_alexnet.py, predict_alexnet.py and export_alexnet.py,
defined from their configs, and configs built from flags.

A config dataclass field made with base.options.option is a flag: its type, default, help text,
topic and choices are the field's, so the config is the only home of an option (choices come from
the TensorFlow-free modules that own them: the nets' names, the input pipelines', the session's
precisions, so a new net or pipeline needs no change here, and no flag waits for TensorFlow).
The flags that are no config field (--use_batch_norm, the optimizer parameters, the cluster
roles) are defined with define_flag.
"""
from absl import flags

from base import UserError
from base import options
from nets import names
from rundir import run_settings

FLAGS = flags.FLAGS
BATCH_NORM_SUFFIX = '_bn'

# --helpfull lists flags by topic: absl groups flags by the module that defines them, and each
# flag is registered under its topic's name as the "module" (capitalised, so the topics come
# before absl's and TensorFlow's modules). A flag must have one of these topics; key flags of
# this module either way, so each script's --helpshort lists them all.
TOPICS = ('Dataset', 'Model', 'Input pipeline', 'Optimization', 'Checkpoints', 'TensorBoard',
          'Cluster', 'Devices', 'Prediction', 'Export')


def define_flag(definer, name, default, help_text, topic, **kwargs):
  """definer(name, default, help_text, **kwargs) (a flags.DEFINE_*) for a flag that is no config
  field, with --name under its topic in --helpfull and a key flag of this module (adopted by each
  script for --helpshort)."""
  if topic not in TOPICS:
    raise ValueError('--%s has the topic %r, not one of %s' % (name, topic, TOPICS))
  definer(name, default, help_text, module_name=topic, **kwargs)
  flags.declare_key_flag(name)


def define_config_flags(config_cls):
  """A flag for each option field of config_cls (base.options), under its topic; with
  --model_name, --use_batch_norm."""
  names = options.define_flags(config_cls, topics=TOPICS)
  if 'model_name' in names:
    define_flag(flags.DEFINE_boolean, 'use_batch_norm', False,
                'Batch normalization after each conv layer: the --model_name variant with "%s" '
                '(alexnet_v2 -> alexnet_v2_bn).' % BATCH_NORM_SUFFIX, 'Model')


def model_name(flag_values=FLAGS):
  """--model_name, or its batch-norm variant with --use_batch_norm (of flag_values: the
  parsed flags). Without --model_name (a flag whose default is None: the model run.json names),
  None, or alexnet_v2's batch-norm variant with --use_batch_norm."""
  name = flag_values.model_name
  if name is None:
    return run_settings.DEFAULT_MODEL + BATCH_NORM_SUFFIX if flag_values.use_batch_norm else None
  if not flag_values.use_batch_norm or name.endswith(BATCH_NORM_SUFFIX):
    return name
  if name + BATCH_NORM_SUFFIX not in names.NAMES:
    raise UserError('--model_name=%s has no batch-norm variant; drop --use_batch_norm' % name)
  return name + BATCH_NORM_SUFFIX


def config_from_flags(config_cls, **values):
  """config_cls with each option field taken from its flag (--model_name with --use_batch_norm
  folded in); `values` give the other fields (and override)."""
  if 'model_name' in options.option_fields(config_cls) and 'model_name' not in values:
    values['model_name'] = model_name()
  return options.from_flags(config_cls, FLAGS, **values)


# --- the scripts that use a trained checkpoint (predict, export) --------------------------------

def define_checkpoint_flags():
  """What describes a checkpoint when its training folder has no run.json (or overrides what
  run.json says): the fields of run_settings.Overrides."""
  define_config_flags(run_settings.Overrides)


def checkpoint_overrides():
  """run_settings.Overrides from the flags of define_checkpoint_flags (None: as run.json says)."""
  return options.from_flags(run_settings.Overrides, FLAGS, model_name=model_name())
