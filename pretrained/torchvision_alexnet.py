"""torchvision's ImageNet AlexNet (a state dict such as alexnet-owt-7be5be79.pth) as a TF
checkpoint of nets/alexnet_tv.py: what convert_torchvision_alexnet.py runs.

The mapping (torchvision key -> variable):
  features.0/3/6/8/10.{weight,bias}   -> alexnet_tv/conv1..conv5/{weights,biases}
  classifier.1/4/6.{weight,bias}      -> alexnet_tv/fc6, fc7, fc8/{weights,biases}
Conv kernels go from torch's OIHW to TensorFlow's HWIO (transpose(2, 3, 1, 0)). fc6 is a dense
layer on pool5 flattened in C,H,W order; as a 6x6 VALID convolution its kernel is
W.reshape(4096, 256, 6, 6).transpose(2, 3, 1, 0). fc7 and fc8 become 1x1 convolutions (W.T).

A state dict that is not torchvision's AlexNet (another architecture, a missing or misshapen
key, an integer tensor where weights belong) is refused with one line naming the key and the
shapes. The checkpoint (with a global_step of 0) is written under a temporary name and renamed
into place, its .index last; an existing checkpoint, or a folder holding a run's or a dataset's
files (run.json, labels.txt, checkpoints), is refused unless overwrite. The .pth is read
without torch (pretrained.pth); torch and torchvision, when installed, give the ImageNet class
names (labels.txt, run.json) and the --verify comparison. In one process torch must be imported
before TensorFlow (the other order crashed here): the script imports it first.
"""
import collections
import importlib
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

import base
from base import UserError
from nets import alexnet_tv
from nets import nets_factory
from pictures import ramps
from pretrained import verification
from rundir import run_info

MODEL_NAME = 'alexnet_tv'   # the nets_factory name; its variables are under alexnet_tv.SCOPE
NUM_CLASSES = 1000
CHECKPOINT_NAME = 'alexnet_tv.ckpt'
IMAGE_SIZE = 224

# torchvision key prefix -> (layer, shape of its torch weight).
LAYERS = collections.OrderedDict([
    ('features.0', ('conv1', (64, 3, 11, 11))),
    ('features.3', ('conv2', (192, 64, 5, 5))),
    ('features.6', ('conv3', (384, 192, 3, 3))),
    ('features.8', ('conv4', (256, 384, 3, 3))),
    ('features.10', ('conv5', (256, 256, 3, 3))),
    ('classifier.1', ('fc6', (4096, 256 * 6 * 6))),
    ('classifier.4', ('fc7', (4096, 4096))),
    ('classifier.6', ('fc8', (NUM_CLASSES, 4096))),
])
_DATA_PARALLEL_PREFIX = 'module.'  # nn.DataParallel saves its model's keys under module.


class ConversionError(UserError):
  """A state dict that is not torchvision's AlexNet; str(e) is one line naming the key."""


def expected_shapes():
  """{torchvision key: shape} of torchvision's AlexNet with 1000 classes."""
  shapes = collections.OrderedDict()
  for prefix, (_, weight_shape) in LAYERS.items():
    shapes[prefix + '.weight'] = weight_shape
    shapes[prefix + '.bias'] = weight_shape[:1]
  return shapes


def _strip_data_parallel(state_dict):
  if state_dict and all(key.startswith(_DATA_PARALLEL_PREFIX) for key in state_dict):
    return collections.OrderedDict((key[len(_DATA_PARALLEL_PREFIX):], value)
                                   for key, value in state_dict.items())
  return state_dict


def check_state_dict(state_dict):
  """The state dict (keys of an nn.DataParallel stripped of 'module.') when it is torchvision's
  AlexNet with 1000 classes; ConversionError naming the first key that is not."""
  state_dict = _strip_data_parallel(state_dict)
  shapes = expected_shapes()
  for key, value in state_dict.items():
    if key not in shapes:
      raise ConversionError(
          'key %s (shape %s) is not in torchvision\'s AlexNet, whose keys are %s: this state '
          'dict is of another architecture' % (key, tuple(np.shape(value)),
                                               ', '.join(shapes)))
  for key, shape in shapes.items():
    if key not in state_dict:
      raise ConversionError('the state dict has no %s (torchvision\'s AlexNet has it, shape %s)'
                            % (key, shape))
    value = np.asarray(state_dict[key])
    if value.shape != shape:
      what = ('an fc8 for %d classes, not ImageNet\'s %d' % (value.shape[0], NUM_CLASSES)
              if key.startswith('classifier.6') and value.ndim == len(shape)
              and value.shape[1:] == shape[1:]
              else 'another architecture')
      raise ConversionError('%s has shape %s where torchvision\'s AlexNet has %s (%s)'
                            % (key, value.shape, shape, what))
    if not (np.issubdtype(value.dtype, np.floating) or value.dtype.name == 'bfloat16'):
      raise ConversionError('%s holds %s values where torchvision\'s AlexNet has floats'
                            % (key, value.dtype))
  return state_dict


