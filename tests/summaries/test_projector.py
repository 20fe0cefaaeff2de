"""summaries.projector: the files TensorBoard's embedding projector reads, written as one set that
is switched in at once, and the real TensorBoard serving them."""
import contextlib
import errno
import io
import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from PIL import Image
from tensorboard.plugins import projector as tb_projector

from base import UserError
from summaries import projector
from support import tb_server


def rows(count):
  return [{'filename': 'roses/r_%03d.jpg' % i, 'true label': 'roses',
           'predicted label': 'roses' if i % 3 else 'tulips', 'correct': bool(i % 3)}
          for i in range(count)]


def thumbnails(count, height=30, width=40):
  return np.random.default_rng(0).integers(0, 256, (count, height, width, 3), dtype=np.uint8)


def read_config(log_dir):
  config = tb_projector.ProjectorConfig()
  with open(os.path.join(log_dir, projector.CONFIG_FILENAME), encoding='utf-8') as f:
    text_format.Parse(f.read(), config)
  return config


# --- metadata TSV -------------------------------------------------------------------------------

def test_metadata_tsv_has_a_header_row_when_several_columns():
  text = projector.metadata_tsv([{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}])
  assert text == 'a\tb\n1\tx\n2\ty\n'


def test_metadata_tsv_single_column_has_no_header():
  assert projector.metadata_tsv(['roses', 'tulips'], header=['label']) == 'roses\ntulips\n'


def test_metadata_tsv_lists_need_a_header_for_several_columns():
  with pytest.raises(ValueError, match='header'):
    projector.metadata_tsv([[1, 2], [3, 4]])
  assert projector.metadata_tsv([[1, 2]], header=['p', 'q']) == 'p\tq\n1\t2\n'


def test_metadata_tsv_replaces_tabs_newlines_and_blank_values():
  text = projector.metadata_tsv([{'f': 'a\tb\nc', 'g': ''}])
  assert text == 'f\tg\na b c\t-\n'


# --- files on disk ------------------------------------------------------------------------------

def test_write_projector_writes_config_with_relative_paths(tmp_path):
  log_dir = str(tmp_path)
  projector.write_projector(log_dir, np.ones((6, 4)), rows(6), thumbnails(6), thumb_size=32)
  (embedding,) = read_config(log_dir).embeddings
  assert embedding.tensor_name == 'embedding'
  assert list(embedding.tensor_shape) == [6, 4]
  assert embedding.metadata_path == 'projector/step-0/embedding_metadata.tsv'
  assert embedding.sprite.image_path == 'projector/step-0/embedding_sprite.png'
  assert list(embedding.sprite.single_image_dim) == [32, 32]
  assert os.path.isfile(tmp_path / embedding.metadata_path)
  sprite = Image.open(tmp_path / embedding.sprite.image_path)
  assert sprite.size == (3 * 32, 3 * 32)  # square, as TensorBoard expects


def test_write_projector_metadata_has_header_and_one_row_per_point(tmp_path):
  result = projector.write_projector(str(tmp_path), np.ones((5, 2)), rows(5))
  with open(result['metadata'], encoding='utf-8') as f:
    lines = f.read().splitlines()
  assert lines[0] == 'filename\ttrue label\tpredicted label\tcorrect'
  assert len(lines) == 6 and lines[1] == 'roses/r_000.jpg\troses\ttulips\tFalse'


def test_write_projector_checkpoint_holds_the_tensor_under_its_name(tmp_path):
  values = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
  result = projector.write_projector(str(tmp_path), values, tensor_name='fc7', step=12)
  assert os.path.basename(result['checkpoint']) == 'embedding.ckpt-12'
  latest = tf.train.latest_checkpoint(str(tmp_path))
  assert latest == result['checkpoint']
  np.testing.assert_array_equal(tf.train.load_checkpoint(latest).get_tensor('fc7'), values)


def test_write_projector_second_tensor_name_keeps_the_first(tmp_path):
  first = np.full((4, 3), 1.0, np.float32)
  projector.write_projector(str(tmp_path), first, rows(4), tensor_name='pixels')
  projector.write_projector(str(tmp_path), np.full((4, 8), 2.0), rows(4), tensor_name='fc7')
  config = read_config(str(tmp_path))
  assert [e.tensor_name for e in config.embeddings] == ['pixels', 'fc7']
  assert [e.metadata_path for e in config.embeddings] == [
      'projector/step-0-1/pixels_metadata.tsv', 'projector/step-0-1/fc7_metadata.tsv']
  assert (tmp_path / config.embeddings[0].metadata_path).read_text().startswith('filename\t')
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path)))
  np.testing.assert_array_equal(reader.get_tensor('pixels'), first)
  assert reader.get_variable_to_shape_map()['fc7'] == [4, 8]


