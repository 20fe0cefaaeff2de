"""The flags that train_alexnet.py and eval_alexnet.py share (and predict_alexnet.py and
export_alexnet.py: the checkpoint flags), defined once, and configs built from flags.

A flag takes its type and default from the config dataclass field of the same name, so the
dataclass is the only home of a default; choices come from the modules that own them (the nets
factory, the input pipelines, the session's precisions), so a new net or pipeline needs no
change here.
"""
import dataclasses
import typing

from absl import flags

from base import UserError
from datasets import input_pipeline
from nets import nets_factory
from training import optimization
from rundir import run_info

FLAGS = flags.FLAGS
BATCH_NORM_SUFFIX = '_bn'

# --helpfull lists flags by topic: absl groups flags by the module that defines them, and each
# flag is registered here under its topic's name as the "module" (capitalised, so the topics come
# before absl's and TensorFlow's modules). A flag must have a topic; key flags of this module
# either way, so each script's --helpshort lists them all.
TOPICS = {
    'Dataset': ('dataset_dir', 'dataset_name', 'dataset_split_name', 'dataset_view',
                'labels_file'),
    'Model': ('model_name', 'use_batch_norm', 'train_image_size', 'eval_image_size', 'image_size',
              'full_image'),
    'Input pipeline': ('input_pipeline', 'num_readers', 'num_preprocessing_threads', 'fast_mode',
                       'decode_and_crop', 'batch_size'),
    'Optimization': ('max_number_of_steps', 'optimizer', 'learning_rate',
                     'learning_rate_decay_type', 'learning_rate_decay_factor',
                     'end_learning_rate', 'num_epochs_per_decay', 'warmup_epochs',
                     'weight_decay', 'label_smoothing', 'moving_average_decay',
                     'clip_gradient_norm', 'seed'),
    'Checkpoints': ('train_dir', 'checkpoint_path', 'checkpoint_exclude_scopes',
                    'trainable_scopes', 'ignore_missing_vars', 'save_interval_secs',
                    'keep_checkpoint_max', 'once', 'eval_interval_secs', 'timeout'),
    'TensorBoard': ('log_every_n_steps', 'save_summaries_secs', 'summarize_histograms',
                    'summarize_gradients', 'eval_dir', 'embedding_size', 'embedding_every',
                    'grid_images', 'fixed_photos'),
    'Cluster': ('job_name', 'task', 'ps_hosts', 'worker_hosts', 'sync_replicas',
                'replicas_to_aggregate'),
    'Devices': ('num_clones', 'clone_on_cpu', 'log_device_placement', 'precision',
                'eval_device'),
    'Prediction': ('top_k', 'output', 'explain'),
    'Export': ('export_dir', 'version', 'overwrite', 'tflite'),
}
_TOPIC_OF = {name: topic for topic, names in TOPICS.items() for name in names}


def topic(name):
  """The --helpfull topic of flag --name (optimizer parameters: Optimization)."""
  if name in _TOPIC_OF:
    return _TOPIC_OF[name]
  if name in optimization.parameter_users():
    return 'Optimization'
  raise ValueError('flag --%s has no topic in script_flags.TOPICS' % name)


def define_flag(definer, name, *args, **kwargs):
  """definer(name, *args, **kwargs) (a flags.DEFINE_*) with --name under its topic in --helpfull
  and a key flag of this module (adopted by each script for --helpshort)."""
  definer(name, *args, module_name=topic(name), **kwargs)
  flags.declare_key_flag(name)


def _flag_kind(annotation):
  """The absl DEFINE_* for a dataclass field type (Optional[X] is X)."""
  args = [a for a in typing.get_args(annotation) if a is not type(None)]
  if typing.get_origin(annotation) is typing.Union and len(args) == 1:
    annotation = args[0]
  if typing.get_origin(annotation) in (list, tuple, typing.get_origin(typing.Sequence[str])):
    return flags.DEFINE_list
  return {bool: flags.DEFINE_boolean, int: flags.DEFINE_integer, float: flags.DEFINE_float,
          str: flags.DEFINE_string}[annotation]


def field_default(config_cls, name):
  field = {f.name: f for f in dataclasses.fields(config_cls)}[name]
  if field.default_factory is not dataclasses.MISSING:
    return field.default_factory()
  return None if field.default is dataclasses.MISSING else field.default


