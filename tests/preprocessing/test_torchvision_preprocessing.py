"""torchvision's preprocessing for alexnet_tv: Pillow's pixels, Resize(256) + CenterCrop(224),
the normalisation and the way back to pixels, the random resized crop, the factory."""
import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from preprocessing import inception_preprocessing as ip
from preprocessing import preprocessing_factory
from preprocessing import torchvision_preprocessing as tp
from rundir import run_info

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def photo(height=300, width=400, seed=0):
  """A photo-like image: smooth colour gradients and a little noise."""
  rng = np.random.default_rng(seed)
  y, x = np.mgrid[0:height, 0:width]
  image = np.stack([128 + 100 * np.sin(x / 23.0 + c) * np.cos(y / 31.0 - c) for c in range(3)], 2)
  return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


def jpeg(image, quality=90):
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, format='JPEG', quality=quality)
  return buf.getvalue()


def run(fetches):
  with tf.compat.v1.Session() as sess:
    return sess.run(fetches)


def torchvision_eval(encoded, size=224):
  """What torchvision's Resize(256), CenterCrop(224), ToTensor, Normalize give (in NHWC), with
  Pillow as torchvision uses it."""
  image = Image.open(io.BytesIO(encoded)).convert('RGB')
  width, height = image.size
  short = int(round(size * 256 / 224))
  if width <= height:
    new = (short, int(short * height / width))
  else:
    new = (int(short * width / height), short)
  image = image.resize(new, Image.BILINEAR)
  left, top = int(round((new[0] - size) / 2.0)), int(round((new[1] - size) / 2.0))
  pixels = np.asarray(image.crop((left, top, left + size, top + size)), np.float64) / 255.0
  return (pixels - MEAN) / STD


def test_jpeg_pixels_are_pillow_s():
  encoded = jpeg(photo(), quality=75)
  with tf.Graph().as_default():
    ours = run(ip.decode_whole(tf.constant(encoded), tp.DCT_METHOD))
  np.testing.assert_array_equal(ours, np.asarray(Image.open(io.BytesIO(encoded)).convert('RGB')))


@pytest.mark.parametrize('height, width', [(300, 400), (410, 260)])
def test_eval_is_torchvision_s_resize_and_central_crop(height, width):
  encoded = jpeg(photo(height, width))
  with tf.Graph().as_default():
    ours, windowed = run([tp.preprocess_jpeg(tf.constant(encoded), 224, 224),
                          tp.preprocess_jpeg(tf.constant(encoded), 224, 224,
                                             decode_and_crop=True)])
  assert ours.shape == (224, 224, 3) and ours.dtype == np.float32
  reference = torchvision_eval(encoded)
  # Pillow rounds its resized pixels to uint8 and its filter differs a little from TF's
  # antialiased bilinear: within a few levels of 255, in units of the normalised values.
  difference = np.abs(ours - reference) * STD * 255
  assert difference.mean() < 0.6 and difference.max() < 6, (difference.mean(), difference.max())
  # A misplaced crop or a missing normalisation would be far off:
  shifted = np.abs(ours[:, 4:] - reference[:, :-4]) * STD * 255
  assert shifted.mean() > 3 * difference.mean()
  # evaluation decodes the whole photo with decode_and_crop too (resizing a window of the photo
  # put the crop up to a pixel off torchvision's)
  np.testing.assert_array_equal(windowed, ours)


def test_to_pixels_undoes_the_normalisation_exactly():
  image = photo(50, 60)
  with tf.Graph().as_default():
    normalised = tp.normalize(ip.to_float(tf.constant(image)))
    back, values = run([preprocessing_factory.get_pixels_fn('alexnet_tv')(normalised),
                        normalised])
  np.testing.assert_array_equal(back, image)
  np.testing.assert_allclose(values, (image / 255.0 - MEAN) / STD, atol=1e-5)


def test_inception_to_pixels_undoes_its_scaling():
  image = photo(20, 30)
  with tf.Graph().as_default():
    scaled = ip.scale_to_unit_range(ip.to_float(tf.constant(image)))
    back = run(preprocessing_factory.get_pixels_fn('alexnet_v2')(scaled))
  np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize('decode_and_crop', [False, True])
def test_training_crops_and_flips_at_random_reproducibly_for_a_seed(decode_and_crop):
  encoded = jpeg(photo())
  with tf.Graph().as_default():
    out = tp.preprocess_jpeg(tf.constant(encoded), 64, 48, is_training=True, seed=7,
                             decode_and_crop=decode_and_crop)
    with tf.compat.v1.Session() as sess:
      first = [sess.run(out) for _ in range(6)]
  with tf.Graph().as_default():
    out = tp.preprocess_jpeg(tf.constant(encoded), 64, 48, is_training=True, seed=7,
                             decode_and_crop=decode_and_crop)
    again = run(out)
  assert first[0].shape == (64, 48, 3)
  np.testing.assert_array_equal(first[0], again)
  assert len({v.tobytes() for v in first}) == 6
  pixels = first[0] * STD + MEAN
  assert -0.01 < pixels.min() and pixels.max() < 1.01   # normalised [0, 1] pixels


@pytest.mark.parametrize('decode_and_crop', [False, True])
def test_a_smallest_crop_area_of_1_trains_on_the_whole_photo(decode_and_crop):
  image = photo()
  with tf.Graph().as_default():
    out = tp.preprocess_jpeg(tf.constant(jpeg(image)), 64, 48, is_training=True, seed=7,
                             decode_and_crop=decode_and_crop, min_crop_area=1.0)
    whole = tf.image.resize(ip.to_float(ip.decode_whole(jpeg(image), tp.DCT_METHOD)), [64, 48])
    expected = tp.normalize(whole)
    with tf.compat.v1.Session() as sess:
      outputs = [sess.run(out) for _ in range(8)]
      expected = sess.run(expected)
  for output in outputs:  # the whole photo, flipped or not
    assert min(np.abs(output - expected).max(), np.abs(output - expected[:, ::-1]).max()) < 1e-5


def test_full_image_keeps_the_aspect_with_the_shorter_side_given():
  with tf.Graph().as_default():
    out = run(preprocessing_factory.get_full_image_preprocessing('alexnet_tv')(
        tf.constant(jpeg(photo(300, 400))), 240))
  assert out.shape == (240, 320, 3)


def test_factory_maps_alexnet_tv_to_torchvision_preprocessing():
  assert preprocessing_factory.PREPROCESSING_MAP['alexnet_tv'] is tp
  assert run_info.preprocessing_name('alexnet_tv') == 'torchvision'
  assert run_info.preprocessing_name('alexnet_v2') == 'inception'
  encoded = jpeg(photo())
  with tf.Graph().as_default():
    fn = preprocessing_factory.get_jpeg_preprocessing('alexnet_tv')
    a, b = run([fn(tf.constant(encoded), 224, 224),
                tp.preprocess_jpeg(tf.constant(encoded), 224, 224)])
  np.testing.assert_array_equal(a, b)
