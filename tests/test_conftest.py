"""The session fixtures of conftest.py stay as they were built: a test that writes into one fails,
by name, and the copy records_dataset_copy hands out is the test's own."""
import os

CONFTEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'conftest.py')

TESTS = '''
import os

def test_writes_into_the_shared_dataset(records_dataset):
  with open(os.path.join(records_dataset[0], 'labels.txt'), 'a') as f:
    f.write('5:x\\n')

def test_makes_and_removes_a_file_in_it(records_dataset):
  path = os.path.join(records_dataset[0], 'lock')
  open(path, 'w').close()
  os.remove(path)

def test_changes_its_own_copy(records_dataset_copy):
  os.remove(os.path.join(records_dataset_copy[0], 'labels.txt'))

def test_reads_it(records_dataset):
  assert os.path.isfile(os.path.join(records_dataset[0], 'labels.txt'))
'''


def test_a_test_that_changes_a_shared_folder_fails_by_name(pytester):
  with open(CONFTEST) as f:
    pytester.makeconftest(f.read())
  pytester.makepyfile(test_shared=TESTS)
  result = pytester.runpytest_inprocess('-p', 'no:cacheprovider', '-p', 'no:randomly',
                                        '--basetemp=%s' % (pytester.path / 'basetemp'))
  result.assert_outcomes(passed=4, errors=2)
  # The failures' own lines (the short summary repeats them in full when the CI variable is set)
  errors = [line for line in result.outlines
            if line.startswith('test_') and 'changed the shared folders' in line]
  assert len(errors) == 2, result.outlines
  assert 'test_writes_into_the_shared_dataset changed the shared folders of records_dataset' \
      in errors[0] and 'labels.txt' in errors[0]
  assert 'test_makes_and_removes_a_file_in_it changed' in errors[1]


def test_a_memory_folder_is_used_only_when_it_exists_and_has_room(tmp_path):
  import conftest
  made = conftest.memory_basetemp(str(tmp_path), min_free=0)
  assert os.path.dirname(made) == str(tmp_path) and os.listdir(made) == []
  assert conftest.memory_basetemp(str(tmp_path), min_free=2**62) is None
  assert conftest.memory_basetemp(str(tmp_path / 'missing'), min_free=0) is None
