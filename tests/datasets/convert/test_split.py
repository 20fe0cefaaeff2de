"""datasets.convert.photos: the stratified split, and photos that come split (train/ and val/)."""
import collections
import os
import random

import pytest

from base import UserError
from datasets.convert import photos
from support.photo_fixtures import make_photos


def _many_classes(num_classes=300, seed=0):
  """[(relative path, class id)] of num_classes classes of 1-5 photos (about one in ten of one)."""
  rng = random.Random(seed)
  sizes = [1 if rng.random() < 0.1 else rng.randint(2, 5) for _ in range(num_classes)]
  return [('c%03d/%d.jpg' % (c, i), c) for c, n in enumerate(sizes) for i in range(n)], sizes


def _per_class(items):
  return collections.Counter(label for _, label in items)


# --- the stratified split ---------------------------------------------------------------------

def test_every_class_of_two_photos_or_more_gets_validation_in_proportion():
  items, sizes = _many_classes()
  eligible = [c for c, n in enumerate(sizes) if n >= 2]
  total = sum(sizes[c] for c in eligible)
  num_validation = 450
  splits = photos.split_photos(items, num_validation, seed=0)
  validation, train = _per_class(splits['validation']), _per_class(splits['train'])
  assert len(splits['validation']) == num_validation
  assert sorted(splits['train'] + splits['validation']) == sorted(items)
  assert set(validation) == set(eligible)  # never a class of one photo
  assert all(train[c] >= 1 for c in range(len(sizes)))  # never a class's last training photo
  for c in eligible:  # in proportion, but for the minimum of one
    assert validation[c] == 1 or abs(validation[c] - num_validation * sizes[c] / total) <= 1


def test_the_flowers_classes_get_validation_photos_in_proportion_to_their_size():
  sizes = (633, 898, 641, 699, 799)  # daisy, dandelion, roses, sunflowers, tulips
  items = [('%d/%04d.jpg' % (c, i), c) for c, n in enumerate(sizes) for i in range(n)]
  splits = photos.split_photos(items, 350, seed=0)
  assert [_per_class(splits['validation'])[c] for c in range(5)] == [60, 86, 61, 67, 76]
  assert len(splits['train']) == 3320


def test_the_split_is_seeded_and_independent_of_the_list_order():
  items, _ = _many_classes()
  shuffled = list(items)
  random.Random(5).shuffle(shuffled)
  assert photos.split_photos(items, 400, seed=3) == photos.split_photos(shuffled, 400, seed=3)
  assert (photos.split_photos(items, 400, seed=3)['validation']
          != photos.split_photos(items, 400, seed=4)['validation'])


def test_fewer_validation_photos_than_classes_go_to_the_largest_classes():
  items, sizes = _many_classes()
  splits = photos.split_photos(items, 100, seed=0)
  validation = _per_class(splits['validation'])
  assert len(splits['validation']) == 100 and set(validation.values()) == {1}
  smallest_taken = min(sizes[c] for c in validation)
  assert all(sizes[c] <= smallest_taken for c in range(len(sizes)) if c not in validation)


def test_quotas_never_take_the_last_training_photo_and_refuse_what_they_cannot_give():
  assert photos.validation_quotas({'a': 1, 'b': 2, 'c': 3, 'd': 10}, 2) == {
      'a': 0, 'b': 0, 'c': 1, 'd': 1}
  assert photos.validation_quotas({'a': 1, 'b': 2, 'c': 3}, 3) == {'a': 0, 'b': 1, 'c': 2}
  with pytest.raises(UserError, match=r'num_validation=4 would leave a class without a training '
                     r'photo: .* at most 3 of the 6 photos'):
    photos.validation_quotas({'a': 1, 'b': 2, 'c': 3}, 4)
  assert photos.validation_quotas({'a': 5, 'b': 9}, 0) == {'a': 0, 'b': 0}


def test_one_large_class_among_many_small_ones_is_split_quickly_and_exactly():
  sizes = {0: 100000}
  sizes.update({c: 2 for c in range(1, 3000)})
  quotas = photos.validation_quotas(sizes, 3000)
  assert sum(quotas.values()) == 3000 and min(quotas[c] for c in range(1, 3000)) == 1
  assert quotas[0] == 1  # the minimum of one for every class took all the rest


# --- photos that come split -------------------------------------------------------------------

def test_a_folder_of_train_and_val_keeps_its_split_and_its_classes_are_the_union(tmp_path):
  make_photos(tmp_path / 'train', per_class=(3, 2, 0))
  make_photos(tmp_path / 'val', per_class=(1, 0, 2))
  (tmp_path / 'test' / 'daisy').mkdir(parents=True)  # not converted
  assert photos.given_split(str(tmp_path)) == {'train': 'train', 'validation': 'val'}
  class_names, items, _ = photos.list_photos(str(tmp_path))
  assert class_names == ['daisy', 'roses', 'tulips']
  splits = photos.split_given(items, {'train': 'train', 'validation': 'val'}, seed=0)
  assert sorted(splits['validation']) == [('val/daisy/daisy_00.jpg', 0),
                                          ('val/tulips/tulips_00.jpg', 2),
                                          ('val/tulips/tulips_01.jpg', 2)]
  assert len(splits['train']) == 5
  assert splits == photos.split_given(items[::-1], {'train': 'train', 'validation': 'val'}, 0)


def test_validation_is_a_validation_folder_too_and_a_class_named_train_is_a_class(tmp_path):
  assert photos.given_split_of(['train', 'validation'], 'x') == {'train': 'train',
                                                               'validation': 'validation'}
  assert photos.given_split_of(['train', 'bus', 'car'], 'x') is None  # classes, one of trains
  make_photos(tmp_path, per_class=(1, 1))
  (tmp_path / 'train').mkdir()
  assert photos.list_photos(str(tmp_path))[0] == ['daisy', 'roses', 'train']


@pytest.mark.parametrize('folders,message', [
    (('train', 'test'), 'has a train/ folder but no validation/ or val/'),
    (('train', 'val', 'validation'), 'has both validation/ and val/'),
])
def test_a_split_folder_that_is_not_whole_is_one_clear_error(tmp_path, folders, message):
  for folder in folders:
    make_photos(tmp_path / folder, per_class=(1,))
  with pytest.raises(UserError, match=message):
    photos.list_photos(str(tmp_path))


def test_a_validation_folder_of_loose_files_says_where_the_class_folders_go(tmp_path):
  make_photos(tmp_path / 'train', per_class=(2, 2))
  (tmp_path / 'val').mkdir()
  (tmp_path / 'val' / 'ILSVRC2012_val_00000001.JPEG').write_bytes(b'x')
  with pytest.raises(UserError, match=r'val has no class folders: expected .*val/<class>/'):
    photos.list_photos(str(tmp_path))


def test_the_fingerprint_of_a_split_folder_covers_both_splits(tmp_path):
  make_photos(tmp_path / 'train', per_class=(2, 2))
  make_photos(tmp_path / 'val', per_class=(1, 1))
  before = photos.photos_fingerprint(str(tmp_path))
  os.remove(tmp_path / 'val' / 'roses' / 'roses_00.jpg')
  assert photos.photos_fingerprint(str(tmp_path)) != before
