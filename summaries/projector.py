"""Embedding projector files for TensorBoard: a checkpoint holding the embeddings, their metadata
TSVs, sprites of thumbnails and projector_config.pbtxt, written as one set that is switched in at
once.

What TensorBoard's projector plugin needs, and how it is met here:
- It looks for projector_config.pbtxt in each run directory (a directory with event files, or the
  --logdir root) and for the checkpoint named by that directory's `checkpoint` state file
  (tf.train.latest_checkpoint). Both name files by paths relative to the log directory, so it can
  be moved; the config names no checkpoint path.
- It reads the config again only when the checkpoint the state file names changes, so every set
  has a checkpoint of its own name.
- TensorBoard lists a directory as a run only once it holds summaries (an eval directory does);
  a directory without any shows its projector only when it is the --logdir root (run '.').
- Several embeddings per log directory: call write_projector once per embedding with distinct
  tensor names (e.g. 'pixels' and 'fc7'). Each new set carries over the other tensors of the
  current one (with their metadata and sprites), so they appear side by side in the projector's
  tensor menu. Their files are <tensor>_metadata.tsv and <tensor>_sprite.png ('/' in a tensor name
  becomes '_'). One writer at a time per directory.
- A directory holding checkpoints that are not ours (a training folder) is refused before
  anything is written (check_log_dir): our state file would hide theirs.

One set, switched at once. TensorBoard reads a set through two files of the log directory (the
config and the state file) and the files they name; replaced one by one, a failed write (a full
disk, a kill) would leave the tensor of one step beside the metadata of another. So each write
builds a complete set in a folder of its own, and one rename switches everything:

  LOG_DIR/projector_config.pbtxt -> projector/current/projector_config.pbtxt   (symlinks, made
  LOG_DIR/checkpoint             -> projector/current/checkpoint                once)
  LOG_DIR/projector/current      -> step-20           (replaced by a rename: atomic on POSIX)
  LOG_DIR/projector/step-20/     projector_config.pbtxt, checkpoint, embedding.ckpt-20.*,
                                 fc7_metadata.tsv, fc7_sprite.png

A set is written under a temporary name (.step-20.tmp-*), synced to disk, renamed to step-20, and
only then is `current` switched. The paths inside a set name its own folder, so a TensorBoard that
still holds the previous config reads the previous files: the previous set is kept, older ones
and the leftovers of failed writes are removed by the next write (so are the files of the flat
layout of earlier versions).
"""
import collections
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from PIL import Image
from tensorboard.plugins import projector

import base
from base import UserError
from pictures import photo_grids

CHECKPOINT_PREFIX = 'embedding.ckpt'
CONFIG_FILENAME = 'projector_config.pbtxt'
STATE_FILENAME = 'checkpoint'      # TensorFlow's state file naming a folder's newest checkpoint
SETS_DIRNAME = 'projector'         # LOG_DIR/projector/ holds the sets and `current`
CURRENT = 'current'
SPRITE_THUMB_SIZE = 64  # wanted sprite cell side (smaller when the sprite would pass 8192 px)
_TENSOR_NAME = re.compile(r'^[A-Za-z0-9.][A-Za-z0-9_.\-/]*$')
_SET_NAME = re.compile(r'^step-\d+(-\d+)?$')
_LEGACY_FILE = re.compile(r'^[^/]+_(metadata\.tsv|sprite\.png)$')  # the flat layout's files


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


# --- reading what is there ----------------------------------------------------------------------

def check_log_dir(log_dir):
  """UserError when log_dir holds checkpoints that are not the projector's (a training folder:
  our `checkpoint` state file would hide theirs). Writes nothing."""
  if not os.path.isdir(log_dir):
    return
  theirs = [name for name in sorted(os.listdir(log_dir))
            if name.endswith('.index') and not name.startswith(CHECKPOINT_PREFIX + '-')]
  try:
    state = tf.train.get_checkpoint_state(log_dir)
  except ValueError:  # A state file naming no checkpoint.
    state = None
  if state and state.model_checkpoint_path and not os.path.basename(
      state.model_checkpoint_path).startswith(CHECKPOINT_PREFIX + '-'):
    theirs.insert(0, state.model_checkpoint_path)
  if theirs:
    raise UserError('%s holds other checkpoints (%s): is it a training folder? Write the '
                    'projector into a folder of its own (a subfolder of it is fine)'
                    % (log_dir, os.path.basename(theirs[0])))


