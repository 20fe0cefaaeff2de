"""EvalConfig: every setting of an evaluation, each field with its flag's help text, topic and
range or choices (base.options), without TensorFlow: eval_alexnet.py's flags come from here
before TensorFlow loads; evaluation.evaluator validates and runs it."""
import dataclasses
from typing import Optional

import base
from base import UserError
from base import options
from base.options import REQUIRED
from base.options import option
from datasets import pipelines
from nets import names
from rundir import devices

# The projector's sample: 2,048 images make a sprite of 46 x 46 thumbnails of 64 px (2,944 px a
# side, within TensorBoard's 8,192) and keep about 90 MB (fc7 16 KB, thumbnail 27 KB an image).
EMBEDDING_SIZE = 2048
EMBEDDING_SEED = 0


@dataclasses.dataclass
class EvalConfig:
  dataset_dir: str = option(REQUIRED, 'Folder of the converted TFRecords.', 'Dataset')
  checkpoint_path: str = option(  # the train_dir (a folder) or one checkpoint prefix
      REQUIRED, 'What to evaluate: the training folder (its --train_dir; every checkpoint, in '
      'order, as training writes them) or one checkpoint prefix such as '
      'runs/alexnet/model.ckpt-1000 (evaluated once).', 'Checkpoints')
  eval_dir: str = option(REQUIRED, 'Folder for the evaluation\'s summaries, projector files and '
                         'state; not the training folder (a subfolder of it is fine).',
                         'TensorBoard')
  dataset_name: str = option('flowers', 'flowers, or the --dataset_name another conversion used.',
                             'Dataset')
  dataset_split_name: str = option('validation', 'Split to read.', 'Dataset')
  model_name: Optional[str] = option(
      None, 'The network; default: the one the training folder\'s run.json names (alexnet_v2 '
      'without it).', 'Model', choices=names.NAMES)
  batch_size: int = option(50, 'Images per batch.', 'Input pipeline', above=0, says_value=True)
  eval_interval_secs: float = option(
      60.0, 'Seconds between looks for a new checkpoint (waiting ones are evaluated back to '
      'back).', 'Checkpoints', minimum=0)
  timeout: float = option(3600.0, 'Stop after this many seconds without a new checkpoint; 0 '
                          'waits forever.', 'Checkpoints', minimum=0, note='0 waits forever')
  max_number_of_steps: int = option(
      0, 'Training\'s last step: stop once its checkpoint is evaluated. 0: the one training '
      'wrote in the training folder\'s run.json (unknown without it).', 'Optimization',
      minimum=0, note='0: from run.json')
  once: bool = option(False, 'Evaluate one checkpoint (the newest in a folder) and exit.',
                      'Checkpoints')
  eval_image_size: Optional[int] = option(
      None, 'Input size (default: the one training used, in run.json, else the net\'s, 224): the '
      'side of the central crop, or the shorter side of the photo with --full_image.', 'Model')
  full_image: bool = option(
      False, 'Classify whole photos (aspect kept, one at a time) through the fully '
      'convolutional net with its score map averaged, instead of a central crop.', 'Model')
  moving_average_decay: Optional[float] = option(
      None, 'Evaluate the moving averages of the weights training kept with this decay.',
      'Optimization', within='(0, 1)')
  eval_device: str = option(
      'auto', 'auto: a GPU when one is visible (memory grows as needed); cpu: keep off the GPU; '
      'gpu: require one.', 'Devices', choices=devices.EVAL_DEVICES)
  input_pipeline: Optional[str] = option(  # default: queue (tf_data for full_image)
      None, 'queue: slim DatasetDataProvider and queue runners; tf_data: tf.data.',
      'Input pipeline', choices=pipelines.PIPELINES)
  num_preprocessing_threads: int = option(4, 'Threads that decode and preprocess.',
                                          'Input pipeline', above=0)
  embedding_size: int = option(
      EMBEDDING_SIZE, 'Images in the embedding projector: a sample of the split, '
      'the same images at every checkpoint (all of them when the split has no more); its '
      '64-px thumbnails fit TensorBoard\'s 8192-px sprite up to 16384 images, smaller beyond. '
      'Memory grows with it (about 43 KB an image), not with the split; 0: no projector.',
      'TensorBoard', minimum=0)
  embedding_seed: int = option(
      EMBEDDING_SEED, 'Which images the projector\'s sample takes: those with the '
      'smallest hash of this seed and their file name.', 'TensorBoard', minimum=0)
  embedding_every: int = option(
      1, 'Write the projector every n-th evaluated checkpoint (and the last); 0: never.',
      'TensorBoard', minimum=0)
  grid_images: int = option(24, 'Images in the prediction grid (mistakes first); 0: no grid.',
                            'TensorBoard', minimum=0)
  fixed_photos: int = option(
      3, 'The split\'s first n photos (in file order), shown at every checkpoint with their '
      'Grad-CAM and conv1/conv5 feature maps, so TensorBoard\'s step slider shows the same '
      'photos through training; 0: none.', 'TensorBoard', minimum=0)
  preprocessing: Optional[str] = None  # a preprocessing_factory name (None: the model's)


def check_settings(config):
  """One-line UserErrors for the settings that can never work and need no TensorFlow to see: a
  field out of its range or choices (base.options), --full_image with the queue pipeline, an
  eval_dir that is a file, glob characters in a folder. (eval_alexnet.py checks them before
  TensorFlow loads; evaluator.validate checks them again, with the net's size.)"""
  options.check(config)
  if config.full_image and config.input_pipeline == 'queue':
    raise UserError('--full_image needs --input_pipeline=tf_data (the queue pipeline batches '
                    'equal-size images only)')
  base.check_folder_path(config.eval_dir, 'eval_dir')
  for flag in ('eval_dir', 'dataset_dir', 'checkpoint_path'):
    base.check_no_glob_characters(getattr(config, flag), flag)
