"""alexnet_tv computes torchvision's AlexNet: converted random weights against a numpy reference of
torchvision's layers written here (sharing no code with the net), negative controls that must
fail the same comparison, the converter's refusals, and (torch installed) torchvision itself."""
import collections
import importlib.util
import logging
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from PIL import Image

from base import UserError
from evaluation import eval_config
from evaluation import evaluator
from nets import alexnet_tv
from nets import nets_factory
from pretrained import pth as pth_module
from pretrained import torchvision_alexnet as tva
from summaries import projector
from support import pth_files
from support import scripts
from support import tf_helpers
from support.dataset_helpers import CLASS_COLOURS
from support.pth_files import random_state_dict
from training import train_config
from training import trainer

SIZE = 224            # the smallest usual size (alexnet_tv needs at least 223)
TOLERANCE = 1e-4      # of the logit range, as --verify


# --- a numpy reference of torchvision.models.alexnet (NCHW, torch's weight layouts) --------------

def conv2d(x, weight, bias, stride, padding):
  """torch.nn.Conv2d: x [N, C, H, W], weight [O, C, kh, kw], symmetric zero padding."""
  if isinstance(padding, int):
    padding = (padding, padding, padding, padding)   # top, bottom, left, right
  top, bottom, left, right = padding
  x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
  n, c, h, w = x.shape
  out_c, _, kh, kw = weight.shape
  oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
  columns = np.empty((n, c, kh, kw, oh, ow), x.dtype)
  for i in range(kh):
    for j in range(kw):
      columns[:, :, i, j] = x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
  out = np.einsum('nkhw,ok->nohw', columns.reshape(n, c * kh * kw, oh, ow),
                  weight.reshape(out_c, -1), optimize=True)
  return out + bias[None, :, None, None]


def max_pool(x, size=3, stride=2):
  n, c, h, w = x.shape
  oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
  out = np.full((n, c, oh, ow), -np.inf, x.dtype)
  for i in range(size):
    for j in range(size):
      out = np.maximum(out, x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride])
  return out


