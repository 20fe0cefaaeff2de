"""Classifying one's own photos: the same probabilities as evaluation, every photo format, bad
files skipped with their reasons, the table, the output files and the Grad-CAM pictures."""
import csv
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from base import UserError
from evaluation import eval_config
from evaluation import evaluator
from inference import photo_files
from inference import predict
from inference import predict_config
from inference import reports
from rundir import run_info
from rundir import run_settings
from support.dataset_helpers import CLASS_NAMES
from support.predict_helpers import photo_bytes
from support.predict_helpers import reorder_labels
from support.predict_helpers import save_checkpoint
from support.predict_helpers import write_bad_files
from support.predict_helpers import write_photos


@pytest.fixture(scope='module')
def train_dir(tmp_path_factory):
  folder = tmp_path_factory.mktemp('predict_train')
  save_checkpoint(str(folder), step=5)
  return str(folder)


def run_predict(train_dir, photos, **settings):
  lines = []
  config = predict_config.PredictConfig(checkpoint_path=train_dir, photos=list(photos), **settings)
  return predict.predict(config, out=lines.append), lines


def validation_photos(dataset_dir, folder):
  """The validation split's photos as files (the records hold the JPEG bytes as converted):
  {filename in the records: path}."""
  os.makedirs(folder)
  paths = {}
  shards = sorted(f for f in os.listdir(dataset_dir) if '_validation_' in f)
  for shard in shards:
    for record in tf.compat.v1.io.tf_record_iterator(os.path.join(dataset_dir, shard)):
      feature = tf.train.Example.FromString(record).features.feature
      name = feature['image/filename'].bytes_list.value[0].decode()
      paths[name] = os.path.join(folder, name.replace('/', '_'))
      with open(paths[name], 'wb') as f:
        f.write(feature['image/encoded'].bytes_list.value[0])
  return paths


def evaluated_probabilities(dataset_dir, train_dir, eval_dir, **settings):
  """{filename: probabilities} of one evaluation pass of eval_alexnet.py's evaluator."""
  batches = []
  config = eval_config.EvalConfig(dataset_dir=dataset_dir, checkpoint_path=train_dir,
                                eval_dir=eval_dir, once=True, embedding_size=0, grid_images=0,
                                fixed_photos=0,
                                eval_device='cpu', **settings)
  evaluator.evaluate(config, on_batch=batches.append)
  return {name.decode(): row for values in batches
          for name, row in zip(values['filenames'], values['probabilities'])}


@pytest.mark.slow
@pytest.mark.parametrize('full_image', [False, True])
def test_probabilities_equal_the_evaluation_of_the_same_checkpoint_and_photos(
    records_dataset, train_dir, tmp_path, full_image):
  dataset_dir, _ = records_dataset
  settings = dict(full_image=True, input_pipeline='tf_data') if full_image else dict(batch_size=10)
  evaluated = evaluated_probabilities(dataset_dir, train_dir, str(tmp_path / 'eval'),
                                      **settings)
  paths = validation_photos(dataset_dir, str(tmp_path / 'photos'))
  predictions, _ = run_predict(train_dir, sorted(paths.values()), batch_size=10,
                               full_image=full_image)
  by_path = {p.path: p.probabilities for p in predictions}
  assert len(evaluated) == len(paths) == 10
  spread = max(np.ptp(p) for p in evaluated.values())
  assert spread > 0.2  # the checkpoint's probabilities are far from uniform: a real comparison
  for name, path in paths.items():
    np.testing.assert_allclose(by_path[path], evaluated[name], atol=1e-5)


