"""TrainConfig: every setting of a training run, each field with its flag's help text, topic and
range or choices (base.options), so that train_alexnet.py's flags, --helpfull's topics and the
range errors all come from here; validate: those range errors and the checks that involve
several settings or the file system.
"""
import dataclasses
from typing import Optional
from typing import Sequence

import base
from base import UserError
from base import options
from base.options import REQUIRED
from base.options import option
from datasets import pipelines
from nets import names
from rundir import devices
from training import cluster_roles
from training import optimizer_params as optimizers  # (a field is named optimizer_params)

MAX_EPOCHS = 1e6  # of a schedule's epochs: counted in steps, they must stay integers


@dataclasses.dataclass
class TrainConfig:
  dataset_dir: str = option(REQUIRED, 'Folder of the converted TFRecords.', 'Dataset')
  train_dir: str = option(REQUIRED, 'Folder for checkpoints and event files.', 'Checkpoints')
  dataset_name: str = option('flowers', 'flowers, or the --dataset_name another conversion used.',
                             'Dataset')
  dataset_split_name: str = option('train', 'Split to read.', 'Dataset')
  model_name: str = option('alexnet_v2', 'The network.', 'Model',
                           choices=names.NAMES)
  batch_size: int = option(32, 'Images per step (split over the clones).', 'Input pipeline',
                           above=0, says_value=True)
  max_number_of_steps: int = option(  # the global step to stop at
      10000, 'Steps to train to (global step); 0 trains until stopped.', 'Optimization',
      minimum=0, note='0: until stopped', says_value=True)
  optimizer: str = option('momentum', 'Optimizer.', 'Optimization',
                          choices=optimizers.OPTIMIZERS)
  optimizer_params: dict = dataclasses.field(default_factory=dict)  # --momentum, --adam_beta1...
  learning_rate: float = option(0.01, 'Initial learning rate.', 'Optimization', above=0)
  learning_rate_decay_type: str = option('exponential', 'How the learning rate decays.',
                                         'Optimization', choices=optimizers.DECAY_TYPES)
  learning_rate_decay_factor: float = option(0.94, 'exponential: factor per decay period.',
                                             'Optimization', within='(0, 1]')
  end_learning_rate: float = option(0.0001, 'polynomial: final rate.', 'Optimization',
                                    minimum=0, note='a negative rate climbs the loss')
  num_epochs_per_decay: float = option(
      2.0, 'Epochs per decay period.', 'Optimization', above=0, maximum=MAX_EPOCHS,
      note='for no decay: --learning_rate_decay_type=fixed')
  warmup_epochs: float = option(0.0, 'Linear warm-up from 0, in epochs.', 'Optimization',
                                minimum=0, maximum=MAX_EPOCHS)
  weight_decay: float = option(0.0005, 'L2 weight decay.', 'Optimization', minimum=0)
  label_smoothing: float = option(0.0, 'Label smoothing of the cross-entropy.', 'Optimization',
                                  within='[0, 1)')
  moving_average_decay: Optional[float] = option(
      None, 'Keep exponential moving averages of the weights (eval can use them).',
      'Optimization', within='(0, 1)')
  clip_gradient_norm: float = option(0.0, 'Clip each gradient to this L2 norm; 0 does not clip.',
                                     'Optimization', minimum=0, note='0 does not clip')
  checkpoint_path: Optional[str] = option(
      None, 'Fine-tuning source: a checkpoint (file prefix, or a folder for its newest) whose '
      'weights start this run. Ignored when --train_dir already holds a checkpoint (then '
      'training resumes from that). Not where checkpoints go: that is --train_dir.',
      'Checkpoints')
  checkpoint_exclude_scopes: Sequence[str] = option(
      (), 'Scopes not restored from --checkpoint_path, e.g. alexnet_v2/fc8.', 'Checkpoints')
  trainable_scopes: Sequence[str] = option((), 'Train only these scopes (default: all).',
                                           'Checkpoints')
  ignore_missing_vars: bool = option(False, 'Skip variables the fine-tuning checkpoint lacks.',
                                     'Checkpoints')
  input_pipeline: str = option(
      'queue', 'queue: slim DatasetDataProvider and queue runners; tf_data: tf.data.',
      'Input pipeline', choices=pipelines.PIPELINES)
  num_readers: int = option(4, 'Parallel TFRecord readers.', 'Input pipeline')
  num_preprocessing_threads: int = option(4, 'Threads that decode and preprocess.',
                                          'Input pipeline')
  fast_mode: bool = option(True, 'Cheaper colour distortion and bilinear resize only.',
                           'Input pipeline')
  decode_and_crop: bool = option(True, 'Decode only the sampled crop window of each JPEG.',
                                 'Input pipeline')
  min_crop_area: Optional[float] = option(
      None, 'Smallest share of a photo\'s area a training crop covers (default: the '
      'preprocessing\'s, 0.1 for inception, 0.08 for torchvision).', 'Input pipeline',
      within='(0, 1]')
  train_image_size: Optional[int] = option(None, 'Input size (default: the net\'s, 224).',
                                           'Model')
  log_every_n_steps: int = option(10, 'Progress line every n steps.', 'TensorBoard', above=0)
  save_summaries_secs: int = option(60, 'Seconds between TensorBoard summaries.', 'TensorBoard',
                                    above=0)
  save_interval_secs: int = option(600, 'Seconds between checkpoints.', 'Checkpoints', above=0)
  keep_checkpoint_max: int = option(5, 'Checkpoints kept.', 'Checkpoints', above=0)
  seed: int = option(0, 'Graph-level random seed.', 'Optimization')
  deterministic: bool = option(
      False, 'Bit-identical weights from the same flags and --seed on the same machine and '
      'TensorFlow: op determinism, seeded tf.data input in one order (needs '
      '--input_pipeline=tf_data), one process and one clone; slower input.', 'Optimization')
  num_clones: int = option(1, 'Split each batch over this many GPUs.', 'Devices', above=0)
  clone_on_cpu: bool = option(False, 'Put the clones on the CPU.', 'Devices')
  log_device_placement: bool = option(False, 'Log the device of every op.', 'Devices')
  precision: str = option(
      'fp32', 'bf16: oneDNN mixed precision on CPUs with AVX512-BF16/AMX; fp16: GPU mixed '
      'precision; auto: bf16 where the CPU has it and no GPU is visible, else fp32. Weights '
      'stay fp32.', 'Devices', choices=devices.PRECISIONS)
  summarize_histograms: bool = option(True, 'Histograms of weights and activations.',
                                      'TensorBoard')
  summarize_gradients: bool = option(False, 'Histograms of gradients.', 'TensorBoard')
  cluster: Optional[cluster_roles.Cluster] = None  # None: one process (training/cluster.py)
  sync_replicas: bool = option(
      False, 'In a cluster: aggregate the workers\' gradients into one update '
      '(SyncReplicasOptimizer); else each worker updates on its own.', 'Cluster')
  replicas_to_aggregate: int = option(
      0, 'With --sync_replicas: gradients per update (0: the number of workers).', 'Cluster')
  startup_timeout_secs: int = option(
      600, 'In a cluster, a worker but the chief: how long it waits for the chief to initialise '
      'the variables before it gives up (exit 2).', 'Cluster', above=0)