def adaptive_avg_pool(x, side=6):
  n, c, h, w = x.shape
  out = np.empty((n, c, side, side), x.dtype)
  for i in range(side):
    for j in range(side):
      rows = slice(i * h // side, -(-(i + 1) * h // side))
      cols = slice(j * w // side, -(-(j + 1) * w // side))
      out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
  return out


def reference_logits(state, images_nchw, conv1_padding=2):
  relu = lambda v: np.maximum(v, 0.0)
  x = images_nchw.astype(np.float64)
  p = {k: v.astype(np.float64) for k, v in state.items()}
  x = max_pool(relu(conv2d(x, p['features.0.weight'], p['features.0.bias'], 4, conv1_padding)))
  x = max_pool(relu(conv2d(x, p['features.3.weight'], p['features.3.bias'], 1, 2)))
  x = relu(conv2d(x, p['features.6.weight'], p['features.6.bias'], 1, 1))
  x = relu(conv2d(x, p['features.8.weight'], p['features.8.bias'], 1, 1))
  x = max_pool(relu(conv2d(x, p['features.10.weight'], p['features.10.bias'], 1, 1)))
  x = adaptive_avg_pool(x).reshape(x.shape[0], -1)             # flattened C, H, W
  x = relu(x @ p['classifier.1.weight'].T + p['classifier.1.bias'])
  x = relu(x @ p['classifier.4.weight'].T + p['classifier.4.bias'])
  return x @ p['classifier.6.weight'].T + p['classifier.6.bias']


Converted = collections.namedtuple('Converted', 'state images reference prefix variables')


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
  """Random weights through the whole way: a float16 .pth (write_pth), read without torch,
  converted to a checkpoint; the numpy reference's logits for them on two images."""
  state = {k: v.astype(np.float16) for k, v in random_state_dict().items()}
  folder = tmp_path_factory.mktemp('converted')
  pth = str(folder / 'alexnet-random.pth')
  pth_files.write_pth(pth, state)
  prefix = tva.convert(pth_module.read_state_dict(pth), str(folder / 'imagenet') + '/')
  reader = tf.train.load_checkpoint(prefix)
  variables = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
               if name.startswith('alexnet_tv/')}
  images = np.random.default_rng(1).standard_normal((2, SIZE, SIZE, 3)).astype(np.float32)
  return Converted(state, images, reference_logits(state, images.transpose(0, 3, 1, 2)), prefix,
                   variables)


def net_logits(variables, images, conv1_same=False, monkeypatch=None):
  """alexnet_tv (as the factory builds it) with the given variables on NHWC images."""
  if conv1_same:
    original = slim.conv2d

    @slim.add_arg_scope
    def conv1_with_same_padding(*args, **kwargs):
      if kwargs.get('scope') == 'conv1':
        kwargs['padding'] = 'SAME'
        args = (args[0][:, 2:-2, 2:-2, :],) + args[1:]     # undo the explicit padding
      return original(*args, **kwargs)

    monkeypatch.setattr(alexnet_tv.slim, 'conv2d', conv1_with_same_padding)
  with tf.Graph().as_default():
    inputs = tf.compat.v1.placeholder(tf.float32, [None, SIZE, SIZE, 3])
    logits, _ = nets_factory.get_network_fn('alexnet_tv', 1000)(inputs)
    with tf.compat.v1.Session() as sess:
      for var in slim.get_model_variables():
        var.load(variables[var.op.name], sess)
      return sess.run(logits, {inputs: images})


def relative_difference(ours, theirs):
  difference, logit_range = tva.compare_logits(ours, theirs)
  return difference / logit_range


@pytest.mark.slow
def test_converted_checkpoint_computes_torchvision_s_function_and_controls_fail(converted,
                                                                                monkeypatch):
  state, images, reference = converted.state, converted.images, converted.reference
  ours = tva.checkpoint_logits(converted.prefix, images)
  assert relative_difference(ours, reference) < TOLERANCE

  # fc6's kernel taken as H,W,C-flattened: wrong numbers, and the comparison sees it.
  hwc = dict(converted.variables)
  hwc['alexnet_tv/fc6/weights'] = state['classifier.1.weight'].astype(np.float32).reshape(
      4096, 6, 6, 256).transpose(1, 2, 3, 0)
  assert relative_difference(net_logits(hwc, images), reference) > 100 * TOLERANCE

  # conv1 with SAME padding (the pad removed again): also caught.
  same = net_logits(converted.variables, images, conv1_same=True, monkeypatch=monkeypatch)
  assert relative_difference(same, reference) > 100 * TOLERANCE
  # ... and it is what a reference with TensorFlow's SAME padding (7 rows at 224: 3 above, 4
  # below) gives, so the patch did what it says.
  assert relative_difference(same, reference_logits(
      state, images.transpose(0, 3, 1, 2), conv1_padding=(3, 4, 3, 4))) < TOLERANCE


def test_reference_pools_like_torchvision_on_non_multiples():
  x = np.arange(2 * 7 * 7, dtype=np.float64).reshape(1, 2, 7, 7)
  pooled = adaptive_avg_pool(x)
  assert pooled.shape == (1, 2, 6, 6)
  np.testing.assert_allclose(pooled[0, 0, 0, 0], x[0, 0, 0:2, 0:2].mean())
  np.testing.assert_allclose(adaptive_avg_pool(x[:, :, :6, :6]), x[:, :, :6, :6])


# --- the converter's checks ---------------------------------------------------------------------

def zeros_state(**replace):
  """A state dict of zero-stride zeros with torchvision's shapes (cheap), keys replaced/removed
  (None) as given."""
  state = {key: np.broadcast_to(np.float32(0), shape)
           for key, shape in tva.expected_shapes().items()}
  for key, value in replace.items():
    key = key.replace('__', '.')
    if value is None:
      del state[key]
    else:
      state[key] = value
  return state


def test_a_resnet_state_dict_is_refused_naming_the_key():
  resnet = {'conv1.weight': np.zeros((64, 3, 7, 7), np.float32),
            'bn1.running_mean': np.zeros(64, np.float32),
            'fc.weight': np.zeros((1000, 512), np.float32)}
  with pytest.raises(UserError, match=r'key conv1\.weight \(shape \(64, 3, 7, 7\)\) is not in '
                     r'torchvision\'s AlexNet.*another architecture'):
    tva.to_variables(resnet)


def test_a_missing_key_is_refused_naming_it():
  with pytest.raises(UserError, match=r'has no features\.8\.bias .*shape \(256,\)'):
    tva.to_variables(zeros_state(features__8__bias=None))


def test_a_misshapen_key_is_refused_with_both_shapes():
  with pytest.raises(UserError, match=r'features\.8\.weight has shape \(384, 384, 3, 3\) where '
                     r'torchvision\'s AlexNet has \(256, 384, 3, 3\)'):
    tva.to_variables(zeros_state(features__8__weight=np.zeros((384, 384, 3, 3), np.float32)))


def test_an_fc8_of_another_class_count_is_named_as_such():
  with pytest.raises(UserError, match=r'classifier\.6\.weight .*fc8 for 5 classes'):
    tva.to_variables(zeros_state(classifier__6__weight=np.zeros((5, 4096), np.float32),
                                 classifier__6__bias=np.zeros(5, np.float32)))


def test_a_scalar_fc8_bias_is_refused_as_a_misshapen_key():
  with pytest.raises(UserError, match=r'classifier\.6\.bias has shape \(\) where .*\(1000,\) '
                     r'\(another architecture\)'):
    tva.to_variables(zeros_state(classifier__6__bias=np.zeros((), np.float32)))


def test_bfloat16_weights_convert_to_float32():
  ml_dtypes = pytest.importorskip('ml_dtypes')
  bias = np.arange(64).astype(ml_dtypes.bfloat16)
  variables = tva.to_variables(zeros_state(features__0__bias=bias))
  assert variables['alexnet_tv/conv1/biases'].dtype == np.float32
  assert variables['alexnet_tv/conv1/biases'].tolist() == list(range(64))


def test_an_empty_output_is_refused():
  with pytest.raises(UserError, match='--output is empty'):
    tva.checkpoint_prefix('')


def test_integer_weights_are_refused():
  with pytest.raises(UserError, match=r'features\.0\.bias holds int64'):
    tva.to_variables(zeros_state(features__0__bias=np.zeros(64, np.int64)))


def test_layouts_of_the_conversion(converted):
  state, variables = converted.state, converted.variables    # float16 .pth, float32 checkpoint
  assert sorted(variables) == sorted(v for layer in ('conv1', 'conv2', 'conv3', 'conv4', 'conv5',
                                                     'fc6', 'fc7', 'fc8')
                                     for v in ('alexnet_tv/%s/weights' % layer,
                                               'alexnet_tv/%s/biases' % layer))
  assert all(v.dtype == np.float32 for v in variables.values())
  w = state['features.0.weight']
  assert variables['alexnet_tv/conv1/weights'][4, 7, 2, 9] == w[9, 2, 4, 7]   # HWIO from OIHW
  w6 = state['classifier.1.weight']
  # fc6 input (h, w, c) is torch's flat index c * 36 + h * 6 + w.
  assert variables['alexnet_tv/fc6/weights'][1, 5, 200, 17] == w6[17, 200 * 36 + 1 * 6 + 5]
  assert variables['alexnet_tv/fc8/weights'][0, 0, 11, 3] == state['classifier.6.weight'][3, 11]
  np.testing.assert_array_equal(variables['alexnet_tv/fc7/biases'], state['classifier.4.bias'])


def test_data_parallel_keys_are_taken_without_their_module_prefix():
  state = tva.check_state_dict({'module.' + k: v for k, v in zeros_state().items()})
  assert list(state) == list(tva.expected_shapes())


# --- the net and the factories -----------------------------------------------------------------

def test_variables_are_torchvision_s_61100840_parameters_under_their_own_scope():
  with tf.Graph().as_default():
    nets_factory.get_network_fn('alexnet_tv', 1000)(tf.zeros([1, SIZE, SIZE, 3]))
    shapes = {v.op.name: v.shape.as_list() for v in slim.get_model_variables()}
  assert sum(int(np.prod(s)) for s in shapes.values()) == 61100840
  assert shapes['alexnet_tv/conv4/weights'] == [3, 3, 384, 256]
  assert shapes['alexnet_tv/fc6/weights'] == [6, 6, 256, 4096]


def test_features_score_maps_and_sizes():
  with tf.Graph().as_default():
    features, end_points = nets_factory.get_network_fn('alexnet_tv', 0)(
        tf.zeros([2, SIZE, SIZE, 3]), global_pool=True)
    assert features.shape.as_list() == [2, 4096]
    assert end_points[nets_factory.features_end_point('alexnet_tv')].shape.as_list() == [
        2, 1, 1, 4096]
    assert end_points['alexnet_tv/conv1'].shape.as_list() == [2, 55, 55, 64]
    assert end_points['alexnet_tv/pool5'].shape.as_list() == [2, 6, 6, 256]
    score_map, _ = nets_factory.get_network_fn('alexnet_tv', 5)(
        tf.zeros([1, 300, 400, 3]), spatial_squeeze=False, scope='big')
    assert score_map.shape.as_list() == [1, 3, 6, 5]
    assert nets_factory.score_map_size('alexnet_tv', 300, 400) == (3, 6)
    pooled, _ = nets_factory.get_network_fn('alexnet_tv', 5)(
        tf.zeros([1, 300, 400, 3]), global_pool=True, scope='pooled')
    assert pooled.shape.as_list() == [1, 5]
    with pytest.raises(ValueError, match='at least 223x223'):
      nets_factory.get_network_fn('alexnet_tv', 5)(tf.zeros([1, 222, 222, 3]), scope='small')
  assert nets_factory.min_image_size('alexnet_tv') == 223
  assert nets_factory.classify_sizes('alexnet_tv') == (223, 254)
  assert nets_factory.score_map_size('alexnet_tv', 254, 254) == (1, 1)
  assert nets_factory.score_map_size('alexnet_tv', 255, 255) == (2, 2)


def test_dropout_comes_before_fc6_and_fc7():
  with tf.Graph().as_default():
    nets_factory.get_network_fn('alexnet_tv', 5, is_training=True)(tf.zeros([1, SIZE, SIZE, 3]))
    graph = tf.compat.v1.get_default_graph()
    fc6_input = graph.get_tensor_by_name('alexnet_tv/fc6/Reshape:0').op.inputs[0]
    fc7_input = graph.get_tensor_by_name('alexnet_tv/fc7/Reshape:0').op.inputs[0]
  assert 'dropout6' in fc6_input.name and 'dropout7' in fc7_input.name


# --- against torchvision itself, when torch is installed (in a subprocess: torch must be imported
# before TensorFlow) -----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec('torch') is None
                    or importlib.util.find_spec('torchvision') is None,
                    reason='torch and torchvision are not installed')
