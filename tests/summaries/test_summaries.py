"""pictures.charts, pictures.prediction_card and pictures.photo_grids (pure numpy/Pillow
pictures) and summaries.image_summaries (graph wrappers)."""
import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pictures import charts
from pictures import photo_grids
from pictures import prediction_card
from summaries import image_summaries

FIVE = ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']
TEN = ['class_%d' % i for i in range(10)]
THOUSAND = ['class_%d' % i for i in range(1000)]


def net_view(size=224, seed=0):
  """A float image in [-1, 1] like the net sees."""
  return np.random.default_rng(seed).uniform(-1, 1, (size, size, 3)).astype(np.float32)


def is_green(pixel):
  r, g, b = (int(v) for v in pixel)
  return g > 150 and g > r + 60 and g > b + 40


def is_red(pixel):
  r, g, b = (int(v) for v in pixel)
  return r > 150 and r > g + 60 and r > b + 60


# --- to_uint8 -----------------------------------------------------------------------------------

def test_to_uint8_maps_minus_one_zero_one_to_0_128_255_and_clips():
  out = charts.to_uint8(np.array([-1.0, 0.0, 1.0, -3.0, 2.0]))
  assert out.dtype == np.uint8
  assert out.tolist() == [0, 128, 255, 0, 255]


# --- prediction_image ---------------------------------------------------------------------------

@pytest.mark.parametrize('names, rows', [(FIVE, 5), (TEN, 6), (THOUSAND, 6)])
def test_prediction_image_has_documented_size(names, rows):
  probabilities = np.full(len(names), 1.0 / len(names))
  picture = prediction_card.prediction_image(net_view(), 1, probabilities, names)
  assert picture.dtype == np.uint8
  assert picture.shape == prediction_card.prediction_image_size(len(names)) + (3,)
  assert picture.shape == (268 + 16 * rows, 224, 3)


def test_prediction_image_right_prediction_has_green_border():
  picture = prediction_card.prediction_image(net_view(), 2, [0.1, 0.1, 0.6, 0.1, 0.1], FIVE)
  assert is_green(picture[0, 0]) and is_green(picture[-1, -1])


def test_prediction_image_wrong_prediction_has_red_border():
  picture = prediction_card.prediction_image(net_view(), 0, [0.1, 0.1, 0.6, 0.1, 0.1], FIVE)
  assert is_red(picture[0, 0]) and is_red(picture[-1, -1])


def test_prediction_image_shows_the_photo_at_the_top():
  photo = np.zeros((224, 224, 3), np.float32)  # mid grey once undone
  picture = prediction_card.prediction_image(photo, 0, [1.0, 0, 0, 0, 0], FIVE)
  assert np.all(picture[50:150, 50:150] == 128)


def test_prediction_image_resizes_other_photo_sizes():
  picture = prediction_card.prediction_image(net_view(100), 0, [1.0, 0, 0, 0, 0], FIVE, size=224)
  assert picture.shape == prediction_card.prediction_image_size(5) + (3,)


def peaked(num_classes, top):
  """Probabilities with the classes in `top` most probable, in that order."""
  probabilities = np.full(num_classes, 1e-4)
  probabilities[list(top)] = np.linspace(0.5, 0.1, len(top))
  return probabilities / probabilities.sum()


def renamed(names, class_id):
  return names[:class_id] + ['something else'] + names[class_id + 1:]


def test_prediction_image_of_many_classes_draws_the_five_most_probable_and_the_true_one():
  probabilities = peaked(1000, [10, 11, 12, 13, 14])

  def draw(true_label, names=THOUSAND):
    return prediction_card.prediction_image(net_view(), true_label, probabilities, names)
  # True class among the five: a class outside them is not drawn, one of them is.
  assert np.array_equal(draw(12), draw(12, renamed(THOUSAND, 500)))
  assert not np.array_equal(draw(12), draw(12, renamed(THOUSAND, 14)))
  # True class outside them: it gets its own row.
  assert not np.array_equal(draw(500), draw(500, renamed(THOUSAND, 500)))
  assert np.array_equal(draw(500), draw(500, renamed(THOUSAND, 501)))


