"""Inception-style image preprocessing: random crops and colour distortion for training, a
central crop for evaluation. Outputs float32 [height, width, 3] in [-1, 1].

Training: sample a box (tf.image.sample_distorted_bounding_box: at least 10% of the object box
covered, aspect ratio 0.75-1.33, 5-100% of the area, 100 attempts, the whole image when no box
fits; min_crop_area=m: m-100% of the area, at least m of the object box), resize it to
height x width (bilinear in fast mode, else one of bilinear, nearest, bicubic, area at random),
random left-right flip, random colour distortion (fast mode: brightness and saturation in one of
2 orders; full mode: brightness, saturation, hue and contrast in one of 4 orders), clip to
[0, 1], scale to [-1, 1].
Evaluation: the central 87.5% of the image, bilinear resize, scale to [-1, 1]. No randomness.
Whole-photo evaluation (preprocess_full_image): the whole photo, its shorter side resized to a
given size, aspect kept, for a fully convolutional net that slides over all of it.

Entry points: preprocess_jpeg() for the encoded bytes of a record (image/encoded) and
preprocess_image() for an already decoded image. With decode_and_crop=True, preprocess_jpeg
reads the image size from the JPEG header, samples the window from that size (the same
distribution of crops as from the decoded image) and decodes only that window with
tf.io.decode_and_crop_jpeg, for training and for the evaluation's central window alike.

Seeds: with seed=None the random ops follow the graph-level seed (random by default;
reproducible after tf.compat.v1.set_random_seed). With an integer seed every random op gets its
own op-level seed derived from it, so a graph built with the same seed produces the same
sequence of outputs and different seeds differ. Two calls with the same seed in one graph (e.g.
one per reader thread) draw the same numbers: give each its own seed.

Summaries (add_image_summaries=True) are tf.compat.v1.summary.image ops, for graph-mode
pipelines: the whole photo with the sampled box drawn, the crop after resizing and the final
distorted image (training), the central crop (evaluation).
"""
import functools

import tensorflow as tf

from base import BadArgument

RESIZE_METHODS = (
    tf.image.ResizeMethod.BILINEAR,
    tf.image.ResizeMethod.NEAREST_NEIGHBOR,
    tf.image.ResizeMethod.BICUBIC,
    tf.image.ResizeMethod.AREA,
)
BOX_COLOR = [[1.0, 0.0, 0.0, 1.0]]

# Offsets that give each random op its own op-level seed derived from the caller's seed; the
# colour changes derive theirs from the _SEED_COLOR one.
_SEED_CROP = 1
_SEED_RESIZE = 2
_SEED_FLIP = 3
_SEED_COLOR_ORDER = 4
_SEED_COLOR = 5
_SEED_BRIGHTNESS = 1
_SEED_SATURATION = 2
_SEED_HUE = 3
_SEED_CONTRAST = 4


def op_seed(seed, offset):
  """A positive op-level seed derived from `seed` and `offset`, or None when seed is None."""
  if seed is None:
    return None
  return 1 + (int(seed) * 1000003 + offset) % (2**31 - 2)


def _check_size(height, width):
  for name, value in (('height', height), ('width', width)):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
      raise BadArgument('%s must be a positive int, got %r' % (name, value))


def _check_image(image):
  """`image` as [h, w, 3] (checked when run if not known now); ValueError for another shape."""
  shape = image.shape
  if shape.rank is not None and (shape.rank != 3 or shape[-1] not in (None, 3)):
    raise ValueError('expected an image [height, width, 3], got shape %s' % shape)
  return tf.ensure_shape(image, [None, None, 3])


def to_float(image):
  """uint8 [0, 255] (or any integer type) -> float32 [0, 1]; floats are taken as [0, 1]."""
  return tf.image.convert_image_dtype(image, dtype=tf.float32)


def scale_to_unit_range(image):
  """[0, 1] -> [-1, 1]."""
  return tf.multiply(tf.subtract(image, 0.5), 2.0)