def test_write_projector_again_replaces_the_tensor_and_removes_old_checkpoints(tmp_path):
  projector.write_projector(str(tmp_path), np.zeros((3, 2)), step=1)
  projector.write_projector(str(tmp_path), np.ones((5, 2)), step=2)
  projector.write_projector(str(tmp_path), np.ones((5, 2)), step=3)
  assert [e.tensor_name for e in read_config(str(tmp_path)).embeddings] == ['embedding']
  indexes = sorted(p.relative_to(tmp_path).as_posix()
                   for p in tmp_path.glob('**/embedding.ckpt-*.index'))
  # The set TensorBoard reads (step 3) and the one before it, for a TensorBoard still holding it.
  assert indexes == ['projector/step-2/embedding.ckpt-2.index',
                     'projector/step-3/embedding.ckpt-3.index']
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path)))
  assert reader.get_tensor('embedding').shape == (5, 2)


def test_write_projector_leaves_no_temporary_files(tmp_path):
  projector.write_projector(str(tmp_path), np.ones((3, 2)), rows(3), thumbnails(3))
  projector.write_projector(str(tmp_path), np.ones((3, 2)), rows(3), thumbnails(3), step=1)
  assert not [p for p in tmp_path.glob('**/.*')]


def test_write_projector_refuses_a_directory_with_training_checkpoints(tmp_path):
  (tmp_path / 'checkpoint').write_text('model_checkpoint_path: "model.ckpt-100"\n')
  with pytest.raises(UserError, match='other checkpoints'):
    projector.write_projector(str(tmp_path), np.ones((3, 2)))
  assert (tmp_path / 'checkpoint').read_text() == 'model_checkpoint_path: "model.ckpt-100"\n'


def test_write_projector_rejects_metadata_of_another_length(tmp_path):
  with pytest.raises(ValueError, match='2 metadata rows for 3'):
    projector.write_projector(str(tmp_path), np.ones((3, 2)), rows(2))


def test_write_projector_refuses_a_training_folder_without_a_state_file(tmp_path):
  (tmp_path / 'model.ckpt-100.index').write_bytes(b'')
  with pytest.raises(UserError, match='model.ckpt-100.index'):
    projector.write_projector(str(tmp_path), np.ones((3, 2)))
  assert sorted(p.name for p in tmp_path.iterdir()) == ['model.ckpt-100.index']


# --- one set, switched at once ------------------------------------------------------------------

def read_set(log_dir):
  """What TensorBoard would read of the tensor 'fc7': (shape in the config, the checkpoint's
  tensor, metadata rows, sprite size)."""
  (info,) = read_config(log_dir).embeddings
  checkpoint = tf.train.latest_checkpoint(log_dir)
  tensor = tf.train.load_checkpoint(checkpoint).get_tensor('fc7')
  with open(os.path.join(log_dir, info.metadata_path), encoding='utf-8') as f:
    metadata = f.read().splitlines()[1:]
  sprite = Image.open(os.path.join(log_dir, info.sprite.image_path)).size
  return list(info.tensor_shape), tensor, metadata, sprite


def write_fc7(log_dir, count, step, dims=4, writes=projector.WRITES):
  values = np.full((count, dims), float(step), np.float32)
  return projector.write_projector(str(log_dir), values, rows(count), thumbnails(count),
                                   tensor_name='fc7', step=step, thumb_size=8, writes=writes)


def assert_set_of_step_10(log_dir):
  shape, tensor, metadata, sprite = read_set(str(log_dir))
  assert shape == [4, 4] and tensor.shape == (4, 4) and np.all(tensor == 10.0)
  assert len(metadata) == 4 and sprite == (2 * 8, 2 * 8)
  assert os.path.basename(tf.train.latest_checkpoint(str(log_dir))) == 'embedding.ckpt-10'
  assert not list(log_dir.glob('**/.*')), 'a failed write left temporary files'


@pytest.mark.parametrize('failing', ['save_checkpoint', 'write_text', 'sync'])
def test_a_write_that_fails_leaves_the_previous_set_whole(tmp_path, failing):
  write_fc7(tmp_path, 4, step=10)

  def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, 'No space left on device')
  with pytest.raises(OSError):
    write_fc7(tmp_path, 6, step=20, writes=projector.WRITES._replace(**{failing: full_disk}))
  assert_set_of_step_10(tmp_path)


@contextlib.contextmanager
def small_disk(path, size):
  """A tmpfs of `size` mounted on path (root only); skips the test where mounting fails."""
  os.makedirs(path)
  mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size, 'tmpfs', str(path)],
                           capture_output=True, text=True)
  if mounted.returncode:
    pytest.skip('cannot mount a tmpfs here: %s' % mounted.stderr.strip())
  try:
    yield path
  finally:
    subprocess.run(['umount', str(path)], check=True)


def test_a_full_disk_leaves_the_previous_set_whole(tmp_path):
  with small_disk(tmp_path / 'disk', '1m') as disk:
    write_fc7(disk, 4, step=10)
    with pytest.raises((OSError, tf.errors.OpError)):
      write_fc7(disk, 600, step=20, dims=1024)  # 2.4 MB of tensor
    assert_set_of_step_10(disk)
    write_fc7(disk, 5, step=30)  # The room the failed write took is free again.
    assert read_set(str(disk))[0] == [5, 4]