def test_verify_against_torchvision(tmp_path):
  pth = str(tmp_path / 'alexnet.pth')
  pth_files.write_pth(pth, random_state_dict(seed=5))
  result = scripts.run_script('convert_torchvision_alexnet.py', '--pth=' + pth,
                              '--output=%s/' % (tmp_path / 'out'), '--verify')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Largest logit difference from torchvision' in result.stderr
  assert '--checkpoint_exclude_scopes=alexnet_tv/fc8' in result.stdout
  with open(tmp_path / 'out' / 'labels.txt', encoding='utf-8') as f:
    lines = f.read().splitlines()
  assert len(lines) == 1000 and lines[0] == '0:tench'


# --- the script, and fine-tuning from its checkpoint --------------------------------------------

def test_the_script_refuses_a_hostile_pickle_in_one_line(tmp_path):
  hostile = os.path.join(scripts.ROOT, 'tests', 'fixtures', 'pth', 'hostile.pth')
  result = scripts.run_script('convert_torchvision_alexnet.py', '--pth=' + hostile,
                              '--output=%s/' % (tmp_path / 'out'))
  scripts.assert_one_line_error(result, 'hostile.pth')
  assert not os.path.exists(tmp_path / 'out')


def sprite_tiles(eval_dir, count):
  """The centre pixel of each of the first `count` tiles of the projector's fc7 sprite."""
  sprite = np.asarray(Image.open(projector.embedding_files(eval_dir, 'fc7')['sprite']))
  columns = int(np.ceil(np.sqrt(count)))
  side = sprite.shape[1] // columns
  return [sprite[(i // columns) * side + side // 2, (i % columns) * side + side // 2]
          for i in range(count)]


@pytest.mark.slow
def test_fine_tunes_on_flowers_from_a_converted_checkpoint(converted, records_dataset, tmp_path,
                                                           caplog):
  prefix = converted.prefix
  assert os.path.basename(prefix) == 'alexnet_tv.ckpt'
  assert sorted(os.listdir(os.path.dirname(prefix))) == [
      'alexnet_tv.ckpt.data-00000-of-00001', 'alexnet_tv.ckpt.index']   # no leftovers
  assert int(tf.train.load_checkpoint(prefix).get_tensor('global_step')) == 0
  variables = converted.variables

  train_dir = tmp_path / 'run'
  caplog.set_level(logging.INFO)
  cfg = tf_helpers.tiny_train_config(
      records_dataset[0], train_dir, model_name='alexnet_tv', checkpoint_path=prefix,
      checkpoint_exclude_scopes=['alexnet_tv/fc8'],
      trainable_scopes=['alexnet_tv/fc6', 'alexnet_tv/fc7', 'alexnet_tv/fc8'],
      batch_size=2, max_number_of_steps=2, optimizer='sgd', learning_rate=0.001, num_readers=1,
      num_preprocessing_threads=1)
  assert trainer.train(cfg)[0] == 2
  assert 'restoring 14 variables' in caplog.text     # all but fc8's two
  trained = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(train_dir)))
  for layer in ('conv1', 'conv3', 'conv5'):          # restored and frozen: as converted
    name = 'alexnet_tv/%s/weights' % layer
    np.testing.assert_array_equal(trained.get_tensor(name), variables[name])
  fc7 = trained.get_tensor('alexnet_tv/fc7/weights')
  assert not np.array_equal(fc7, variables['alexnet_tv/fc7/weights'])      # trained ...
  np.testing.assert_allclose(fc7, variables['alexnet_tv/fc7/weights'], atol=0.01)  # ... from it
  assert trained.get_tensor('alexnet_tv/fc8/biases').shape == (5,)

  eval_dir = str(tmp_path / 'eval')
  [result] = evaluator.evaluate(eval_config.EvalConfig(
      dataset_dir=records_dataset[0], checkpoint_path=str(train_dir), eval_dir=eval_dir,
      model_name='alexnet_tv', batch_size=5, once=True, num_preprocessing_threads=1))
  assert result.embedding_written
  assert tf.train.load_checkpoint(tf.train.latest_checkpoint(eval_dir)).get_tensor(
      'fc7').shape == (10, 4096)
  # The sprite shows the photos' own colours: torchvision's normalisation was undone (taken as
  # [-1, 1] values, the red (200, 30, 60) would come out near (255, 0, 30)).
  for pixel in sprite_tiles(eval_dir, 10):
    distances = [np.abs(pixel.astype(int) - colour).max() for colour in CLASS_COLOURS]
    assert min(distances) < 30, pixel


