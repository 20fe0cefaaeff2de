"""torchvision's ImageNet preprocessing, the input its pretrained weights expect (alexnet_tv):
RGB in [0, 1] normalised by MEAN and STD per channel. Outputs float32 [height, width, 3].

Evaluation (torchvision's Resize(256) + CenterCrop(224)): the shorter side resized to
RESIZE_RATIO * the output size (256 for 224; bilinear with antialiasing, as Pillow resizes), the
longer side to the same aspect (truncated, as torchvision does), then the central
height x width crop. No randomness.
Training (RandomResizedCrop + RandomHorizontalFlip): a random window of 8-100% of the area
(min_crop_area=m: m-100%) with an aspect ratio of 3/4-4/3 (10 attempts, then the whole image),
resized bilinearly to height x width, flipped left-right half of the time. No colour distortion.

JPEGs are decoded with dct_method='INTEGER_ACCURATE', which gives Pillow's pixels (TensorFlow's
default IDCT differs by up to 11/255). With decode_and_crop=True preprocess_jpeg decodes only the
training crop (the same distribution); evaluation always decodes the whole photo (a window of the
photo resized is not torchvision's resized photo cropped: the crop lands up to a pixel off).

The entry points have the signatures of inception_preprocessing's (preprocess_jpeg,
preprocess_image, preprocess_full_image); fast_mode is accepted and ignored (there is no colour
distortion to make fast). to_pixels undoes the normalisation for pictures.
"""
import tensorflow as tf

from preprocessing import inception_preprocessing as ip

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
RESIZE_RATIO = 256.0 / 224.0       # the evaluation's resize side per output side
DCT_METHOD = 'INTEGER_ACCURATE'
AREA_RANGE = (0.08, 1.0)
ASPECT_RATIO_RANGE = (3.0 / 4.0, 4.0 / 3.0)
MAX_ATTEMPTS = 10

_SEED_CROP = 1
_SEED_FLIP = 3


def normalize(image):
  """float [0, 1] RGB -> (x - MEAN) / STD per channel."""
  return (image - tf.constant(MEAN, tf.float32)) / tf.constant(STD, tf.float32)


def to_pixels(images):
  """Preprocessed images (any shape [..., 3]) back to uint8 pixels, for pictures: x * STD + MEAN,
  times 255, rounded and clipped."""
  pixels = (tf.cast(images, tf.float32) * tf.constant(STD, tf.float32) +
            tf.constant(MEAN, tf.float32)) * 255.0
  return tf.cast(tf.round(tf.clip_by_value(pixels, 0.0, 255.0)), tf.uint8)


def _sample_window(image_shape, seed, min_crop_area=None):
  """A crop window of AREA_RANGE of the image's area, or min_crop_area to all of it."""
  area_range = AREA_RANGE
  if min_crop_area is not None:
    area_range = ip.crop_area_settings(min_crop_area)['area_range']
  begin, size, _ = ip.sample_crop_window(
      image_shape, min_object_covered=0.0, aspect_ratio_range=ASPECT_RATIO_RANGE,
      area_range=area_range, max_attempts=MAX_ATTEMPTS, seed=ip.op_seed(seed, _SEED_CROP))
  return begin, size


def _train_crop_to_output(cropped, height, width, add_image_summaries, seed):
  """Resize a float [0, 1] crop to [height, width], flip it at random, normalise."""
  image = tf.image.resize(cropped, [height, width], method=tf.image.ResizeMethod.BILINEAR)
  image.set_shape([height, width, 3])
  if add_image_summaries:
    ip._summary_image('cropped_resized_image', image)  # pylint: disable=protected-access
  image = tf.image.random_flip_left_right(image, seed=ip.op_seed(seed, _SEED_FLIP))
  return normalize(image)


