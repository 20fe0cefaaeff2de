"""Checkpoints that describe themselves: training writes run.json and labels.txt beside them, and
prediction and export take everything from there (or from explicit settings for older runs)."""
import hashlib
import json
import subprocess

import pytest

from base import UserError
from rundir import run_info
from rundir import run_settings
from summaries import run_start
from support.dataset_helpers import CLASS_NAMES
from support.tf_helpers import save_random_checkpoint
from support.tf_helpers import tiny_train_config
from training import trainer


@pytest.mark.slow
def test_training_writes_what_it_takes_to_use_its_checkpoints(records_dataset, tmp_path):
  dataset_dir, _ = records_dataset
  train_dir = tmp_path / 'train'
  # (sgd: momentum would add a third to each checkpoint of weights and averages, 370 -> 555 MB)
  config = tiny_train_config(dataset_dir, train_dir, max_number_of_steps=1,
                             moving_average_decay=0.99, optimizer='sgd')
  trainer.train(config)
  with open(train_dir / 'run.json', encoding='utf-8') as f:
    record = json.load(f)
  run_id = record.pop('run_id')  # new at each fresh start (the evaluator tells runs apart)
  assert len(run_id) == 32 and int(run_id, 16) >= 0
  digest = hashlib.sha256(''.join(n + '\n' for n in CLASS_NAMES).encode()).hexdigest()
  hparams = record.pop('hparams')  # for the evaluator's HParams session
  assert hparams == run_start.hparams_of(config) and hparams['max_number_of_steps'] == 1
  assert record == {'format_version': 2, 'model_name': 'alexnet_v2', 'num_classes': 5,
                    'labels_file': 'labels.txt', 'image_size': 224,
                    'preprocessing': 'inception', 'moving_average_decay': 0.99,
                    'dataset_name': 'flowers', 'max_number_of_steps': 1,
                    'class_names_sha256': digest}
  assert (train_dir / 'labels.txt').read_text() == ''.join(
      '%d:%s\n' % (i, name) for i, name in enumerate(CLASS_NAMES))
  checkpoint, info = run_info.for_checkpoint(str(train_dir))
  assert checkpoint == str(train_dir / 'model.ckpt-1')
  assert info == run_info.RunInfo('alexnet_v2', list(CLASS_NAMES), 224, 'inception', 0.99,
                                  'flowers', max_number_of_steps=1)
  assert run_info.last_step(str(train_dir)) == 1
  assert info.run_id == run_id
  trainer.train(tiny_train_config(dataset_dir, train_dir, max_number_of_steps=2,
                                  moving_average_decay=0.99,
                                  optimizer='sgd'))  # resumed: the same run
  assert run_info.run_id_of(str(train_dir)) == run_id
  assert run_info.read(str(train_dir)).hparams == hparams  # the fresh start's, as its session


def test_a_prefix_is_described_by_its_folder_and_flags_override_it(tmp_path):
  prefix = save_random_checkpoint(str(tmp_path / 'model.ckpt-3'), 3, 3)
  run_info.write(str(tmp_path), run_info.RunInfo('alexnet_v2', ['a', 'b', 'c'], 210,
                                                 'inception', 0.9, 'mine'))
  checkpoint, info = run_info.for_checkpoint(prefix + '.index')
  assert checkpoint == prefix and info.image_size == 210 and info.moving_average_decay == 0.9
  _, info = run_info.for_checkpoint(prefix, run_settings.Overrides(image_size=224,
                                                               moving_average_decay=0))
  assert info.image_size == 224 and info.moving_average_decay is None
  assert info.class_names == ['a', 'b', 'c']


def test_an_older_folder_needs_the_labels_and_then_works(records_dataset, tmp_path):
  dataset_dir, _ = records_dataset
  save_random_checkpoint(str(tmp_path / 'model.ckpt-3'), 5, 3)
  with pytest.raises(UserError, match='no run.json .* --labels_file=PATH or --dataset_dir'):
    run_info.for_checkpoint(str(tmp_path))
  _, info = run_info.for_checkpoint(str(tmp_path), run_settings.Overrides(dataset_dir=dataset_dir))
  assert info == run_info.RunInfo('alexnet_v2', list(CLASS_NAMES), 224, 'inception')
  labels = tmp_path / 'names.txt'
  labels.write_text('0:cat\n1:dog\n')
  _, info = run_info.for_checkpoint(str(tmp_path), run_settings.Overrides(
      labels_file=str(labels), model_name='alexnet_v2_bn'))
  assert info.class_names == ['cat', 'dog'] and info.model_name == 'alexnet_v2_bn'