def _read_config(log_dir):
  config = projector.ProjectorConfig()
  path = os.path.join(log_dir, CONFIG_FILENAME)
  if os.path.isfile(path):
    with open(path, encoding='utf-8') as f:
      text_format.Parse(f.read(), config)
  return config


def current_set(log_dir):
  """The name of the set TensorBoard reads now (e.g. 'step-20'), or None."""
  link = os.path.join(log_dir, SETS_DIRNAME, CURRENT)
  if not os.path.islink(link):
    return None
  name = os.readlink(link)
  return name if os.path.isdir(os.path.join(log_dir, SETS_DIRNAME, name)) else None


def embedding_files(log_dir, tensor_name):
  """{'checkpoint': prefix, 'metadata': path or None, 'sprite': path or None} of one tensor in
  the set TensorBoard reads now; KeyError when that set has no such tensor."""
  for info in _read_config(log_dir).embeddings:
    if info.tensor_name == tensor_name:
      return {'checkpoint': tf.train.latest_checkpoint(log_dir),
              'metadata': _in_log_dir(log_dir, info.metadata_path),
              'sprite': _in_log_dir(log_dir, info.sprite.image_path)}
  raise KeyError('%s has no projector tensor %r' % (log_dir, tensor_name))


def _in_log_dir(log_dir, relative):
  return os.path.join(log_dir, relative) if relative else None


def _kept_embeddings(log_dir, config, tensor_name):
  """[(EmbeddingInfo, value)] of the config's other tensors still in our latest checkpoint."""
  others = [e for e in config.embeddings if e.tensor_name not in ('', tensor_name)]
  path = tf.train.latest_checkpoint(log_dir)
  if not others or not path:
    return []
  reader = tf.train.load_checkpoint(path)
  return [(e, reader.get_tensor(e.tensor_name)) for e in others if reader.has_tensor(e.tensor_name)]


# --- writing a set ------------------------------------------------------------------------------

def _new_set_name(sets_dir, step):
  name, k = 'step-%d' % step, 0
  while os.path.lexists(os.path.join(sets_dir, name)):
    k += 1
    name = 'step-%d-%d' % (step, k)
  return name


def _save_checkpoint(set_dir, tensors, step):
  """Saves {name: float32 [N, D]} as variables named exactly `name` into set_dir, without a
  state file (the set's own names the path TensorBoard uses); returns the file prefix."""
  filename = '%s-%d' % (CHECKPOINT_PREFIX, step)
  graph = tf.Graph()
  with graph.as_default():
    variables, feeds = {}, {}
    for i, (name, value) in enumerate(tensors.items()):
      placeholder = tf.compat.v1.placeholder(tf.float32, value.shape, name='value_%d' % i)
      variables[name] = tf.compat.v1.Variable(placeholder, name='var_%d' % i)
      feeds[placeholder] = value
    saver = tf.compat.v1.train.Saver(var_list=variables, max_to_keep=None)
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.variables_initializer(list(variables.values())), feed_dict=feeds)
      saver.save(sess, os.path.join(set_dir, filename), write_meta_graph=False,
                 write_state=False)
  return filename


def _carry_over(log_dir, info, tmp_dir, set_path):
  """A copy of a kept tensor's EmbeddingInfo whose metadata and sprite are linked (or copied)
  from the current set into the new one; a file gone missing is left out of it."""
  info = _copy_info(info)
  stem = _file_stem(info.tensor_name)
  for field, holder, suffix in (('metadata_path', info, '_metadata.tsv'),
                                ('image_path', info.sprite, '_sprite.png')):
    source = getattr(holder, field)
    if not source:
      continue
    source = os.path.join(log_dir, source)
    if not os.path.isfile(source):
      holder.ClearField(field)
      continue
    target = os.path.join(tmp_dir, stem + suffix)
    try:
      os.link(source, target)
    except OSError:  # Another file system, or links not allowed.
      shutil.copyfile(source, target)
    setattr(holder, field, '%s/%s' % (set_path, stem + suffix))
  if not info.sprite.image_path:
    info.ClearField('sprite')
  return info