def define(config_cls, name, help_text, choices=None):
  """Defines --name with the type and default of config_cls's field `name`."""
  default = field_default(config_cls, name)
  if choices is not None:
    define_flag(flags.DEFINE_enum, name, default, list(choices), help_text)
    return
  kind = _flag_kind(typing.get_type_hints(config_cls)[name])
  define_flag(kind, name, list(default) if kind is flags.DEFINE_list else default, help_text)


def define_dataset_flags(config_cls):
  define(config_cls, 'dataset_dir', 'Folder of the converted TFRecords.')
  define(config_cls, 'dataset_name', 'flowers, or the --dataset_name another conversion used.')
  define(config_cls, 'dataset_split_name', 'Split to read.')


def define_model_flags(config_cls):
  define(config_cls, 'model_name', 'The network.', choices=sorted(nets_factory.nets_map))
  define_flag(flags.DEFINE_boolean, 'use_batch_norm', False,
                       'Batch normalization after each conv layer: the --model_name variant '
                       'with "%s" (alexnet_v2 -> alexnet_v2_bn).' % BATCH_NORM_SUFFIX)


def define_input_flags(config_cls):
  define(config_cls, 'input_pipeline',
         'queue: slim DatasetDataProvider and queue runners; tf_data: tf.data.',
         choices=input_pipeline.PIPELINES)
  define(config_cls, 'num_preprocessing_threads', 'Threads that decode and preprocess.')


def model_name(flag_values=FLAGS):
  """--model_name, or its batch-norm variant with --use_batch_norm (of flag_values: the
  parsed flags)."""
  name = flag_values.model_name
  if not flag_values.use_batch_norm or name.endswith(BATCH_NORM_SUFFIX):
    return name
  if name + BATCH_NORM_SUFFIX not in nets_factory.nets_map:
    raise UserError('--model_name=%s has no batch-norm variant; drop --use_batch_norm' % name)
  return name + BATCH_NORM_SUFFIX


def config_from_flags(config_cls, **values):
  """config_cls with every field that has a flag of its name taken from the flags; `values`
  give the others (and override)."""
  settings = {}
  for field in dataclasses.fields(config_cls):
    if field.name in values:
      settings[field.name] = values[field.name]
    elif field.name == 'model_name' and 'use_batch_norm' in FLAGS:
      settings[field.name] = model_name()
    elif field.name in FLAGS:
      settings[field.name] = FLAGS[field.name].value
  return config_cls(**settings)


# --- the scripts that use a trained checkpoint (predict, export) --------------------------------

def define_checkpoint_flags(config_cls):
  """--checkpoint_path (a field of config_cls) and what describes a checkpoint when its training
  folder has no run.json (or to override what run.json says)."""
  define(config_cls, 'checkpoint_path',
         'A training folder (its newest checkpoint) or a checkpoint prefix such as '
         'runs/alexnet/model.ckpt-1000. Its folder\'s run.json and labels.txt tell the rest.')
  define_model_flags(run_info.Overrides)
  define(run_info.Overrides, 'labels_file',
         'labels.txt (id:name lines) of the classes; default: the training folder\'s.')
  define(run_info.Overrides, 'dataset_dir', 'Or the converted dataset whose labels.txt to use.')
  define(run_info.Overrides, 'image_size', 'Input size (predict --full_image: the photo\'s shorter '
         'side); default: the one training used.')
  define(run_info.Overrides, 'moving_average_decay',
         'Use the moving averages of the weights kept with this decay (default: when the run '
         'kept them); 0: the raw weights.')


def checkpoint_overrides():
  """run_info.Overrides from the flags of define_checkpoint_flags (None: as run.json says)."""
  name = None
  if FLAGS.model_name:
    name = model_name()
  elif FLAGS.use_batch_norm:
    name = run_info.DEFAULT_MODEL + BATCH_NORM_SUFFIX
  return run_info.Overrides(model_name=name, labels_file=FLAGS.labels_file,
                            dataset_dir=FLAGS.dataset_dir, image_size=FLAGS.image_size,
                            moving_average_decay=FLAGS.moving_average_decay)