def test_a_new_set_replaces_the_files_of_the_flat_layout(tmp_path):
  """An eval directory of an earlier version: the checkpoint, metadata and config at its top."""
  log_dir = str(tmp_path)
  pixels = np.arange(6, dtype=np.float32).reshape(3, 2)
  with tf.Graph().as_default():
    variable = tf.compat.v1.Variable(pixels, name='pixels')
    saver = tf.compat.v1.train.Saver({'pixels': variable}, save_relative_paths=True)
    with tf.compat.v1.Session() as sess:
      sess.run(variable.initializer)
      saver.save(sess, os.path.join(log_dir, 'embedding.ckpt-5'), write_meta_graph=False)
  (tmp_path / 'pixels_metadata.tsv').write_text('a\nb\nc\n')
  config = tb_projector.ProjectorConfig()
  config.embeddings.add(tensor_name='pixels', metadata_path='pixels_metadata.tsv')
  tb_projector.visualize_embeddings(log_dir, config)

  projector.write_projector(log_dir, np.ones((3, 4)), tensor_name='fc7', step=7)
  files = projector.embedding_files(log_dir, 'pixels')
  np.testing.assert_array_equal(tf.train.load_checkpoint(files['checkpoint']).get_tensor('pixels'),
                                pixels)
  assert open(files['metadata']).read() == 'a\nb\nc\n'
  assert sorted(p.name for p in tmp_path.iterdir()) == ['checkpoint', 'projector',
                                                        'projector_config.pbtxt']


# --- the real TensorBoard -----------------------------------------------------------------------

def write_eval_scalar(run_dir):
  """An event file with one scalar, as the evaluator writes: it makes the directory a run."""
  with tf.Graph().as_default():
    writer = tf.compat.v1.summary.FileWriter(run_dir)
    value = tf.compat.v1.Summary.Value(tag='eval/accuracy', simple_value=0.5)
    writer.add_summary(tf.compat.v1.Summary(value=[value]), 10)
    writer.close()


@pytest.mark.slow
def test_tensorboard_serves_the_projector_tensors_metadata_and_sprite(tmp_path):
  logdir = tmp_path / 'logs'
  run_dir = str(logdir / 'eval')
  os.makedirs(run_dir)
  write_eval_scalar(run_dir)
  pixels = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
  projector.write_projector(run_dir, pixels, rows(10), thumbnails(10), tensor_name='pixels',
                            step=10, thumb_size=16)
  projector.write_projector(run_dir, np.ones((10, 3)), rows(10), thumbnails(10), tensor_name='fc7',
                            step=10, thumb_size=16)

  with tb_server.tensorboard(str(logdir)) as tb:
    tb.wait_for(lambda: 'eval' in tb.get_json('/data/plugin/projector/runs'))
    info = tb.get_json('/data/plugin/projector/info', run='eval')
    shapes = {e['tensorName']: e['tensorShape'] for e in info['embeddings']}
    assert shapes == {'pixels': [10, 6], 'fc7': [10, 3]}

    tensor = tb.get_bytes('/data/plugin/projector/tensor', run='eval', name='pixels')
    np.testing.assert_array_equal(np.frombuffer(tensor, np.float32).reshape(10, 6), pixels)

    metadata = tb.get_bytes('/data/plugin/projector/metadata', run='eval', name='fc7')
    assert metadata.decode().splitlines()[0] == 'filename\ttrue label\tpredicted label\tcorrect'
    assert len(metadata.decode().splitlines()) == 11

    sprite = np.asarray(Image.open(io.BytesIO(
        tb.get_bytes('/data/plugin/projector/sprite_image', run='eval', name='pixels'))))
    assert sprite.shape[:2] == (4 * 16, 4 * 16)  # square (tensorboard#670)
    # Each point's cell, where the projector looks for it (rows from the width), is a photo.
    for i in range(10):
      row, column = divmod(i, sprite.shape[1] // 16)
      assert sprite[row * 16:(row + 1) * 16, column * 16:(column + 1) * 16].max() > 0, i

    # The next set (another step, another number of points) replaces the whole projector.
    projector.write_projector(run_dir, np.ones((5, 3)), rows(5), thumbnails(5), tensor_name='fc7',
                              step=20, thumb_size=16)
    tb.wait_for(lambda: {e['tensorName']: e['tensorShape'] for e in tb.get_json(
        '/data/plugin/projector/info', run='eval')['embeddings']}['fc7'] == [5, 3])
    metadata = tb.get_bytes('/data/plugin/projector/metadata', run='eval', name='fc7')
    assert len(metadata.decode().splitlines()) == 6
    tensor = tb.get_bytes('/data/plugin/projector/tensor', run='eval', name='pixels')
    np.testing.assert_array_equal(np.frombuffer(tensor, np.float32).reshape(10, 6), pixels)