def validate(config):
  """One-line UserErrors for settings that can never work: a field out of its range or choices
  (base.options), then what involves several settings or the file system."""
  options.check(config)
  if not (config.num_readers > 0 and config.num_preprocessing_threads > 0):
    raise UserError('--num_readers and --num_preprocessing_threads must be positive')
  if config.learning_rate_decay_type == 'cosine' and not config.max_number_of_steps:
    raise UserError('--learning_rate_decay_type=cosine needs --max_number_of_steps (the rate '
                    'reaches 0 at the last step)')
  if config.cluster is None and config.sync_replicas:
    raise UserError('--sync_replicas needs a cluster (--job_name, --ps_hosts, --worker_hosts '
                    'or TF_CONFIG)')
  if config.cluster is not None:
    cluster_roles.replicas_to_aggregate(config.cluster, config.replicas_to_aggregate)
  if config.deterministic:
    _check_deterministic(config)
  optimizers.check_params(config.optimizer_params)
  base.check_folder_path(config.train_dir, 'train_dir')
  for flag in ('train_dir', 'dataset_dir', 'checkpoint_path'):
    base.check_no_glob_characters(getattr(config, flag), flag)


def _check_deterministic(config):
  """UserError for what --deterministic cannot make repeat: threads or processes that race."""
  if config.input_pipeline != 'tf_data':
    raise UserError('--deterministic needs --input_pipeline=tf_data: the queue pipeline\'s '
                    'reader and preprocessing threads race, so its examples come in another '
                    'order in every run')
  if config.num_clones > 1:
    raise UserError('--deterministic trains one clone (--num_clones=1): clones take their '
                    'batches from one input in an order that differs from run to run')
  if config.cluster is not None:
    raise UserError('--deterministic runs in one process: the workers of a cluster update the '
                    'variables in an order that differs from run to run')
