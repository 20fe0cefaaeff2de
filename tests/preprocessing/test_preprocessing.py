"""Inception preprocessing and the preprocessing factory."""
import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from base import BadArgument
from preprocessing import inception_preprocessing as ip
from preprocessing import preprocessing_factory

HEIGHT, WIDTH = 32, 40


def random_image(height=61, width=83, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def run(fetches, times=1):
  """Runs `fetches` `times` times in one session of the default graph."""
  with tf.compat.v1.Session() as sess:
    return [sess.run(fetches) for _ in range(times)]


def jpeg_tensor(image, chroma_downsampling=True):
  return tf.io.encode_jpeg(tf.constant(image), quality=95,
                           chroma_downsampling=chroma_downsampling)


def png_bytes(image):
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, format='PNG')
  return buf.getvalue()


def train_output(seed, fast_mode=True, times=1):
  with tf.Graph().as_default():
    out = ip.preprocess_image(tf.constant(random_image()), HEIGHT, WIDTH, is_training=True,
                              fast_mode=fast_mode, seed=seed)
    return run(out, times)


def hue_of(image_in_unit_range):
  with tf.Graph().as_default():
    return run(tf.image.rgb_to_hsv(tf.constant(image_in_unit_range, tf.float32))[..., 0])[0]


# --- output shape, type and range ------------------------------------------------------------

@pytest.mark.parametrize('is_training', [True, False])
@pytest.mark.parametrize('dtype', ['uint8', 'float32'])
def test_output_is_float32_of_requested_shape_in_unit_range(is_training, dtype):
  image = random_image()
  if dtype == 'float32':
    image = image.astype(np.float32) / 255.
  with tf.Graph().as_default():
    out = ip.preprocess_image(tf.constant(image), HEIGHT, WIDTH, is_training=is_training,
                              seed=1)
    assert out.shape.as_list() == [HEIGHT, WIDTH, 3]
    assert out.dtype == tf.float32
    value = run(out)[0]
  assert value.shape == (HEIGHT, WIDTH, 3)
  assert value.min() >= -1.0 and value.max() <= 1.0


@pytest.mark.parametrize('fast_mode', [True, False])
def test_both_modes_give_training_output_in_unit_range(fast_mode):
  values = train_output(seed=3, fast_mode=fast_mode, times=8)
  assert all(v.shape == (HEIGHT, WIDTH, 3) for v in values)
  assert min(v.min() for v in values) >= -1.0 and max(v.max() for v in values) <= 1.0


def test_uint8_and_float_inputs_give_the_same_eval_output():
  image = random_image()
  with tf.Graph().as_default():
    from_uint8 = ip.preprocess_image(tf.constant(image), HEIGHT, WIDTH)
    from_float = ip.preprocess_image(tf.constant(image.astype(np.float32) / 255.), HEIGHT, WIDTH)
    a, b = run([from_uint8, from_float])[0]
  np.testing.assert_allclose(a, b, atol=1e-5)


def test_eval_keeps_the_central_crop():
  # Left and right sixteenths black, the centre white: the central 87.5% is all white.
  image = np.full((64, 96, 3), 255, np.uint8)
  image[:, :6] = 0
  image[:, -6:] = 0
  with tf.Graph().as_default():
    value = run(ip.preprocess_image(tf.constant(image), HEIGHT, WIDTH))[0]
  np.testing.assert_allclose(value, 1.0)


def test_central_crop_window_keeps_the_central_fraction():
  with tf.Graph().as_default():
    begin, size = run(ip.central_crop_window(tf.constant([64, 96, 3]), 0.875))[0]
  assert begin.tolist() == [4, 6, 0]
  assert size.tolist() == [56, 84, -1]


# --- randomness and seeds --------------------------------------------------------------------

def test_eval_output_is_deterministic():
  with tf.Graph().as_default():
    out = ip.preprocess_image(tf.constant(random_image()), HEIGHT, WIDTH, is_training=False)
    first, second = run(out, times=2)
  np.testing.assert_array_equal(first, second)


def test_training_output_is_reproducible_for_a_seed():
  first = train_output(seed=7, times=3)
  second = train_output(seed=7, times=3)
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a, b)


def test_graph_level_seed_alone_makes_training_reproducible():
  outputs = []
  for _ in range(2):
    with tf.Graph().as_default():
      tf.compat.v1.set_random_seed(4)
      out = ip.preprocess_image(tf.constant(random_image()), HEIGHT, WIDTH, is_training=True,
                                fast_mode=False)
      outputs.append(run(out, times=3))
  for a, b in zip(*outputs):
    np.testing.assert_array_equal(a, b)