def test_prediction_image_rows_beyond_five_classes():
  probabilities = peaked(1000, [40, 3, 999, 7, 0])
  assert prediction_card._bar_rows(probabilities, 999) == (
      [(40, ''), (3, ''), (999, ''), (7, ''), (0, '')], '995 other classes: 6.2%')
  rows, rest = prediction_card._bar_rows(probabilities, 1)  # the most probable of the rest
  assert rows[5:] == [(1, '#6 ')] and rest == ''
  assert prediction_card._bar_rows(peaked(5, [4, 3]), 2) == ([(c, '') for c in range(5)], '')


def test_the_prediction_summary_of_a_thousand_classes_has_its_static_size():
  with tf.Graph().as_default():
    batch = tf.constant(net_view()[None])
    logits = tf.constant(np.log(peaked(1000, [5, 6]))[None], tf.float32)
    op = image_summaries.prediction_summary(batch, tf.constant([999]), logits, THOUSAND)
    with tf.compat.v1.Session() as sess:
      pictures = decoded_images(sess.run(op))
  height, width = prediction_card.prediction_image_size(1000)
  assert (height, width) == (364, 224)
  assert pictures['predictions/first_of_batch/image'].size == (width, height)


# --- feature maps -------------------------------------------------------------------------------

def test_feature_map_grid_normalizes_each_channel_to_its_own_range():
  ramp = np.linspace(0, 1, 30 * 30).reshape(30, 30)
  activations = np.stack([ramp, 1000 * ramp + 50], axis=2)
  grid = charts.feature_map_grid(activations, pad=1)
  table = charts.colormap_table('viridis')
  tile0, tile1 = grid[1:31, 1:31], grid[1:31, 32:62]
  for tile in (tile0, tile1):
    assert np.array_equal(tile[0, 0], table[0]) and np.array_equal(tile[-1, -1], table[255])
  assert np.array_equal(tile0, tile1)


def test_feature_map_grid_constant_channel_is_lowest_colour_without_nan():
  activations = np.full((30, 30, 2), 7.0)
  activations[0, 0, 1] = np.nan
  grid = charts.feature_map_grid(activations)
  assert grid.dtype == np.uint8
  assert np.all(grid[1:31, 1:31] == charts.colormap_table('viridis')[0])


def test_feature_map_grid_enlarges_small_maps_to_24_pixel_tiles():
  grid = charts.feature_map_grid(np.random.default_rng(0).normal(size=(12, 12, 256)))
  # 256 tiles: 16 x 16 of 24 px (12 * 2) plus 1 px padding.
  assert grid.shape == (16 * 25 + 1, 16 * 25 + 1, 3)
  assert grid.shape[:2] == charts.feature_map_grid_size(12, 12, 256)


def test_feature_map_grid_max_channels_limits_the_tiles():
  grid = charts.feature_map_grid(np.ones((54, 54, 64)), max_channels=10)
  # 10 tiles: 4 columns, 3 rows of 54 px.
  assert grid.shape == (3 * 55 + 1, 4 * 55 + 1, 3)
  assert grid.shape[:2] == charts.feature_map_grid_size(54, 54, 64, max_channels=10)


def test_filter_grid_stretches_each_filter_to_full_range():
  rng = np.random.default_rng(0)
  weights = rng.normal(size=(11, 11, 3, 2))
  weights[..., 0] *= 1e-4
  weights[..., 1] *= 10
  grid = charts.filter_grid(weights, pad=1, scale=4)
  assert grid.shape == (1 * 45 + 1, 2 * 45 + 1, 3)
  assert grid.shape[:2] == charts.filter_grid_size(11, 11, 2)
  for tile in (grid[1:45, 1:45], grid[1:45, 46:90]):
    assert tile.min() == 0 and tile.max() == 255


def test_filter_grid_constant_filter_is_mid_grey():
  grid = charts.filter_grid(np.zeros((3, 3, 3, 1)), scale=1)
  assert np.all(grid[1:4, 1:4] == 128)


# --- grids of photos ----------------------------------------------------------------------------