def _resize_shorter_side(image, side):
  """Resizes float [h, w, 3] so its shorter side is `side` and the longer one side * long / short
  truncated (torchvision's Resize(int)); bilinear with antialiasing, like Pillow."""
  shape = tf.shape(image)[:2]
  shorter = tf.reduce_min(shape)
  size = tf.where(shape == shorter, side, (side * shape) // shorter)
  image = tf.image.resize(image, size, method=tf.image.ResizeMethod.BILINEAR, antialias=True)
  image.set_shape([None, None, 3])
  return image


def _resize_side(height, width):
  return int(round(max(height, width) * RESIZE_RATIO))


def _central_crop(image, height, width):
  """The central height x width window of [h, w, 3], offsets rounded as torchvision's
  CenterCrop rounds them."""
  shape = tf.shape(image)[:2]
  top = tf.cast(tf.round(tf.cast(shape[0] - height, tf.float32) / 2.0), tf.int32)
  left = tf.cast(tf.round(tf.cast(shape[1] - width, tf.float32) / 2.0), tf.int32)
  image = tf.slice(image, [top, left, 0], [height, width, 3])
  image.set_shape([height, width, 3])
  return image


def _finish_eval(image, add_image_summaries):
  if add_image_summaries:
    ip._summary_image('central_crop_image', image)  # pylint: disable=protected-access
  return normalize(image)


def preprocess_for_train(image, height, width, add_image_summaries=False, seed=None,
                         min_crop_area=None):
  """A random resized crop, flipped at random, normalised: float32 [height, width, 3] from a
  decoded image [h, w, 3] (uint8, or float in [0, 1])."""
  ip._check_size(height, width)  # pylint: disable=protected-access
  with tf.name_scope('distort_image'):
    image = ip.to_float(ip._check_image(image))  # pylint: disable=protected-access
    begin, size = _sample_window(tf.shape(image), seed, min_crop_area)
    return _train_crop_to_output(tf.slice(image, begin, size), height, width,
                                 add_image_summaries, seed)


def preprocess_for_eval(image, height, width, add_image_summaries=False):
  """Shorter side to RESIZE_RATIO * the output size, then the central height x width crop,
  normalised. Deterministic."""
  ip._check_size(height, width)  # pylint: disable=protected-access
  with tf.name_scope('eval_image'):
    image = ip.to_float(ip._check_image(image))  # pylint: disable=protected-access
    image = _resize_shorter_side(image, _resize_side(height, width))
    return _finish_eval(_central_crop(image, height, width), add_image_summaries)


def preprocess_image(image, height, width, is_training=False, fast_mode=True,
                     add_image_summaries=False, seed=None, bbox=None, min_crop_area=None):
  """Preprocesses a decoded image [h, w, 3] (uint8, or float in [0, 1]) for training or
  evaluation. fast_mode and bbox are ignored (no colour distortion; the crop ignores boxes, as
  torchvision's does)."""
  del fast_mode, bbox
  if is_training:
    return preprocess_for_train(image, height, width, add_image_summaries, seed, min_crop_area)
  return preprocess_for_eval(image, height, width, add_image_summaries)


def preprocess_jpeg(jpeg_bytes, height, width, is_training=False, fast_mode=True,
                    decode_and_crop=False, add_image_summaries=False, seed=None, bbox=None,
                    min_crop_area=None):
  """Preprocesses one encoded image (a scalar string tensor) for training or evaluation;
  float32 [height, width, 3]. decode_and_crop=True decodes only the training crop's window."""
  if not (decode_and_crop and is_training):
    return preprocess_image(ip.decode_whole(jpeg_bytes, DCT_METHOD), height, width,
                            is_training=is_training, add_image_summaries=add_image_summaries,
                            seed=seed, min_crop_area=min_crop_area)
  ip._check_size(height, width)  # pylint: disable=protected-access
  with tf.name_scope('distort_image'):
    begin, size = _sample_window(ip.encoded_image_shape(jpeg_bytes), seed, min_crop_area)
    cropped = ip.to_float(ip.decode_window(jpeg_bytes, begin, size, DCT_METHOD))
    return _train_crop_to_output(cropped, height, width, add_image_summaries, seed)


def preprocess_full_image(jpeg_bytes, shorter_side):
  """The whole photo, its shorter side resized to `shorter_side`, aspect kept, normalised:
  float32 [h, w, 3] for the fully convolutional net to slide over."""
  image = ip.to_float(ip.decode_whole(jpeg_bytes, DCT_METHOD))
  return normalize(_resize_shorter_side(image, shorter_side))
