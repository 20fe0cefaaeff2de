"""flowers.get_split, the dataset factory and the label file."""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import CLASS_NAMES, write_records_dataset
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import flowers
from base import UserError


def test_label_file_round_trips_on_python3(tmp_path):
  labels = {0: 'daisy', 1: 'dandelion', 4: 'tulips'}
  dataset_utils.write_label_file(labels, str(tmp_path))
  assert (tmp_path / 'labels.txt').read_text() == '0:daisy\n1:dandelion\n4:tulips\n'
  assert dataset_utils.read_label_file(str(tmp_path)) == labels


def test_label_file_with_a_bad_line_is_a_user_error(tmp_path):
  (tmp_path / 'labels.txt').write_text('0:daisy\ndandelion\n')
  with pytest.raises(UserError, match='line 2'):
    dataset_utils.read_label_file(str(tmp_path))


def test_get_split_reports_sizes_classes_and_names(records_dataset):
  dataset_dir, splits = records_dataset
  for split in ('train', 'validation'):
    dataset = flowers.get_split(split, dataset_dir)
    assert dataset.num_samples == len(splits[split])
    assert dataset.num_classes == 5
    assert dataset.labels_to_names == dict(enumerate(CLASS_NAMES))
    assert len(dataset.data_sources) == 2


def test_get_split_counts_shards_when_there_is_no_manifest(tmp_path):
  splits = write_records_dataset(str(tmp_path), per_class=3, num_validation=4,
                                 write_manifest=False)
  assert flowers.get_split('train', str(tmp_path)).num_samples == len(splits['train']) == 11


def test_get_split_errors_are_one_line_user_errors(tmp_path, records_dataset):
  with pytest.raises(UserError, match='unknown split "test"'):
    flowers.get_split('test', records_dataset[0])
  with pytest.raises(UserError, match='does not exist'):
    flowers.get_split('train', str(tmp_path / 'missing'))
  with pytest.raises(UserError, match='run download_and_convert_flowers.py'):
    flowers.get_split('train', str(tmp_path))


def test_factory_reads_a_dataset_converted_under_another_name(tmp_path):
  write_records_dataset(str(tmp_path), per_class=2, num_validation=3, dataset_name='mine')
  dataset = dataset_factory.get_dataset('mine', 'validation', str(tmp_path))
  assert dataset.num_samples == 3 and dataset.num_classes == 5
  with pytest.raises(UserError, match='no train shards'):
    dataset_factory.get_dataset('flowers', 'train', str(tmp_path))


def test_data_provider_reads_images_and_labels_matching_the_source(records_dataset):
  dataset_dir, splits = records_dataset
  expected = {f: (label, h, w) for f, label, h, w in splits['validation']}
  with tf.Graph().as_default():
    dataset = flowers.get_split('validation', dataset_dir)
    provider = slim.dataset_data_provider.DatasetDataProvider(dataset, shuffle=False,
                                                              num_epochs=1)
    image, label, filename = provider.get(['image', 'label', 'filename'])
    seen = {}
    with tf.compat.v1.train.MonitoredSession() as sess:
      while not sess.should_stop():
        img, lab, name = sess.run([image, label, filename])
        seen[name.decode()] = (int(lab), img.shape[0], img.shape[1], img)
  assert set(seen) == set(expected)
  colours = np.array([(240, 240, 240), (230, 210, 30), (200, 30, 60), (120, 70, 20),
                      (150, 40, 200)])
  for name, (label, h, w, img) in seen.items():
    assert (label, h, w) == expected[name]
    assert img.shape == (h, w, 3) and img.dtype == np.uint8
    mean = img.reshape(-1, 3).mean(axis=0)
    assert np.argmin(np.abs(colours - mean).sum(axis=1)) == label

