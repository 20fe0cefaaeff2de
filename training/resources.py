"""What a run asks of the machine, checked before it starts: memory for a batch, threads.

A batch too large for the memory does not fail: the machine swaps for many minutes and stops
answering signals. An absurd thread count exhausts the process's threads. Both are caught here
with one line instead.
"""
import os

import tensorflow as tf
from absl import logging

import base
from base import UserError
from nets import nets_factory

# Preprocessed batches the input pipeline holds at once (batch queue capacity 5, prefetch 2, the
# batch being trained on), and the factor for activations: forward, their gradients and the
# intermediate values the backward pass keeps.
INPUT_BATCHES_HELD = 8
ACTIVATION_FACTOR = 3
MAX_THREADS_PER_CORE = 4
MIN_THREAD_CAP = 16


def available_memory_bytes(meminfo='/proc/meminfo'):
  """MemAvailable of the machine, or None where /proc/meminfo does not say."""
  return base.read_kib_field(meminfo, 'MemAvailable')


def bytes_per_image(model_name, image_size, num_classes):
  """float32 bytes one training image costs: its copies in the input pipeline and the net's
  activations (every end point) with what backpropagation keeps, from the net's own graph."""
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(0)  # only shapes are read; op determinism wants seeded ops
    network_fn = nets_factory.get_network_fn(model_name, num_classes, is_training=False)
    _, end_points = network_fn(tf.compat.v1.placeholder(tf.float32, [1, image_size,
                                                                     image_size, 3]))
    activations = sum(t.shape[1:].num_elements() for t in end_points.values())
  return 4 * (INPUT_BATCHES_HELD * image_size * image_size * 3 + ACTIVATION_FACTOR * activations)


def check_batch_fits(batch_size, per_image, available):
  """UserError when batch_size images need more than the available memory."""
  if available is None or batch_size * per_image <= available:
    return
  gib = 1024.0 ** 3
  raise UserError('--batch_size=%d needs about %.1f GiB for its images and activations, but this '
                  'machine has %.1f GiB available; use --batch_size=%d or less'
                  % (batch_size, batch_size * per_image / gib, available / gib,
                     max(1, available // per_image)))


def thread_cap(cores=None):
  cores = cores or os.cpu_count() or 1
  return max(MIN_THREAD_CAP, MAX_THREADS_PER_CORE * cores)


def capped_threads(value, flag, cores=None):
  """value, or the cap (MAX_THREADS_PER_CORE per core) with a log line when it is above it."""
  cap = thread_cap(cores)
  if value <= cap:
    return value
  logging.warning('--%s=%d is more threads than %d cores can use; using %d.', flag, value,
                  cores or os.cpu_count() or 1, cap)
  return cap