def _summary_image(name, image):
  """An image summary of one float [0, 1] image, shown as it is (no rescaling)."""
  image = tf.image.convert_image_dtype(tf.clip_by_value(image, 0.0, 1.0), tf.uint8,
                                       saturate=True)
  tf.compat.v1.summary.image(name, tf.expand_dims(image, 0), max_outputs=1)


def _summary_image_with_box(name, image, box):
  """An image summary of the whole float [0, 1] image with `box` [1, n, 4] drawn on it."""
  image_with_box = tf.image.draw_bounding_boxes(tf.expand_dims(image, 0), box, BOX_COLOR)
  _summary_image(name, tf.squeeze(image_with_box, [0]))


def random_selector(num_cases, seed=None):
  """A scalar int32 drawn uniformly from [0, num_cases)."""
  return tf.random.uniform([], maxval=num_cases, dtype=tf.int32, seed=seed)


def apply_with_random_selector(x, func, num_cases, seed=None):
  """func(x, case) with case drawn uniformly from [0, num_cases); only that branch runs.

  Keep random ops out of `func`: the branches are separate function graphs, and random ops with
  the same seeds in two branches would draw the same numbers.
  """
  if num_cases == 1:
    return func(x, 0)
  branches = [functools.partial(func, x, c) for c in range(num_cases)]
  return tf.switch_case(random_selector(num_cases, seed), branches)


def _color_orderings(fast_mode):
  if fast_mode:
    return (('brightness', 'saturation'),
            ('saturation', 'brightness'))
  return (('brightness', 'saturation', 'hue', 'contrast'),
          ('saturation', 'brightness', 'contrast', 'hue'),
          ('contrast', 'hue', 'brightness', 'saturation'),
          ('hue', 'saturation', 'contrast', 'brightness'))


def sample_color_params(fast_mode=True, seed=None):
  """Random colour changes as scalar tensors: brightness delta in [-32/255, 32/255),
  saturation factor in [0.5, 1.5), and unless fast_mode hue delta in [-0.2, 0.2) and contrast
  factor in [0.5, 1.5) (the ranges of research/slim's tf.image.random_* calls)."""
  def uniform(low, high, offset):
    return tf.random.uniform([], low, high, seed=op_seed(seed, offset))

  params = {'brightness': uniform(-32. / 255., 32. / 255., _SEED_BRIGHTNESS),
            'saturation': uniform(0.5, 1.5, _SEED_SATURATION)}
  if not fast_mode:
    params['hue'] = uniform(-0.2, 0.2, _SEED_HUE)
    params['contrast'] = uniform(0.5, 1.5, _SEED_CONTRAST)
  return params


def adjust_color(image, params, color_ordering=0, fast_mode=True):
  """Applies the colour changes `params` (see sample_color_params) in the order
  `color_ordering` (0-1 in fast mode, 0-3 otherwise), then clips to [0, 1]. Deterministic."""
  orderings = _color_orderings(fast_mode)
  if color_ordering not in range(len(orderings)):
    raise ValueError('color_ordering must be in [0, %d] with fast_mode=%s, got %r'
                     % (len(orderings) - 1, fast_mode, color_ordering))
  adjust = {
      'brightness': tf.image.adjust_brightness,
      'saturation': tf.image.adjust_saturation,
      'hue': tf.image.adjust_hue,
      'contrast': tf.image.adjust_contrast,
  }
  for name in orderings[color_ordering]:
    image = adjust[name](image, params[name])
  # The adjust_* ops do not clip.
  return tf.clip_by_value(image, 0.0, 1.0)