def to_variables(state_dict):
  """{alexnet_tv variable name: float32 array} from a torchvision AlexNet state dict."""
  state_dict = check_state_dict(state_dict)
  variables = collections.OrderedDict()
  for prefix, (layer, _) in LAYERS.items():
    weight = np.asarray(state_dict[prefix + '.weight'], np.float32)
    if layer == 'fc6':
      kernel = weight.reshape(4096, 256, 6, 6).transpose(2, 3, 1, 0)
    elif weight.ndim == 4:
      kernel = weight.transpose(2, 3, 1, 0)
    else:
      kernel = weight.T.reshape(1, 1, weight.shape[1], weight.shape[0])
    scope = '%s/%s/' % (alexnet_tv.SCOPE, layer)
    variables[scope + 'weights'] = np.ascontiguousarray(kernel)
    variables[scope + 'biases'] = np.asarray(state_dict[prefix + '.bias'], np.float32)
  return variables


def checkpoint_prefix(output):
  """The checkpoint prefix for --output: a folder (existing, or ending in '/') gets
  alexnet_tv.ckpt in it; anything else is the prefix itself."""
  if not output:
    raise UserError('--output is empty: give a folder or a checkpoint prefix')
  if output.endswith(('/', os.sep)) or os.path.isdir(output):
    return os.path.join(output, CHECKPOINT_NAME)
  return output


def _run_files(folder):
  """The files of a training run or a dataset in folder that a conversion there would replace
  or mix with: run.json, labels.txt, a checkpoint state file, checkpoints (their .index)."""
  try:
    names = os.listdir(folder)
  except OSError:
    return []
  return sorted(name for name in names
                if name in (run_info.FILENAME, run_info.LABELS_FILENAME, 'checkpoint')
                or name.endswith('.index'))


def check_output(output, overwrite=False):
  """The checkpoint prefix for --output (see checkpoint_prefix), when writing there replaces
  nothing the converter did not make: UserError (unless overwrite) for an existing checkpoint,
  or a folder that holds a run's or a dataset's files (its run.json and labels.txt would be
  replaced, its checkpoints joined by one of another net)."""
  base.check_no_glob_characters(output, 'output')
  prefix = checkpoint_prefix(output)
  if overwrite:
    return prefix
  if os.path.exists(prefix + '.index'):
    raise UserError('%s is an existing checkpoint; pass --overwrite to replace it, or another '
                    '--output' % prefix)
  folder = os.path.dirname(os.path.abspath(prefix))
  found = _run_files(folder)
  if found:
    raise UserError('%s holds a run\'s or a dataset\'s files (%s%s), which the conversion would '
                    'replace or mix with; pass --overwrite to write there anyway, or give a new '
                    'folder as --output' % (folder, ', '.join(found[:3]),
                                            ', ...' if len(found) > 3 else ''))
  return prefix


def _build_net(images=None):
  """alexnet_tv with 1000 classes in inference mode in the default graph: (images, logits)."""
  if images is None:
    images = tf.compat.v1.placeholder(tf.float32, [None, IMAGE_SIZE, IMAGE_SIZE, 3], 'images')
  network_fn = nets_factory.get_network_fn(MODEL_NAME, NUM_CLASSES, is_training=False)
  logits, _ = network_fn(images)
  return images, logits


def write_checkpoint(variables, prefix):
  """Writes {variable name: array} as the checkpoint `prefix` of alexnet_tv (1000 classes) with
  a global_step of 0: saved under a temporary name in its folder, then renamed (data files
  first, the .index last: a checkpoint counts once its .index exists)."""
  folder = os.path.dirname(os.path.abspath(prefix))
  os.makedirs(folder, exist_ok=True)
  with tf.Graph().as_default():
    _build_net()
    global_step = tf.compat.v1.train.get_or_create_global_step()
    model_variables = {v.op.name: v for v in tf.compat.v1.global_variables()
                       if v.op.name.startswith(alexnet_tv.SCOPE + '/')}
    if sorted(model_variables) != sorted(variables):
      raise ValueError('the converted variables %s are not those of %s: %s'
                       % (sorted(variables), MODEL_NAME, sorted(model_variables)))
    saver = tf.compat.v1.train.Saver(dict(model_variables, global_step=global_step))
    with tf.compat.v1.Session() as sess:
      sess.run(global_step.initializer)
      for name, var in model_variables.items():
        if var.shape.as_list() != list(variables[name].shape):
          raise ValueError('%s: converted shape %s, the net needs %s'
                           % (name, variables[name].shape, var.shape))
        var.load(variables[name], sess)
      staging = tempfile.mkdtemp(prefix='.' + os.path.basename(prefix) + '.', dir=folder)
      try:
        staged = os.path.join(staging, 'ckpt')
        saver.save(sess, staged, write_meta_graph=False, write_state=False)
        files = sorted(os.listdir(staging), key=lambda name: name.endswith('.index'))
        for name in files:
          os.replace(os.path.join(staging, name), prefix + name[len('ckpt'):])
      finally:
        shutil.rmtree(staging, ignore_errors=True)
  return prefix