def test_every_photo_format_is_classified_and_bad_files_are_skipped_with_reasons(train_dir,
                                                                                tmp_path):
  good = write_photos(tmp_path / 'photos')
  bad = write_bad_files(tmp_path / 'photos' / 'bad')
  predictions, lines = run_predict(train_dir, [str(tmp_path / 'photos'),
                                               str(tmp_path / 'missing.jpg')], batch_size=3)
  classified = {p.path for p in predictions if p.error is None}
  assert classified == set(good)
  errors = {p.path: p.error for p in predictions if p.error}
  assert errors.pop(str(tmp_path / 'missing.jpg')) == photo_files.NO_SUCH_PATH
  assert {path: reason.split(' (')[0] for path, reason in errors.items()} == bad
  assert len(lines) == 1 + len(good)  # the header and one row per classified photo


def test_photos_read_as_the_converter_stores_them(train_dir, tmp_path):
  """A grayscale JPEG and the same photo as an RGB PNG of its grey pixels: one picture, one
  prediction (the converter turns both into the same RGB)."""
  gray = tmp_path / 'gray.jpg'
  gray.write_bytes(photo_bytes('L', 'JPEG'))
  with Image.open(gray) as image:
    image.convert('RGB').save(tmp_path / 'gray_as_rgb.png')
  predictions, _ = run_predict(train_dir, [str(gray), str(tmp_path / 'gray_as_rgb.png')])
  np.testing.assert_allclose(predictions[0].probabilities, predictions[1].probabilities,
                             atol=0.02)


def test_folders_are_walked_and_patterns_expanded_once_each(tmp_path):
  for name in ('a/1.jpg', 'a/b/2.PNG', 'a/notes.txt', 'a/.hidden/3.jpg', 'c/4.jpeg'):
    os.makedirs(os.path.dirname(tmp_path / name), exist_ok=True)
    (tmp_path / name).write_bytes(b'x')
  root = str(tmp_path)
  paths, problems = photo_files.expand([root + '/a', root + '/a/b/2.PNG', root + '/c/*.jpeg',
                                        root + '/a/notes.txt', root + '/z*.jpg', root + '/c/5.jpg',
                                        root + '/a/.hidden/..'])
  assert paths == [root + '/a/1.jpg', root + '/a/b/2.PNG', root + '/c/4.jpeg',
                   root + '/a/notes.txt']
  assert problems == [(root + '/z*.jpg', photo_files.NO_MATCH),
                      (root + '/c/5.jpg', photo_files.NO_SUCH_PATH)]
  empty = tmp_path / 'empty'
  empty.mkdir()
  assert photo_files.expand([str(empty)]) == ([], [(str(empty), photo_files.NO_PHOTOS)])