def sample_crop_window(image_shape, bbox=None, min_object_covered=0.1,
                       aspect_ratio_range=(0.75, 1.33), area_range=(0.05, 1.0),
                       max_attempts=100, seed=None):
  """A random crop of an image of shape `image_shape` [h, w, c].

  bbox: float [1, n, 4] boxes [ymin, xmin, ymax, xmax] in [0, 1], or None for the whole image.
  Returns (begin [y, x, 0], size [h, w, -1], box [1, 1, 4]) as from
  tf.image.sample_distorted_bounding_box.
  """
  if bbox is None:
    bbox = tf.constant([0.0, 0.0, 1.0, 1.0], dtype=tf.float32, shape=[1, 1, 4])
  # The raw op: tf.image's v2 wrapper ignores the graph-level seed when seed is None, and the
  # v1 wrapper logs a deprecation warning.
  seed1, seed2 = tf.compat.v1.get_seed(seed)
  begin, size, box = tf.raw_ops.SampleDistortedBoundingBoxV2(
      image_size=image_shape,
      bounding_boxes=bbox,
      min_object_covered=tf.constant(min_object_covered, tf.float32),
      seed=seed1 or 0,
      seed2=seed2 or 0,
      aspect_ratio_range=list(aspect_ratio_range),
      area_range=list(area_range),
      max_attempts=max_attempts,
      use_image_if_no_bounding_boxes=True)
  return begin, size, box


def crop_area_settings(min_crop_area=None):
  """sample_crop_window's keyword arguments for crops of at least min_crop_area (a share of the
  image, in (0, 1]) of the image and of its object box; None: Inception's (no arguments)."""
  if min_crop_area is None:
    return {}
  if not 0.0 < min_crop_area <= 1.0:
    raise BadArgument('min_crop_area must be in (0, 1], got %r' % (min_crop_area,))
  return dict(min_object_covered=min_crop_area, area_range=(min_crop_area, 1.0))


def distorted_bounding_box_crop(image, bbox=None, min_object_covered=0.1,
                                aspect_ratio_range=(0.75, 1.33), area_range=(0.05, 1.0),
                                max_attempts=100, seed=None):
  """Crops a random window of `image` (see sample_crop_window). Returns (crop, box [1, 1, 4])."""
  begin, size, box = sample_crop_window(
      tf.shape(image), bbox, min_object_covered=min_object_covered,
      aspect_ratio_range=aspect_ratio_range, area_range=area_range,
      max_attempts=max_attempts, seed=seed)
  cropped = tf.slice(image, begin, size)
  if image.shape.rank == 3:
    cropped.set_shape([None, None, image.shape[-1]])
  return cropped, box


def central_crop_window(image_shape, central_fraction=0.875):
  """The centred window keeping `central_fraction` of each side of an image of shape
  `image_shape` [h, w, c]. Returns (begin [y, x, 0], size [h, w, -1]), int32."""
  if not 0.0 < central_fraction <= 1.0:
    raise ValueError('central_fraction must be in (0, 1], got %r' % (central_fraction,))
  image_shape = tf.cast(image_shape, tf.int32)
  side = image_shape[:2]
  offset = tf.cast(tf.floor(tf.cast(side, tf.float32) * (1.0 - central_fraction) / 2.0),
                   tf.int32)
  size = side - 2 * offset
  begin = tf.concat([offset, [0]], axis=0)
  size = tf.concat([size, [-1]], axis=0)
  return begin, size


def decode_whole(image_bytes, dct_method=''):
  """Encoded JPEG (or PNG, GIF, BMP) bytes -> uint8 [h, w, 3]. dct_method: libjpeg's IDCT for
  JPEGs ('' is TensorFlow's default; 'INTEGER_ACCURATE' gives Pillow's pixels)."""
  if dct_method:
    image = tf.cond(
        tf.io.is_jpeg(image_bytes),
        lambda: tf.io.decode_jpeg(image_bytes, channels=3, dct_method=dct_method),
        lambda: tf.ensure_shape(tf.io.decode_image(image_bytes, channels=3,
                                                   expand_animations=False), [None, None, 3]))
  else:
    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
  image.set_shape([None, None, 3])
  return image


def encoded_image_shape(image_bytes):
  """[h, w, 3] int32 of encoded bytes: read from the JPEG header, or by decoding another
  format (decoding a non-JPEG twice is the price of decode-and-crop on it)."""
  return tf.cond(
      tf.io.is_jpeg(image_bytes),
      lambda: tf.concat([tf.image.extract_jpeg_shape(image_bytes)[:2], [3]], axis=0),
      lambda: tf.shape(decode_whole(image_bytes), out_type=tf.int32))