def imagenet_class_names():
  """torchvision's ImageNet class names (its AlexNet weights' meta), or None without it."""
  try:
    import torchvision  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  return list(torchvision.models.AlexNet_Weights.IMAGENET1K_V1.meta['categories'])


def write_run_info(folder, class_names):
  """labels.txt and run.json beside the checkpoint: predict_alexnet.py and eval_alexnet.py then
  know its model, classes, size and preprocessing."""
  run_info.write(folder, run_info.RunInfo(
      model_name=MODEL_NAME, class_names=list(class_names), image_size=IMAGE_SIZE,
      preprocessing=run_info.preprocessing_name(MODEL_NAME), dataset_name='imagenet'))


def sample_images(count=4, seed=0):
  """Normalised-looking float32 images [count, 224, 224, 3] (NHWC) to compare the two nets on:
  smooth colour gradients with noise over [-2, 2], about the range of torchvision's normalised
  photos."""
  return ramps.gradient_images(count, IMAGE_SIZE, 2.0, 0.3, seed)


def checkpoint_logits(prefix, images):
  """alexnet_tv's logits [N, 1000] for NHWC float32 images, restored from the checkpoint."""
  with tf.Graph().as_default():
    inputs, logits = _build_net()
    saver = tf.compat.v1.train.Saver([v for v in tf.compat.v1.global_variables()
                                      if v.op.name.startswith(alexnet_tv.SCOPE + '/')])
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, prefix)
      return sess.run(logits, {inputs: images})


def torchvision_logits(state_dict, images):
  """torchvision.models.alexnet's logits [N, 1000] with the state dict's weights, in eval mode,
  for the same NHWC images (given to torch as NCHW). Needs torch and torchvision."""
  import torch  # pylint: disable=import-outside-toplevel
  import torchvision  # pylint: disable=import-outside-toplevel
  model = torchvision.models.alexnet(weights=None)
  model.load_state_dict({key: torch.from_numpy(np.ascontiguousarray(value, np.float32))
                         for key, value in _strip_data_parallel(state_dict).items()})
  model.eval()
  with torch.no_grad():
    return model(torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))).numpy()


def compare_logits(ours, theirs):
  """(largest absolute difference, logit range of theirs)."""
  return (float(np.max(np.abs(ours.astype(np.float64) - theirs))),
          float(np.max(theirs) - np.min(theirs)))


def verify(state_dict, prefix, images=None):
  """Runs torchvision's AlexNet (the state dict's weights) and the written checkpoint on the same
  images: (largest logit difference, logit range, within verification.VERIFY_TOLERANCE of the
  range). UserError without torch and torchvision."""
  try:
    for name in ('torch', 'torchvision'):
      importlib.import_module(name)
  except ImportError as e:
    raise UserError('--verify needs torch and torchvision (%s); install them, e.g. pip install '
                    'torch torchvision --index-url https://download.pytorch.org/whl/cpu' % e)
  images = sample_images() if images is None else images
  difference, logit_range = compare_logits(checkpoint_logits(prefix, images),
                                           torchvision_logits(state_dict, images))
  return difference, logit_range, difference <= verification.VERIFY_TOLERANCE * logit_range


def convert(state_dict, output, class_names=None, overwrite=False):
  """Converts a state dict to the checkpoint for --output (see checkpoint_prefix); with
  class_names also labels.txt and run.json in its folder. Returns the prefix. An existing
  checkpoint or a folder of a run or a dataset is a UserError unless overwrite (check_output)."""
  prefix = check_output(output, overwrite)
  variables = to_variables(state_dict)
  prefix = write_checkpoint(variables, prefix)
  if class_names is not None:
    if len(class_names) != NUM_CLASSES:
      raise ValueError('%d class names for %d classes' % (len(class_names), NUM_CLASSES))
    write_run_info(os.path.dirname(os.path.abspath(prefix)), class_names)
  return prefix


def fine_tune_command(prefix, dataset_dir='data/flowers', train_dir='runs/alexnet_tv_fc'):
  """The train_alexnet.py command of the first fine-tuning stage on Flowers (README: A pretrained
  start): a new fc8, fc6-fc8 trained, the convolutions kept."""
  return ('python train_alexnet.py --dataset_dir=%s --train_dir=%s --model_name=%s '
          '--checkpoint_path=%s --checkpoint_exclude_scopes=%s/fc8 '
          '--trainable_scopes=%s/fc6,%s/fc7,%s/fc8 --learning_rate=0.001 '
          '--max_number_of_steps=1500'
          % ((dataset_dir, train_dir, MODEL_NAME, prefix) + (alexnet_tv.SCOPE,) * 4))