def test_image_grid_has_documented_size_and_caption_colour_frames():
  photos = [np.full((40, 60, 3), 90, np.uint8)] * 5
  grid = photo_grids.image_grid(photos, ['one\ntwo'] * 5, [charts.RED] * 5, columns=3,
                                thumb_size=50, pad=4)
  assert grid.shape == photo_grids.image_grid_size(5, 50, 3, caption_lines=2, pad=4) + (3,)
  assert tuple(grid[4, 4]) == charts.RED  # the first thumbnail's frame


def test_prediction_grid_puts_mistakes_first():
  photos = [np.full((30, 30, 3), 100, np.uint8)] * 4
  grid = photo_grids.prediction_grid(photos, [0, 1, 2, 3], [0, 1, 4, 3], FIVE, columns=4,
                                     thumb_size=40)
  first, last = grid[4, 4], grid[4, 4 + 3 * 44]
  assert is_red(first) and is_green(last)


# --- sprite -------------------------------------------------------------------------------------

def test_sprite_of_3670_images_stays_within_tensorboard_limit():
  thumbnails = np.zeros((3670, 8, 8, 3), np.uint8)
  sprite, thumb = photo_grids.sprite_image(thumbnails, 64)
  assert thumb == 64
  assert sprite.shape == (61 * 64, 61 * 64, 3)
  assert max(sprite.shape) <= photo_grids.MAX_SPRITE_SIZE


def test_sprite_thumb_shrinks_when_the_requested_size_would_not_fit():
  assert photo_grids.sprite_thumb_size(3670, 200) == 8192 // 61
  assert 61 * photo_grids.sprite_thumb_size(3670, 200) <= photo_grids.MAX_SPRITE_SIZE


def test_sprite_centre_crops_and_lays_out_row_major():
  wide = np.zeros((20, 40, 3), np.uint8)
  wide[:, 10:30] = (0, 0, 255)  # the square centre is blue, the sides black
  red = np.zeros((16, 16, 3), np.uint8)
  red[:] = (255, 0, 0)
  sprite, thumb = photo_grids.sprite_image([wide, red, red], thumb_size=10)
  assert sprite.shape == (20, 20, 3)  # 2 columns, 2 rows
  assert np.all(sprite[:10, :10] == (0, 0, 255))
  assert np.all(sprite[:10, 10:] == (255, 0, 0)) and np.all(sprite[10:, :10] == (255, 0, 0))
  assert np.all(sprite[10:, 10:] == 0)


# --- graph-mode summaries -----------------------------------------------------------------------

def decoded_images(serialized):
  """{tag: PIL image} of a serialized Summary."""
  summary = tf.compat.v1.Summary.FromString(serialized)
  return {v.tag: Image.open(io.BytesIO(v.image.encoded_image_string)) for v in summary.value}


def test_prediction_summary_writes_the_drawn_first_image():
  with tf.Graph().as_default():
    batch = tf.constant(np.stack([net_view(seed=1), net_view(seed=2)]))
    logits = tf.constant([[0.0, 0, 5, 0, 0], [5.0, 0, 0, 0, 0]])
    op = image_summaries.prediction_summary(batch, tf.constant([2, 3]), logits, FIVE)
    merged = tf.compat.v1.summary.merge_all()
    assert merged is not None
    with tf.compat.v1.Session() as sess:
      pictures = decoded_images(sess.run(merged))
      assert sess.run(op)
  picture = pictures['predictions/first_of_batch/image']
  height, width = prediction_card.prediction_image_size(5)
  assert picture.size == (width, height)
  assert is_green(np.asarray(picture.convert('RGB'))[0, 0])


def test_prediction_summary_accepts_one_hot_labels():
  with tf.Graph().as_default():
    batch = tf.constant(net_view()[None])
    logits = tf.constant([[0.0, 0, 5, 0, 0]])
    op = image_summaries.prediction_summary(batch, tf.one_hot([0], 5), logits, FIVE)
    with tf.compat.v1.Session() as sess:
      pictures = decoded_images(sess.run(op))
  picture = np.asarray(pictures['predictions/first_of_batch/image'].convert('RGB'))
  assert is_red(picture[0, 0])