def _copy_info(info):
  copy = projector.EmbeddingInfo()
  copy.CopyFrom(info)
  return copy


def _write_new_files(tmp_dir, set_path, info, metadata_text, sprite):
  """The new tensor's metadata and sprite into tmp_dir; their paths into info."""
  stem = _file_stem(info.tensor_name)
  if metadata_text is not None:
    info.metadata_path = '%s/%s_metadata.tsv' % (set_path, stem)
    with open(os.path.join(tmp_dir, stem + '_metadata.tsv'), 'w', encoding='utf-8') as f:
      f.write(metadata_text)
  if sprite is not None:
    info.sprite.image_path = '%s/%s_sprite.png' % (set_path, stem)
    Image.fromarray(sprite).save(os.path.join(tmp_dir, stem + '_sprite.png'), format='PNG')


def _write_text(path, text):
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)


# The writes that make a set: its checkpoint, its text files (the state file and the config), the
# syncs of its files and folders. write_projector takes others (a test's that fail) as `writes`.
Writes = collections.namedtuple('Writes', 'save_checkpoint write_text sync')
WRITES = Writes(_save_checkpoint, _write_text, base.fsync_path)


def _build_set(log_dir, sets_dir, name, info, kept, embeddings, metadata_text, sprite, step,
               writes):
  """Writes the complete set `name` (the new tensor and the kept ones, the checkpoint of all,
  its state file and the config) under a temporary name, syncs it and renames it into place.
  Returns the checkpoint's file name. Nothing is left behind when a write fails."""
  set_path = '%s/%s' % (SETS_DIRNAME, name)  # Paths in the set are relative to log_dir.
  tmp_dir = tempfile.mkdtemp(prefix='.%s.tmp-' % name, dir=sets_dir)
  try:
    config = projector.ProjectorConfig()
    for kept_info, _ in kept:
      config.embeddings.add().CopyFrom(_carry_over(log_dir, kept_info, tmp_dir, set_path))
    _write_new_files(tmp_dir, set_path, info, metadata_text, sprite)
    config.embeddings.add().CopyFrom(info)
    tensors = {e.tensor_name: np.asarray(v, np.float32) for e, v in kept}
    tensors[info.tensor_name] = embeddings
    filename = writes.save_checkpoint(tmp_dir, tensors, step)
    writes.write_text(os.path.join(tmp_dir, STATE_FILENAME),
                      'model_checkpoint_path: "%s/%s"\nall_model_checkpoint_paths: "%s/%s"\n'
                      % (set_path, filename, set_path, filename))
    writes.write_text(os.path.join(tmp_dir, CONFIG_FILENAME),
                      text_format.MessageToString(config))
    for entry in os.listdir(tmp_dir):
      writes.sync(os.path.join(tmp_dir, entry))
    writes.sync(tmp_dir)
    os.rename(tmp_dir, os.path.join(sets_dir, name))
  except BaseException:
    shutil.rmtree(tmp_dir, ignore_errors=True)
    raise
  writes.sync(sets_dir)
  return filename


def _replace_with_symlink(target, link):
  """Makes `link` a symlink to target with one rename (whatever was there before)."""
  tmp = os.path.join(os.path.dirname(link), '.%s.tmp-%d' % (os.path.basename(link), os.getpid()))
  if os.path.lexists(tmp):
    os.remove(tmp)
  os.symlink(target, tmp)
  try:
    os.replace(tmp, link)
  except BaseException:
    os.remove(tmp)
    raise