def test_size_checks_of_training_and_evaluation_are_the_net_s(tmp_path):
  with pytest.raises(UserError, match='at least 223 .*alexnet_tv'):
    evaluator.validate(eval_config.EvalConfig(
        dataset_dir=str(tmp_path), checkpoint_path=str(tmp_path / 'run'),
        eval_dir=str(tmp_path / 'eval'), model_name='alexnet_tv', eval_image_size=200))
  evaluator.validate(eval_config.EvalConfig(    # 200 is fine for alexnet_v2 (at least 195)
      dataset_dir=str(tmp_path), checkpoint_path=str(tmp_path / 'run'),
      eval_dir=str(tmp_path / 'eval'), eval_image_size=200))
  too_large = tf_helpers.tiny_train_config(str(tmp_path), tmp_path / 'run',
                                           model_name='alexnet_tv', train_image_size=255)
  train_config.validate(too_large)  # (the sizes come with the nets: the trainer checks them)
  with pytest.raises(UserError, match='gives alexnet_tv a 2x2 map .* from 223 to 254'):
    trainer.check_image_size(too_large)
  fits = tf_helpers.tiny_train_config(str(tmp_path), tmp_path / 'run2',
                                      model_name='alexnet_tv', train_image_size=254)
  train_config.validate(fits)
  trainer.check_image_size(fits)
