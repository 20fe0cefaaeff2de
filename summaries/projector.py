"""Embedding projector files for TensorBoard: a checkpoint holding the embedding, its metadata TSV,
a sprite of thumbnails and projector_config.pbtxt, all in one log directory.

What TensorBoard's projector plugin needs, and how it is met here:
- It looks for projector_config.pbtxt in each run directory (a directory with event files, or the
  --logdir root) and for the checkpoint named by tf.train.latest_checkpoint of that directory. So
  the embedding checkpoint is saved with a `checkpoint` state file of relative paths (the log
  directory can be moved), and the config names no checkpoint path.
- The config's metadata and sprite paths are relative to the log directory.
- TensorBoard lists a directory as a run only once it holds summaries (an eval directory does);
  a directory without any shows its projector only when it is the --logdir root (run '.').
- Several embeddings per log directory: call write_projector once per embedding with distinct
  tensor names (e.g. 'dataset_pixels' and 'fc7'). Each call rewrites the checkpoint with the new
  tensor plus the other tensors already listed in the config, so they appear side by side in the
  projector's tensor menu. Their files are <tensor>_metadata.tsv and <tensor>_sprite.png ('/' in a
  tensor name becomes '_'). One writer at a time per directory.
- A directory whose `checkpoint` state file belongs to someone else (training checkpoints) is
  refused: our state file would hide theirs. Use the eval directory or a directory of its own.
Every file is written under a temporary name and renamed; older embedding checkpoints are removed
once the config points at the new one.
"""
import glob
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from PIL import Image
from tensorboard.plugins import projector

from base import UserError, atomic_path, write_text_atomic
from summaries import photo_grids

CHECKPOINT_PREFIX = 'embedding.ckpt'
CONFIG_FILENAME = 'projector_config.pbtxt'
SPRITE_THUMB_SIZE = 64  # wanted sprite cell side (smaller when the sprite would pass 8192 px)
_TENSOR_NAME = re.compile(r'^[A-Za-z0-9.][A-Za-z0-9_.\-/]*$')


def metadata_tsv(rows, header=None):
  """The projector's metadata TSV for rows: dicts (columns = header or the first dict's keys),
  lists/tuples (header required when there are several columns), or single values.

  Several columns get a header line; one column gets none (the projector's format). Tabs and
  line breaks in values become spaces; a blank value is written as '-' (the projector skips
  blank lines, which would shift every later row).
  """
  rows = list(rows)
  if not rows:
    raise ValueError('metadata has no rows')
  if isinstance(rows[0], dict):
    header = list(header) if header is not None else list(rows[0].keys())
    missing = [k for row in rows for k in header if k not in row]
    if missing:
      raise ValueError('metadata rows lack column %r' % missing[0])
    rows = [[row[k] for k in header] for row in rows]
  elif isinstance(rows[0], (list, tuple)):
    rows = [list(row) for row in rows]
  else:
    rows = [[value] for value in rows]
  columns = len(rows[0])
  if any(len(row) != columns for row in rows):
    raise ValueError('metadata rows have different numbers of columns')
  if columns > 1 and header is None:
    raise ValueError('metadata with %d columns needs a header' % columns)
  if header is not None and len(header) != columns:
    raise ValueError('metadata header has %d names for %d columns' % (len(header), columns))
  lines = ['\t'.join(_tsv_value(v) for v in header)] if columns > 1 else []
  lines += ['\t'.join(_tsv_value(v) for v in row) for row in rows]
  return '\n'.join(lines) + '\n'


def _tsv_value(value):
  if isinstance(value, bytes):
    value = value.decode('utf-8', 'replace')
  text = re.sub(r'[\t\r\n]', ' ', str(value))
  return text if text.strip() else '-'


def _file_stem(tensor_name):
  return tensor_name.replace('/', '_')


def _check_checkpoint_owner(log_dir):
  """Raises UserError when log_dir's `checkpoint` state file names a checkpoint not ours."""
  state = tf.train.get_checkpoint_state(log_dir)
  if state and state.model_checkpoint_path and not os.path.basename(
      state.model_checkpoint_path).startswith(CHECKPOINT_PREFIX + '-'):
    raise UserError('%s holds other checkpoints (%s); write the projector into a directory of '
                    'its own, e.g. the eval directory' % (log_dir, state.model_checkpoint_path))


def _read_config(log_dir):
  config = projector.ProjectorConfig()
  path = os.path.join(log_dir, CONFIG_FILENAME)
  if os.path.isfile(path):
    with open(path, encoding='utf-8') as f:
      text_format.Parse(f.read(), config)
  return config


def _kept_embeddings(log_dir, config, tensor_name):
  """[(EmbeddingInfo, value)] of the config's other tensors still in our latest checkpoint."""
  others = [e for e in config.embeddings if e.tensor_name not in ('', tensor_name)]
  path = tf.train.latest_checkpoint(log_dir)
  if not others or not path:
    return []
  reader = tf.train.load_checkpoint(path)
  return [(e, reader.get_tensor(e.tensor_name)) for e in others if reader.has_tensor(e.tensor_name)]


def _new_checkpoint_prefix(log_dir, step):
  prefix = os.path.join(log_dir, '%s-%d' % (CHECKPOINT_PREFIX, step))
  k = 0
  while glob.glob(glob.escape(prefix) + '.*'):
    k += 1
    prefix = os.path.join(log_dir, '%s-%d-%d' % (CHECKPOINT_PREFIX, step, k))
  return prefix