def test_a_true_or_false_left_over_from_a_flag_is_named_as_such(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # "--use_batch_norm false" hands "false" over as a photo
  assert photo_files.expand(['false', 'True']) == (
      [], [('false', photo_files.BOOLEAN_WORD), ('True', photo_files.BOOLEAN_WORD)])
  (tmp_path / 'false').write_bytes(b'x')  # a file of that name is still a file
  assert photo_files.expand(['false'])[0] == ['false']


def test_the_table_aligns_the_top_classes_of_every_photo():
  table = reports.Table(['daisy', 'sunflowers', 'roses'], 2, ['a.jpg', 'folder/long_name.png'])
  rows = [table.header(), table.row('a.jpg', [0.1, 0.7, 0.2]),
          table.row('folder/long_name.png', [0.5, 0.25, 0.25])]
  assert rows == ['photo                 top 1               top 2',
                  'a.jpg                 sunflowers   70.0%  roses        20.0%',
                  'folder/long_name.png  daisy        50.0%  sunflowers   25.0%']
  assert len(reports.Table(['a', 'b'], 5, []).header().split('top')) == 3  # k <= classes


@pytest.mark.parametrize('name', ['out.csv', 'out.jsonl'])
def test_the_output_file_holds_every_class_probability_and_the_skipped_photos(
    train_dir, tmp_path, name):
  photo = write_photos(tmp_path / 'photos', ['rgb.jpg'])[0]
  empty = tmp_path / 'photos' / 'empty.jpg'
  empty.write_bytes(b'')
  output = tmp_path / 'results' / name
  os.makedirs(output.parent)
  predictions, _ = run_predict(train_dir, [photo, str(empty)], output=str(output))
  probabilities = predictions[0].probabilities
  if name.endswith('.csv'):
    with open(output, newline='', encoding='utf-8') as f:
      rows = list(csv.DictReader(f))
    assert [r['path'] for r in rows] == [photo, str(empty)]
    assert [float(rows[0][c]) for c in CLASS_NAMES] == pytest.approx(probabilities, abs=1e-6)
    assert rows[0]['class'] == CLASS_NAMES[int(np.argmax(probabilities))]
    assert rows[0]['error'] == '' and rows[1]['error'] == 'empty file'
  else:
    with open(output, encoding='utf-8') as f:
      records = [json.loads(line) for line in f]
    assert records[0]['path'] == photo
    assert records[0]['probabilities'] == pytest.approx(dict(zip(CLASS_NAMES, probabilities)))
    assert records[0]['class'] == CLASS_NAMES[int(np.argmax(probabilities))]
    assert records[0]['probability'] == pytest.approx(max(probabilities))
    assert records[1] == {'path': str(empty), 'error': 'empty file'}
  assert os.listdir(output.parent) == [name]  # no temporary file left


def test_explain_writes_a_grad_cam_picture_per_photo(train_dir, tmp_path):
  photos = write_photos(tmp_path / 'photos', ['rgb.jpg', 'photo.png'])
  os.makedirs(tmp_path / 'other')
  (tmp_path / 'other' / 'rgb.jpg').write_bytes(photo_bytes(seed=7))
  explain = tmp_path / 'explained'
  run_predict(train_dir, photos + [str(tmp_path / 'other')], explain=str(explain))
  assert sorted(os.listdir(explain)) == ['photo.png', 'rgb-2.png', 'rgb.png']
  with Image.open(explain / 'rgb.png') as picture:
    assert picture.width == 224 and picture.height > 224


def test_explain_writes_over_no_photo_and_no_file_it_did_not_make(train_dir, tmp_path):
  """Explained into the photo folder: a.jpg's picture does not replace the photo a.png (nor
  a.png's own picture); a file already in the folder keeps its bytes too."""
  folder = tmp_path / 'photos'
  os.makedirs(folder)
  (folder / 'a.jpg').write_bytes(photo_bytes(seed=1))
  (folder / 'a.png').write_bytes(photo_bytes(image_format='PNG', seed=2))
  (folder / 'b.png').write_bytes(b'not mine: an earlier picture, or anything')
  before = {name: (folder / name).read_bytes() for name in os.listdir(folder)}
  predictions, _ = run_predict(train_dir, [str(folder / 'a.jpg'), str(folder / 'a.png')],
                               explain=str(folder))
  assert not any(p.error for p in predictions)
  assert {name: (folder / name).read_bytes() for name in before} == before
  assert sorted(os.listdir(folder)) == ['a-2.png', 'a-3.png', 'a.jpg', 'a.png', 'b.png']
  with Image.open(folder / 'a-2.png') as picture:
    assert picture.width == 224


def test_an_output_that_names_a_photo_is_refused(train_dir, tmp_path):
  """A photo given by name is taken whatever its extension: an --output naming it would
  replace it."""
  photo = tmp_path / 'holiday.json'
  photo.write_bytes(photo_bytes(seed=4))
  for output in (str(photo), str(tmp_path / '.' / 'holiday.json')):
    with pytest.raises(UserError, match='is one of the photos to classify') as raised:
      run_predict(train_dir, [str(photo)], output=output)
    assert '\n' not in str(raised.value)
  assert photo.read_bytes() == photo_bytes(seed=4)


def test_a_photo_tensorflow_cannot_decode_or_hold_is_skipped_alone():
  class Classifier:
    def run(self, encoded):
      if any(data.startswith(b'BAD') for data in encoded):
        raise tf.errors.InvalidArgumentError(None, None, 'Invalid JPEG data\nmore')
      if any(data.startswith(b'LONG') for data in encoded):  # --full_image on a 60000x1 strip
        raise tf.errors.ResourceExhaustedError(None, None, 'OOM when allocating tensor')
      return {'probabilities': np.full([len(encoded), 2], 0.5)}

  results = predict.classify_batch(Classifier(), ['a', 'BAD', 'c', 'LONG'],
                                   read_file=lambda path: (path.encode(), None))
  assert [(p.path, p.error) for p, _ in results] == [
      ('a', None), ('BAD', 'TensorFlow cannot decode it (Invalid JPEG data)'), ('c', None),
      ('LONG', 'too large for the memory at this size (OOM when allocating tensor)')]


def test_file_names_that_are_not_utf8_are_shown_and_written(train_dir, tmp_path):
  folder = tmp_path / 'photos'
  os.makedirs(folder)
  name = os.fsdecode(b'\xff-latin.jpg')  # an old camera's or zip's name: a lone surrogate
  (folder / name).write_bytes(photo_bytes(seed=3))
  output = tmp_path / 'out.csv'
  predictions, lines = run_predict(train_dir, [str(folder)], output=str(output))
  assert not predictions[0].error
  shown = str(folder / '\ufffd-latin.jpg')
  assert lines[1].startswith(shown + '  ')
  with open(output, newline='', encoding='utf-8') as f:
    assert [row['path'] for row in csv.DictReader(f)] == [shown]


def test_a_fifo_or_a_device_given_as_a_photo_is_skipped_unopened_with_what_it_is(tmp_path):
  os.mkfifo(tmp_path / 'pipe.jpg')
  assert predict.read_photo(str(tmp_path / 'pipe.jpg')) == (None, 'not a regular file (FIFO)')
  assert predict.read_photo('/dev/zero') == (None, 'not a regular file (character device)')


def test_a_name_with_a_newline_or_a_tab_stays_one_row_and_is_written_as_it_is(train_dir,
                                                                            tmp_path):
  folder = tmp_path / 'photos'
  os.makedirs(folder)
  names = ['two\nlines.jpg', 'tab\there\x1b.jpg']
  for seed, name in enumerate(names):
    (folder / name).write_bytes(photo_bytes(seed=seed))
  (folder / 'bad\r\nname.jpg').write_bytes(b'')
  output = tmp_path / 'out.csv'
  predictions, lines = run_predict(train_dir, [str(folder)], output=str(output))
  assert [os.path.basename(p.path) for p in predictions] == [
      'bad\r\nname.jpg', 'tab\there\x1b.jpg', 'two\nlines.jpg']
  assert len(lines) == 3 and not any(c in line for line in lines for c in '\n\r\t\x1b')
  assert lines[1].startswith(str(folder) + '/tab\\there\\x1b.jpg  ')
  assert lines[2].startswith(str(folder) + '/two\\nlines.jpg  ')
  assert lines[1].index('%') == lines[2].index('%')  # still aligned
  skipped = reports.skipped_lines([(p.path, p.error) for p in predictions if p.error], 3)
  assert skipped[1:] == ['  %s/bad\\r\\nname.jpg: empty file' % folder]
  with open(output, newline='', encoding='utf-8') as f:  # the csv module quotes them
    assert [row['path'] for row in csv.DictReader(f)] == [p.path for p in predictions]
  lines_file = io.StringIO()
  writer = reports.OutputFile(lines_file, 'jsonl', CLASS_NAMES)
  writer.classified(predictions[2].path, predictions[2].probabilities)
  writer.skipped(predictions[0].path, predictions[0].error)
  assert [json.loads(line)['path'] for line in lines_file.getvalue().splitlines()] == [
      predictions[2].path, predictions[0].path]


def test_explaining_into_the_photo_folder_leaves_its_pictures_out(train_dir, tmp_path):
  """A second run does not classify the first run's pictures; a name too long for the picture's
  temporary name is cut."""
  long_name = 'x' * 240 + '.jpg'
  write_photos(tmp_path / 'photos', ['rgb.jpg'])
  (tmp_path / 'photos' / long_name).write_bytes(photo_bytes(seed=5))
  explain = tmp_path / 'photos' / 'explained'
  for _ in range(2):
    predictions, _ = run_predict(train_dir, [str(tmp_path / 'photos')], explain=str(explain))
    assert [os.path.basename(p.path) for p in predictions] == ['rgb.jpg', long_name]
  # the first run's pictures are files this run did not make: kept, the new ones numbered
  assert sorted(os.listdir(explain)) == ['rgb-2.png', 'rgb.png', 'x' * 200 + '-2.png',
                                         'x' * 200 + '.png']


@pytest.mark.slow
def test_moving_averages_are_used_when_the_run_kept_them(tmp_path):
  train_dir = str(tmp_path / 'train')
  save_checkpoint(train_dir, averages_decay=0.99)
  photo = write_photos(tmp_path / 'photos', ['rgb.jpg'])
  [averaged], _ = run_predict(train_dir, photo)
  [raw], _ = run_predict(train_dir, photo, overrides=run_settings.Overrides(moving_average_decay=0))
  assert raw.probabilities == pytest.approx([0.2] * 5)  # raw fc8 is 0
  assert np.ptp(averaged.probabilities) > 0.1


@pytest.mark.parametrize('settings, message', [
    (dict(photos=[]), 'name the photos'),
    (dict(checkpoint_path='/nonexistent/run'), 'checkpoint /nonexistent/run does not exist'),
    (dict(top_k=0), '--top_k must be positive'),
    (dict(output='out.txt'), 'use a .csv file'),
    (dict(overrides=run_settings.Overrides(image_size=60)), '--image_size must be at least 195'),
    (dict(overrides=run_settings.Overrides(image_size=0)), '--image_size must be at least 195'),
])
def test_settings_that_cannot_work_are_user_errors(train_dir, settings, message):
  config = dict(checkpoint_path=train_dir, photos=['x.jpg'])
  config.update(settings)
  with pytest.raises(UserError, match=message):
    predict.predict(predict_config.PredictConfig(**config))


def test_a_checkpoint_of_another_class_count_is_a_user_error(tmp_path):
  save_checkpoint(str(tmp_path), class_names=('a', 'b', 'c'), describe=False)
  (tmp_path / 'five.txt').write_text(''.join('%d:%s\n' % p for p in enumerate(CLASS_NAMES)))
  photo = write_photos(tmp_path / 'photos', ['rgb.jpg'])
  with pytest.raises(UserError, match=r'fc8/biases with shape \[3\] but the model needs \[5\]'):
    run_predict(str(tmp_path), photo,
                overrides=run_settings.Overrides(labels_file=str(tmp_path / 'five.txt')))


def test_a_damaged_checkpoint_is_a_user_error(tmp_path):
  run_info.write(str(tmp_path), run_info.RunInfo('alexnet_v2', list(CLASS_NAMES), 224,
                                                 'inception'))
  (tmp_path / 'model.ckpt-9.index').write_bytes(b'garbage')
  (tmp_path / 'model.ckpt-9.data-00000-of-00001').write_bytes(b'garbage')
  photo = write_photos(tmp_path / 'photos', ['rgb.jpg'])
  with pytest.raises(UserError, match='model.ckpt-9 cannot be read'):
    run_predict(str(tmp_path), photo)


def test_a_reordered_labels_file_beside_the_checkpoint_is_refused(tmp_path):
  train_dir = str(tmp_path / 'train')
  save_checkpoint(train_dir, describe=True)
  labels = reorder_labels(train_dir)
  photo = write_photos(tmp_path / 'photos', ['rgb.jpg'])
  with pytest.raises(UserError, match='%s does not match %s' % (
      labels, os.path.join(train_dir, 'run.json'))):
    run_predict(train_dir, photo)