def decode_window(image_bytes, begin, size, dct_method=''):
  """uint8 [size_h, size_w, 3]: the window (begin [y, x, 0], size [h, w, -1]) of the encoded
  image. JPEGs decode only that window (tf.io.decode_and_crop_jpeg); other formats decode whole
  and slice. The pixels equal decode-then-crop's, except that with chroma subsampling (4:2:0)
  the window's first and last columns may differ a little (libjpeg upsamples the colour at the
  window's edges without the neighbours outside it). dct_method as for decode_whole."""
  crop_window = tf.stack([begin[0], begin[1], size[0], size[1]])

  def decode_jpeg_window():
    return tf.io.decode_and_crop_jpeg(image_bytes, crop_window, channels=3,
                                      dct_method=dct_method)

  def decode_other_window():
    return tf.slice(decode_whole(image_bytes), begin, size)

  image = tf.cond(tf.io.is_jpeg(image_bytes), decode_jpeg_window, decode_other_window)
  image.set_shape([None, None, 3])
  return image


def _resize(image, height, width, method_index):
  return tf.image.resize(image, [height, width], method=RESIZE_METHODS[method_index])


def _distort_crop(cropped, height, width, fast_mode, add_image_summaries, seed):
  """Resize, flip, colour-distort and scale a float [0, 1] crop to [height, width, 3]."""
  num_resize_methods = 1 if fast_mode else len(RESIZE_METHODS)
  image = apply_with_random_selector(
      cropped, lambda x, method: _resize(x, height, width, method),
      num_cases=num_resize_methods, seed=op_seed(seed, _SEED_RESIZE))
  image.set_shape([height, width, 3])
  if add_image_summaries:
    _summary_image('cropped_resized_image', image)

  image = tf.image.random_flip_left_right(image, seed=op_seed(seed, _SEED_FLIP))

  with tf.name_scope('distort_color'):
    params = sample_color_params(fast_mode, seed=op_seed(seed, _SEED_COLOR))
    image = apply_with_random_selector(
        image, lambda x, ordering: adjust_color(x, params, ordering, fast_mode),
        num_cases=len(_color_orderings(fast_mode)), seed=op_seed(seed, _SEED_COLOR_ORDER))
  image.set_shape([height, width, 3])
  if add_image_summaries:
    _summary_image('final_distorted_image', image)
  return scale_to_unit_range(image)


def preprocess_for_train(image, height, width, bbox=None, fast_mode=True,
                         add_image_summaries=False, seed=None, scope=None, min_crop_area=None):
  """A randomly distorted float32 [height, width, 3] image in [-1, 1] from a decoded image
  [h, w, 3] (uint8, or float in [0, 1]). min_crop_area: see crop_area_settings."""
  _check_size(height, width)
  with tf.name_scope(scope or 'distort_image'):
    image = to_float(_check_image(image))
    cropped, box = distorted_bounding_box_crop(image, bbox, seed=op_seed(seed, _SEED_CROP),
                                               **crop_area_settings(min_crop_area))
    if add_image_summaries:
      _summary_image_with_box('image_with_distorted_bounding_box', image, box)
    return _distort_crop(cropped, height, width, fast_mode, add_image_summaries, seed)


def _resize_for_eval(image, height, width, add_image_summaries):
  image = tf.image.resize(image, [height, width], method=tf.image.ResizeMethod.BILINEAR)
  image.set_shape([height, width, 3])
  if add_image_summaries:
    _summary_image('central_crop_image', image)
  return scale_to_unit_range(image)