def test_feature_map_summaries_write_activation_and_filter_grids():
  rng = np.random.default_rng(0)
  with tf.Graph().as_default():
    end_points = {
        'alexnet_v2/conv1': tf.constant(rng.normal(size=(2, 54, 54, 64)), tf.float32),
        'alexnet_v2/conv5': tf.constant(rng.normal(size=(2, 12, 12, 256)), tf.float32),
        'alexnet_v2/fc8': tf.zeros([2, 5]),
    }
    weights = tf.compat.v1.get_variable('conv1_weights', [11, 11, 3, 64])
    ops = image_summaries.feature_map_summaries(end_points, weights)
    assert len(ops) == 3
    merged = tf.compat.v1.summary.merge_all()
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      pictures = decoded_images(sess.run(merged))
  sizes = {tag: (p.size[1], p.size[0]) for tag, p in pictures.items()}
  assert sizes == {
      'feature_maps/conv1/image': charts.feature_map_grid_size(54, 54, 64),
      'feature_maps/conv5/image': charts.feature_map_grid_size(12, 12, 256),
      'filters/conv1/image': charts.filter_grid_size(11, 11, 64),
  }


def test_feature_map_summaries_take_a_plain_dict_of_named_tensors():
  with tf.Graph().as_default():
    ops = image_summaries.feature_map_summaries({'pool5': tf.ones([1, 5, 5, 8])}, names=None)
    with tf.compat.v1.Session() as sess:
      pictures = decoded_images(sess.run(ops[0]))
  assert list(pictures) == ['feature_maps/pool5/image']
  assert pictures['feature_maps/pool5/image'].size[::-1] == charts.feature_map_grid_size(5, 5, 8)


def test_feature_map_summaries_unknown_end_point_names_the_available_ones():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='alexnet_v2/conv1'):
      image_summaries.feature_map_summaries({'alexnet_v2/conv1': tf.ones([1, 4, 4, 2])},
                                            names=('conv9',))


@pytest.mark.slow
def test_tensorboard_shows_the_summary_images_at_their_size(tmp_path):
  from support import tb_server
  run_dir = str(tmp_path / 'logs' / 'train')
  with tf.Graph().as_default():
    batch = tf.constant(net_view()[None])
    image_summaries.prediction_summary(batch, tf.constant([1]), tf.constant([[0.0, 4, 0, 0, 0]]),
                                       FIVE)
    image_summaries.feature_map_summaries({'alexnet_v2/conv5': tf.ones([1, 12, 12, 16])},
                                          names=('conv5',))
    with tf.compat.v1.Session() as sess:
      serialized = sess.run(tf.compat.v1.summary.merge_all())
    writer = tf.compat.v1.summary.FileWriter(run_dir)
    writer.add_summary(serialized, global_step=3)
    writer.close()

  tag = 'predictions/first_of_batch/image'
  with tb_server.tensorboard(str(tmp_path / 'logs')) as tb:
    tags = tb.wait_for(lambda: tb.tags('images').get('train'))
    assert tags == ['feature_maps/conv5/image', tag]
    (entry,) = tb.get_json('/data/plugin/images/images', run='train', tag=tag)
    assert entry['step'] == 3
    png = tb.get_bytes('/data/plugin/images/individualImage?' + entry['query'])
  height, width = prediction_card.prediction_image_size(5)
  assert Image.open(io.BytesIO(png)).size == (width, height)


def test_the_prediction_grid_fits_a_tensorboard_card_with_readable_captions():
  # TensorBoard scales a picture wider than its card down; the captions would shrink with it.
  images = np.zeros((24, 96, 96, 3), np.uint8)
  labels = np.arange(24) % 5
  grid = photo_grids.prediction_grid(images, labels, (labels + 1) % 5, list('abcde'),
                                     probabilities=np.full((24, 5), 0.2))
  assert grid.shape[1] <= photo_grids.CARD_WIDTH
  assert photo_grids.GRID_FONT_SIZE >= 14