def _switch(log_dir, name, sync):
  """Points projector/current at the set `name` (one rename: the switch), then makes sure the
  config and the state file of log_dir are the symlinks through `current`."""
  sets_dir = os.path.join(log_dir, SETS_DIRNAME)
  _replace_with_symlink(name, os.path.join(sets_dir, CURRENT))
  sync(sets_dir)
  for filename in (CONFIG_FILENAME, STATE_FILENAME):
    link, target = os.path.join(log_dir, filename), '%s/%s/%s' % (SETS_DIRNAME, CURRENT, filename)
    if not (os.path.islink(link) and os.readlink(link) == target):
      _replace_with_symlink(target, link)
  sync(log_dir)


def _flat_layout_files(log_dir, config):
  """The files of the flat layout of earlier versions (before the first set): checkpoint files
  and the metadata and sprites the config names directly in log_dir."""
  if os.path.islink(os.path.join(log_dir, CONFIG_FILENAME)):
    return []
  named = {path for e in config.embeddings for path in (e.metadata_path, e.sprite.image_path)}
  return [name for name in os.listdir(log_dir)
          if name.startswith(CHECKPOINT_PREFIX + '-')
          or (name in named and _LEGACY_FILE.match(name))]


def _remove_old_sets(log_dir, keep, flat_files):
  """Removes the sets not in keep, leftovers of failed writes and the flat layout's files."""
  sets_dir = os.path.join(log_dir, SETS_DIRNAME)
  for name in os.listdir(sets_dir):
    if name not in keep and (_SET_NAME.match(name) or name.startswith('.step-')):
      shutil.rmtree(os.path.join(sets_dir, name), ignore_errors=True)
    elif name.startswith('.%s.tmp-' % CURRENT):
      os.remove(os.path.join(sets_dir, name))
  for name in flat_files:
    try:
      os.remove(os.path.join(log_dir, name))
    except OSError:
      pass


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
                    step=0, metadata_header=None, thumb_size=SPRITE_THUMB_SIZE, writes=WRITES):
  """Writes (or replaces) one embedding for TensorBoard's projector in log_dir, as a new set of
  files that replaces the current one at once (see the module's doc).

  Args:
    log_dir: the run directory (created if missing), e.g. the eval directory.
    embeddings: float [N, D].
    metadata: N rows for metadata_tsv (e.g. dicts with true, predicted, correct, filename), or
      None.
    thumbnails: N images (uint8 [N, h, w, 3] or a list) for the sprite, or None.
    tensor_name: the embedding's name in the checkpoint and in the projector's menu.
    step: global step, part of the set's and the checkpoint's names.
    metadata_header: column names when metadata rows are lists.
    thumb_size: wanted sprite thumbnail side (smaller when the sprite would pass 8192 px).
    writes: the Writes that save the set's checkpoint, write its text files and sync them.
  Returns:
    {'checkpoint': prefix, 'config': path, 'metadata': path or None, 'sprite': path or None,
     'thumb_size': int or None}, the paths inside the new set.
  """
  embeddings, metadata_text, sprite, thumb = _checked_inputs(
      embeddings, metadata, thumbnails, tensor_name, metadata_header, thumb_size)
  os.makedirs(log_dir, exist_ok=True)
  check_log_dir(log_dir)
  config = _read_config(log_dir)
  kept = _kept_embeddings(log_dir, config, tensor_name)
  flat_files = _flat_layout_files(log_dir, config)
  sets_dir = os.path.join(log_dir, SETS_DIRNAME)
  os.makedirs(sets_dir, exist_ok=True)

  info = projector.EmbeddingInfo(tensor_name=tensor_name)
  info.tensor_shape.extend(embeddings.shape)
  if sprite is not None:
    info.sprite.single_image_dim.extend([thumb, thumb])  # [width, height]
  name = _new_set_name(sets_dir, step)
  filename = _build_set(log_dir, sets_dir, name, info, kept, embeddings, metadata_text, sprite,
                        step, writes)
  previous = current_set(log_dir)
  _switch(log_dir, name, writes.sync)
  _remove_old_sets(log_dir, {name, previous}, flat_files)
  return {'checkpoint': os.path.join(sets_dir, name, filename),
          'config': os.path.join(log_dir, CONFIG_FILENAME),
          'metadata': _in_log_dir(log_dir, info.metadata_path),
          'sprite': _in_log_dir(log_dir, info.sprite.image_path), 'thumb_size': thumb}