def test_training_outputs_differ_between_seeds():
  assert not np.array_equal(train_output(seed=7)[0], train_output(seed=8)[0])


def test_training_output_varies_from_run_to_run():
  first, second = train_output(seed=7, times=2)
  assert not np.array_equal(first, second)


def test_fast_mode_keeps_the_hue():
  colour = np.array([0.5, 0.3, 0.2], np.float32)  # no channel clips under the distortions
  image = np.tile(colour, (48, 64, 1))
  with tf.Graph().as_default():
    out = ip.preprocess_image(tf.constant(image), HEIGHT, WIDTH, is_training=True,
                              fast_mode=True, seed=2)
    values = run(out, times=10)
  hues = [hue_of((v + 1.0) / 2.0) for v in values]
  expected = hue_of(colour)
  assert max(np.abs(h - expected).max() for h in hues) < 1e-3


@pytest.mark.parametrize('fast_mode', [True, False])
def test_colour_changes_are_new_on_every_run(fast_mode):
  # On a flat image only the colour changes show; each run (whichever ordering it picks) draws
  # new ones.
  image = np.tile(np.array([0.5, 0.3, 0.2], np.float32), (48, 64, 1))
  with tf.Graph().as_default():
    out = ip.preprocess_image(tf.constant(image), HEIGHT, WIDTH, is_training=True,
                              fast_mode=fast_mode, seed=2)
    values = run(out, times=8)
  assert len({tuple(v[0, 0].round(5)) for v in values}) == 8


def test_full_mode_shifts_the_hue():
  colour = np.array([0.5, 0.3, 0.2], np.float32)
  image = np.tile(colour, (48, 64, 1))
  with tf.Graph().as_default():
    out = ip.preprocess_image(tf.constant(image), HEIGHT, WIDTH, is_training=True,
                              fast_mode=False, seed=2)
    values = run(out, times=10)
  hues = [hue_of((v + 1.0) / 2.0) for v in values]
  assert max(np.abs(h - hue_of(colour)).max() for h in hues) > 0.02


def test_colour_distortion_rejects_an_unknown_ordering():
  with tf.Graph().as_default():
    image = tf.zeros([4, 4, 3])
    with pytest.raises(ValueError, match='color_ordering'):
      ip.adjust_color(image, ip.sample_color_params(True), color_ordering=2, fast_mode=True)
    ip.adjust_color(image, ip.sample_color_params(False), color_ordering=3, fast_mode=False)


def test_sampled_crops_respect_area_and_aspect_ranges():
  height, width = 200, 300
  with tf.Graph().as_default():
    begin, size, _ = ip.sample_crop_window(tf.constant([height, width, 3]), seed=5)
    windows = run([begin, size], times=100)
  for b, s in windows:
    h, w = s[0], s[1]
    assert 0 <= b[0] and b[0] + h <= height and 0 <= b[1] and b[1] + w <= width
    if (h, w) == (height, width):
      continue  # the fallback after 100 failed attempts
    assert 0.05 - 0.01 <= h * w / (height * width) <= 1.0
    assert 0.75 - 0.02 <= w / h <= 1.33 + 0.02
  assert len({tuple(b) + tuple(s) for b, s in windows}) > 50


def crop_areas(**settings):
  """The area shares of 100 windows sample_crop_window draws with `settings`."""
  height, width = 200, 300
  with tf.Graph().as_default():
    _, size, _ = ip.sample_crop_window(tf.constant([height, width, 3]), seed=5, **settings)
    return [s[0] * s[1] / (height * width) for s in run(size, times=100)]


def test_a_smallest_crop_area_keeps_every_crop_at_least_that_large():
  assert min(crop_areas()) < 0.3  # Inception's crops go down to a tenth of the photo
  areas = crop_areas(**ip.crop_area_settings(0.6))
  assert min(areas) >= 0.6 - 0.01 and max(areas) > 0.8
  assert ip.crop_area_settings(None) == {}
  for bad in (0.0, -0.1, 1.5):
    with pytest.raises(BadArgument, match='min_crop_area must be in'):
      ip.crop_area_settings(bad)