@pytest.mark.parametrize('content, message', [
    ('{not json', 'cannot read'),
    ('{"model_name": "alexnet_v2"}', 'not a run description'),
    ('{"model_name": "alexnet_v2", "num_classes": 4, "image_size": 224, '
     '"preprocessing": "inception"}', 'says 4 classes but its labels file names 5'),
])
def test_a_damaged_run_description_is_one_clear_error(tmp_path, content, message):
  save_random_checkpoint(str(tmp_path / 'model.ckpt-3'), 5, 3)
  run_info.write(str(tmp_path), run_info.RunInfo('alexnet_v2', list(CLASS_NAMES), 224,
                                                 'inception'))
  (tmp_path / 'run.json').write_text(content)
  with pytest.raises(UserError, match=message):
    run_info.for_checkpoint(str(tmp_path))


def test_labels_must_number_the_classes_from_zero(tmp_path):
  labels = tmp_path / 'labels.txt'
  labels.write_text('1:a\n2:b\n')
  with pytest.raises(UserError, match='classes 0..n-1'):
    run_info.read_labels(str(labels))
  with pytest.raises(UserError, match='does not exist'):
    run_info.read_labels(str(tmp_path / 'none.txt'))


def described_run(folder, class_names=CLASS_NAMES):
  """folder with a checkpoint of len(class_names) classes, run.json and labels.txt."""
  save_random_checkpoint(str(folder / 'model.ckpt-3'), len(class_names), 3)
  run_info.write(str(folder), run_info.RunInfo('alexnet_v2', list(class_names), 224,
                                               'inception'))


def edit_json(path, **changes):
  record = json.loads(path.read_text())
  record.update(changes)
  record = {key: value for key, value in record.items() if value is not None}
  path.write_text(json.dumps(record))


def test_run_json_records_the_digest_of_the_labels_file_training_wrote(tmp_path):
  described_run(tmp_path)
  record = json.loads((tmp_path / 'run.json').read_text())
  cut = subprocess.run('cut -d: -f2- labels.txt | sha256sum', shell=True, cwd=tmp_path,
                       capture_output=True, text=True, check=True)
  assert record['class_names_sha256'] == cut.stdout.split()[0]
  assert run_info.read(str(tmp_path)).class_names_sha256 == cut.stdout.split()[0]


def test_a_reordered_labels_file_is_refused_naming_both_files(tmp_path):
  described_run(tmp_path)
  labels = tmp_path / 'labels.txt'
  names = list(CLASS_NAMES)
  names[0], names[1] = names[1], names[0]
  labels.write_text(''.join('%d:%s\n' % item for item in enumerate(names)))
  with pytest.raises(UserError) as raised:
    run_info.for_checkpoint(str(tmp_path))
  message = str(raised.value)
  assert '%s does not match %s' % (labels, tmp_path / 'run.json') in message
  assert 'not those the run was trained with' in message and '\n' not in message


@pytest.mark.parametrize('changes', [
    dict(class_names_sha256='0' * 64),          # the digest edited
    dict(class_names_sha256=None),              # or removed (format 2 always has one)
    dict(labels_file='other.txt'),              # another labels file named
])
def test_an_edited_run_json_is_refused(tmp_path, changes):
  described_run(tmp_path)
  (tmp_path / 'other.txt').write_text(''.join(
      '%d:%s\n' % item for item in enumerate(reversed(CLASS_NAMES))))
  edit_json(tmp_path / 'run.json', **changes)
  with pytest.raises(UserError, match='does not match .*run.json: its class names'):
    run_info.for_checkpoint(str(tmp_path))
  with pytest.raises(UserError, match='does not match'):
    run_info.check_same_classes(str(tmp_path), CLASS_NAMES)  # resuming it too


def test_a_run_json_from_before_the_digest_still_works(tmp_path):
  described_run(tmp_path)
  edit_json(tmp_path / 'run.json', format_version=1, class_names_sha256=None)
  _, info = run_info.for_checkpoint(str(tmp_path))
  assert info.class_names == list(CLASS_NAMES) and info.class_names_sha256 == ''


def test_labels_given_in_another_order_than_the_run_is_trained_with_are_refused(tmp_path):
  described_run(tmp_path)
  reordered = tmp_path / 'reordered.txt'
  reordered.write_text(''.join('%d:%s\n' % item for item in enumerate(sorted(
      CLASS_NAMES, reverse=True))))
  with pytest.raises(UserError, match='reordered.txt lists the classes of .* in another order'):
    run_info.for_checkpoint(str(tmp_path), run_settings.Overrides(labels_file=str(reordered)))
  renamed = tmp_path / 'renamed.txt'  # other names (a translation): the user's to give
  renamed.write_text(''.join('%d:flower %d\n' % (i, i) for i in range(len(CLASS_NAMES))))
  _, info = run_info.for_checkpoint(str(tmp_path), run_settings.Overrides(labels_file=str(renamed)))
  assert info.class_names[0] == 'flower 0'