def preprocess_for_eval(image, height, width, central_fraction=0.875,
                        add_image_summaries=False, scope=None):
  """The central crop of a decoded image [h, w, 3] (uint8, or float in [0, 1]), resized
  bilinearly to float32 [height, width, 3] in [-1, 1]. Deterministic."""
  _check_size(height, width)
  with tf.name_scope(scope or 'eval_image'):
    image = to_float(_check_image(image))
    begin, size = central_crop_window(tf.shape(image), central_fraction)
    image = tf.slice(image, begin, size)
    return _resize_for_eval(image, height, width, add_image_summaries)


def preprocess_image(image, height, width, is_training=False, fast_mode=True,
                     add_image_summaries=False, seed=None, bbox=None, min_crop_area=None):
  """Preprocesses a decoded image [h, w, 3] (uint8, or float in [0, 1]) for training or
  evaluation. Returns float32 [height, width, 3] in [-1, 1]."""
  if is_training:
    return preprocess_for_train(image, height, width, bbox=bbox, fast_mode=fast_mode,
                                add_image_summaries=add_image_summaries, seed=seed,
                                min_crop_area=min_crop_area)
  return preprocess_for_eval(image, height, width, add_image_summaries=add_image_summaries)


def preprocess_jpeg(jpeg_bytes, height, width, is_training=False, fast_mode=True,
                    decode_and_crop=False, add_image_summaries=False, seed=None, bbox=None,
                    min_crop_area=None):
  """Preprocesses one encoded image (a scalar string tensor, e.g. a record's image/encoded)
  for training or evaluation. Returns float32 [height, width, 3] in [-1, 1].

  decode_and_crop=False decodes the whole image and calls preprocess_image. True decodes only
  the window used: the training crop sampled from the size in the JPEG header, or the central
  window for evaluation. Non-JPEG bytes (PNG, GIF, BMP) work in both modes.
  min_crop_area: the smallest training crop (see crop_area_settings).
  """
  if not decode_and_crop:
    return preprocess_image(decode_whole(jpeg_bytes), height, width, is_training=is_training,
                            fast_mode=fast_mode, add_image_summaries=add_image_summaries,
                            seed=seed, bbox=bbox, min_crop_area=min_crop_area)
  _check_size(height, width)
  if is_training:
    with tf.name_scope('distort_image'):
      shape = encoded_image_shape(jpeg_bytes)
      begin, size, box = sample_crop_window(shape, bbox, seed=op_seed(seed, _SEED_CROP),
                                            **crop_area_settings(min_crop_area))
      cropped = to_float(decode_window(jpeg_bytes, begin, size))
      if add_image_summaries:
        # Decodes the whole photo, but only when the summary is evaluated.
        _summary_image_with_box('image_with_distorted_bounding_box',
                                to_float(decode_whole(jpeg_bytes)), box)
      return _distort_crop(cropped, height, width, fast_mode, add_image_summaries, seed)
  with tf.name_scope('eval_image'):
    begin, size = central_crop_window(encoded_image_shape(jpeg_bytes))
    image = to_float(decode_window(jpeg_bytes, begin, size))
    return _resize_for_eval(image, height, width, add_image_summaries)


def to_pixels(images):
  """Preprocessed images (float, [-1, 1], any shape [..., 3]) back to uint8 pixels, for
  pictures: (x + 1) * 127.5, rounded and clipped."""
  return tf.cast(tf.round(tf.clip_by_value((tf.cast(images, tf.float32) + 1.0) * 127.5,
                                           0.0, 255.0)), tf.uint8)


def preprocess_full_image(jpeg_bytes, shorter_side):
  """The whole photo, resized (bilinear) so its shorter side is `shorter_side`, aspect kept,
  float32 [h, w, 3] in [-1, 1]: the fully convolutional net then slides over all of it."""
  image = to_float(decode_whole(jpeg_bytes))
  side = tf.cast(tf.shape(image)[:2], tf.float32)
  scale = float(shorter_side) / tf.reduce_min(side)
  size = tf.maximum(tf.cast(tf.round(side * scale), tf.int32), shorter_side)
  image = tf.image.resize(image, size, method=tf.image.ResizeMethod.BILINEAR)
  image.set_shape([None, None, 3])
  return scale_to_unit_range(image)