@pytest.mark.parametrize('decode_and_crop', [False, True])
def test_training_crops_of_the_whole_photo_keep_both_of_its_halves(decode_and_crop):
  """A photo black on the left, white on the right: crops of all of it show both halves at the
  output's edges (flipped or not); Inception's own (down to a tenth) often show one only."""
  image = np.zeros((120, 160, 3), np.uint8)
  image[:, 80:] = 255

  def edge_contrasts(min_crop_area):
    with tf.Graph().as_default():
      out = ip.preprocess_jpeg(jpeg_tensor(image, False), HEIGHT, WIDTH, is_training=True,
                               decode_and_crop=decode_and_crop, seed=3,
                               min_crop_area=min_crop_area)
      return [abs(o[:, :3].mean() - o[:, -3:].mean()) for o in run(out, times=20)]

  assert min(edge_contrasts(1.0)) > 1.0  # of the range [-1, 1]
  assert min(edge_contrasts(None)) < 0.5


# --- decode-and-crop -------------------------------------------------------------------------

def crop_both_ways(encoded, window):
  """(decode_window, decode-then-slice) of `window` = (y, x, h, w) of encoded bytes."""
  y, x, h, w = window
  begin, size = tf.constant([y, x, 0]), tf.constant([h, w, -1])
  return run([ip.decode_window(encoded, begin, size),
              tf.slice(ip.decode_whole(encoded), begin, size)])[0]


WINDOWS = [(0, 0, 61, 83), (5, 7, 40, 50), (13, 17, 33, 61), (4, 16, 28, 16), (1, 1, 60, 82)]


@pytest.mark.parametrize('window', WINDOWS)
def test_decode_window_equals_decode_then_crop_without_chroma_subsampling(window):
  with tf.Graph().as_default():
    cropped, reference = crop_both_ways(jpeg_tensor(random_image(), False), window)
  assert cropped.shape == (window[2], window[3], 3)
  np.testing.assert_array_equal(cropped, reference)


@pytest.mark.parametrize('window', WINDOWS)
def test_decode_window_differs_at_most_on_edge_columns_with_chroma_subsampling(window):
  with tf.Graph().as_default():
    cropped, reference = crop_both_ways(jpeg_tensor(random_image(), True), window)
  assert cropped.shape == reference.shape
  np.testing.assert_array_equal(cropped[:, 1:-1], reference[:, 1:-1])


@pytest.mark.parametrize('is_training', [True, False])
@pytest.mark.parametrize('fast_mode', [True, False])
def test_decode_and_crop_gives_the_same_output_as_decode_then_crop(is_training, fast_mode):
  outputs = []
  for decode_and_crop in (False, True):
    with tf.Graph().as_default():
      out = ip.preprocess_jpeg(jpeg_tensor(random_image(), False), HEIGHT, WIDTH,
                               is_training=is_training, fast_mode=fast_mode,
                               decode_and_crop=decode_and_crop, seed=11)
      assert out.shape.as_list() == [HEIGHT, WIDTH, 3]
      outputs.append(run(out, times=3))
  for a, b in zip(*outputs):
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_preprocess_jpeg_equals_preprocess_image_of_the_decoded_photo():
  image = random_image()
  with tf.Graph().as_default():
    encoded = jpeg_tensor(image)
    from_bytes = ip.preprocess_jpeg(encoded, HEIGHT, WIDTH)
    from_pixels = ip.preprocess_image(tf.io.decode_jpeg(encoded, channels=3), HEIGHT, WIDTH)
    a, b = run([from_bytes, from_pixels])[0]
  np.testing.assert_array_equal(a, b)


def test_full_image_keeps_the_whole_photo_and_its_aspect():
  with tf.Graph().as_default():  # 61 x 83: the shorter side becomes 32, the longer 83 * 32 / 61
    value = run(ip.preprocess_full_image(jpeg_tensor(random_image()), 32))[0]
  assert value.shape == (32, 44, 3) and value.dtype == np.float32
  assert -1.0 <= value.min() and value.max() <= 1.0


@pytest.mark.parametrize('is_training', [True, False])
def test_decode_and_crop_reads_png_too(is_training):
  with tf.Graph().as_default():
    out = ip.preprocess_jpeg(tf.constant(png_bytes(random_image())), HEIGHT, WIDTH,
                             is_training=is_training, decode_and_crop=True, seed=1)
    value = run(out)[0]
  assert value.shape == (HEIGHT, WIDTH, 3)