def _save_checkpoint(log_dir, tensors, step):
  """Saves {name: float32 [N, D]} as variables named exactly `name`; returns the prefix."""
  prefix = _new_checkpoint_prefix(log_dir, step)
  graph = tf.Graph()
  with graph.as_default():
    variables, feeds = {}, {}
    for i, (name, value) in enumerate(tensors.items()):
      placeholder = tf.compat.v1.placeholder(tf.float32, value.shape, name='value_%d' % i)
      variables[name] = tf.compat.v1.Variable(placeholder, name='var_%d' % i)
      feeds[placeholder] = value
    saver = tf.compat.v1.train.Saver(var_list=variables, save_relative_paths=True,
                                     max_to_keep=None)
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.variables_initializer(list(variables.values())), feed_dict=feeds)
      saver.save(sess, prefix, write_meta_graph=False)
  return prefix


def _remove_old_checkpoints(log_dir, keep_prefix):
  keep = os.path.basename(keep_prefix)
  for path in glob.glob(os.path.join(glob.escape(log_dir), CHECKPOINT_PREFIX + '-*')):
    name = os.path.basename(path)
    if name.startswith(keep + '.'):
      continue
    try:
      os.remove(path)
    except OSError:
      pass


def _write_config(log_dir, config):
  """projector.visualize_embeddings into a temporary directory, then renamed into log_dir."""
  tmp_dir = tempfile.mkdtemp(prefix='.projector.', dir=log_dir)
  try:
    projector.visualize_embeddings(tmp_dir, config)
    os.replace(os.path.join(tmp_dir, CONFIG_FILENAME), os.path.join(log_dir, CONFIG_FILENAME))
  finally:
    shutil.rmtree(tmp_dir, ignore_errors=True)


def _checked_inputs(embeddings, metadata, thumbnails, tensor_name, metadata_header, thumb_size):
  """(embeddings float32 [N, D], metadata TSV or None, sprite or None, its thumbnail side or
  None); ValueError for inputs the projector cannot show."""
  embeddings = np.asarray(embeddings, np.float32)
  if embeddings.ndim != 2 or embeddings.shape[0] == 0 or embeddings.shape[1] == 0:
    raise ValueError('embeddings must be [N, D] with N, D > 0, got shape %s'
                     % (embeddings.shape,))
  if not np.all(np.isfinite(embeddings)):
    raise ValueError('embeddings contain NaN or infinite values')
  if not _TENSOR_NAME.match(tensor_name):
    raise ValueError('tensor_name %r is not a valid variable name' % tensor_name)
  count = embeddings.shape[0]
  metadata_text = None
  if metadata is not None:
    metadata = list(metadata)
    if len(metadata) != count:
      raise ValueError('got %d metadata rows for %d embeddings' % (len(metadata), count))
    metadata_text = metadata_tsv(metadata, metadata_header)
  sprite = thumb = None
  if thumbnails is not None:
    if len(thumbnails) != count:
      raise ValueError('got %d thumbnails for %d embeddings' % (len(thumbnails), count))
    sprite, thumb = photo_grids.sprite_image(thumbnails, thumb_size)
  return embeddings, metadata_text, sprite, thumb


def write_projector(log_dir, embeddings, metadata=None, thumbnails=None, tensor_name='embedding',
                    step=0, metadata_header=None, thumb_size=SPRITE_THUMB_SIZE):
  """Writes (or replaces) one embedding for TensorBoard's projector in log_dir.

  Args:
    log_dir: the run directory (created if missing), e.g. the eval directory.
    embeddings: float [N, D].
    metadata: N rows for metadata_tsv (e.g. dicts with filename, true, predicted, correct), or
      None.
    thumbnails: N images (uint8 [N, h, w, 3] or a list) for the sprite, or None.
    tensor_name: the embedding's name in the checkpoint and in the projector's menu.
    step: global step, part of the checkpoint name.
    metadata_header: column names when metadata rows are lists.
    thumb_size: wanted sprite thumbnail side (smaller when the sprite would pass 8192 px).
  Returns:
    {'checkpoint': prefix, 'config': path, 'metadata': path or None, 'sprite': path or None,
     'thumb_size': int or None}.
  """
  embeddings, metadata_text, sprite, thumb = _checked_inputs(
      embeddings, metadata, thumbnails, tensor_name, metadata_header, thumb_size)
  os.makedirs(log_dir, exist_ok=True)
  _check_checkpoint_owner(log_dir)
  config = _read_config(log_dir)
  kept = _kept_embeddings(log_dir, config, tensor_name)

  stem = _file_stem(tensor_name)
  info = projector.EmbeddingInfo(tensor_name=tensor_name)
  info.tensor_shape.extend(embeddings.shape)
  result = {'metadata': None, 'sprite': None, 'thumb_size': thumb}
  if metadata_text is not None:
    info.metadata_path = stem + '_metadata.tsv'
    result['metadata'] = os.path.join(log_dir, info.metadata_path)
    write_text_atomic(result['metadata'], metadata_text)
  if sprite is not None:
    info.sprite.image_path = stem + '_sprite.png'
    info.sprite.single_image_dim.extend([thumb, thumb])  # [width, height]
    result['sprite'] = os.path.join(log_dir, info.sprite.image_path)
    with atomic_path(result['sprite']) as tmp:
      Image.fromarray(sprite).save(tmp, format='PNG')

  tensors = {e.tensor_name: np.asarray(v, np.float32) for e, v in kept}
  tensors[tensor_name] = embeddings
  result['checkpoint'] = _save_checkpoint(log_dir, tensors, step)

  new_config = projector.ProjectorConfig()
  for e, _ in kept:
    new_config.embeddings.add().CopyFrom(e)
  new_config.embeddings.add().CopyFrom(info)
  _write_config(log_dir, new_config)
  result['config'] = os.path.join(log_dir, CONFIG_FILENAME)
  _remove_old_checkpoints(log_dir, result['checkpoint'])
  return result