def test_preprocess_jpeg_decodes_grayscale_jpeg_to_three_channels():
  gray = random_image()[..., :1]
  with tf.Graph().as_default():
    encoded = tf.io.encode_jpeg(tf.constant(gray))
    out = ip.preprocess_jpeg(encoded, HEIGHT, WIDTH, is_training=True, decode_and_crop=True)
    value = run(out)[0]
  assert value.shape == (HEIGHT, WIDTH, 3)


# --- summaries -------------------------------------------------------------------------------

def image_summary_tags():
  summary = tf.compat.v1.Summary()
  summary.ParseFromString(run(tf.compat.v1.summary.merge_all())[0])
  assert all(v.image.height > 0 for v in summary.value)
  return sorted(v.tag for v in summary.value)


TRAIN_SUMMARIES = ['distort_image/cropped_resized_image/image',
                   'distort_image/final_distorted_image/image',
                   'distort_image/image_with_distorted_bounding_box/image']


@pytest.mark.parametrize('decode_and_crop', [False, True])
def test_training_adds_image_summaries_when_asked(decode_and_crop):
  with tf.Graph().as_default():
    ip.preprocess_jpeg(jpeg_tensor(random_image()), HEIGHT, WIDTH, is_training=True,
                       decode_and_crop=decode_and_crop, add_image_summaries=True)
    assert image_summary_tags() == TRAIN_SUMMARIES


def test_eval_adds_an_image_summary_when_asked():
  with tf.Graph().as_default():
    ip.preprocess_image(tf.constant(random_image()), HEIGHT, WIDTH, add_image_summaries=True)
    assert image_summary_tags() == ['eval_image/central_crop_image/image']


@pytest.mark.parametrize('is_training', [True, False])
def test_no_summaries_by_default(is_training):
  with tf.Graph().as_default():
    ip.preprocess_image(tf.constant(random_image()), HEIGHT, WIDTH, is_training=is_training)
    assert tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.SUMMARIES) == []


# --- argument checks -------------------------------------------------------------------------

def test_accepts_an_image_of_unknown_shape():
  with tf.Graph().as_default():
    image = tf.compat.v1.placeholder(tf.uint8, None)
    out = ip.preprocess_image(image, HEIGHT, WIDTH, is_training=True)
    with tf.compat.v1.Session() as sess:
      value = sess.run(out, {image: random_image()})
  assert value.shape == (HEIGHT, WIDTH, 3)


def test_rejects_an_image_without_three_channels():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=r'\[height, width, 3\]'):
      ip.preprocess_image(tf.zeros([8, 8, 1], tf.uint8), HEIGHT, WIDTH)


@pytest.mark.parametrize('size', [(0, 32), (32, -1), (32.0, 32)])
def test_rejects_an_output_size_that_is_not_a_positive_int(size):
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='positive int'):
      ip.preprocess_image(tf.zeros([8, 8, 3], tf.uint8), *size)


# --- factory ---------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['alexnet_v2', 'alexnet_v2_bn', 'inception'])
def test_factory_maps_names_to_inception_preprocessing(name):
  image = random_image()
  with tf.Graph().as_default():
    fn = preprocessing_factory.get_jpeg_preprocessing(name, is_training=False)
    encoded = jpeg_tensor(image)
    a, b = run([fn(encoded, HEIGHT, WIDTH),
                ip.preprocess_for_eval(tf.io.decode_jpeg(encoded, channels=3), HEIGHT, WIDTH)])[0]
  np.testing.assert_array_equal(a, b)


def test_factory_training_function_distorts():
  with tf.Graph().as_default():
    fn = preprocessing_factory.get_jpeg_preprocessing('alexnet_v2', is_training=True)
    first, second = run(fn(jpeg_tensor(random_image()), HEIGHT, WIDTH, seed=3), times=2)
  assert not np.array_equal(first, second)


def test_jpeg_factory_preprocesses_encoded_bytes():
  with tf.Graph().as_default():
    fn = preprocessing_factory.get_jpeg_preprocessing('alexnet_v2', is_training=True)
    out = fn(jpeg_tensor(random_image()), HEIGHT, WIDTH, decode_and_crop=True, seed=1)
    value = run(out)[0]
  assert value.shape == (HEIGHT, WIDTH, 3)


def test_factory_rejects_an_unknown_name_listing_known_ones():
  with pytest.raises(ValueError, match='vgg_16.*alexnet_v2, alexnet_v2_bn, inception'):
    preprocessing_factory.get_jpeg_preprocessing('vgg_16')
