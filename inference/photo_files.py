"""The photos a prediction is asked about: files, folders (walked recursively) and glob patterns,
expanded into one list of files in a stable order, with what could not be found."""
import glob
import os

from base import GLOB_CHARACTERS

# Files a folder walk takes (any case); a file named explicitly or matched by a pattern is taken
# whatever its name, and skipped later if it is not an image.
PHOTO_EXTENSIONS = ('.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.gif', '.bmp', '.webp', '.tif',
                    '.tiff')
NO_SUCH_PATH = 'no such file or folder'
# "--use_batch_norm false": absl's boolean flags take no separate value, so "false" arrives here.
BOOLEAN_WORD = NO_SUCH_PATH + ' (a true/false flag takes its value as --flag=false)'
NO_MATCH = 'the pattern matches no file'
NO_PHOTOS = 'the folder holds no photos (%s)' % ' '.join(PHOTO_EXTENSIONS)


def folder_photos(folder, leave_out=None):
  """The photo files under a folder, recursively (linked folders too, each once), sorted; hidden
  files and folders, and the folder `leave_out` (predict's own pictures), left out."""
  found, walked = [], set()
  for root, dirs, files in os.walk(folder, followlinks=True):
    if os.path.realpath(root) in walked:  # a link back up the tree
      dirs[:] = []
      continue
    walked.add(os.path.realpath(root))
    dirs[:] = sorted(d for d in dirs if not d.startswith('.') and (
        leave_out is None or os.path.realpath(os.path.join(root, d)) != leave_out))
    found.extend(os.path.join(root, name) for name in sorted(files)
                 if not name.startswith('.') and name.lower().endswith(PHOTO_EXTENSIONS))
  return found


def _expand_one(argument, leave_out):
  """(files, problem or None) of one argument."""
  if os.path.isdir(argument):
    found = folder_photos(argument, leave_out)
    return found, None if found else NO_PHOTOS
  if os.path.exists(argument):
    return [argument], None
  if argument.lower() in ('true', 'false'):
    return [], BOOLEAN_WORD
  if not any(c in argument for c in GLOB_CHARACTERS):
    return [], NO_SUCH_PATH
  found = []
  for match in sorted(glob.glob(argument, recursive=True)):
    found.extend(folder_photos(match, leave_out) if os.path.isdir(match) else [match])
  return found, None if found else NO_MATCH


def expand(arguments, leave_out=None):
  """(photo paths in the order given, each once; [(argument, problem)] for the arguments that
  name nothing). Folders walked skip the folder `leave_out`."""
  leave_out = os.path.realpath(leave_out) if leave_out else None
  paths, problems, seen = [], [], set()
  for argument in arguments:
    found, problem = _expand_one(argument, leave_out)
    if problem:
      problems.append((argument, problem))
    for path in found:
      key = os.path.realpath(path)
      if key not in seen:
        seen.add(key)
        paths.append(path)
  return paths, problems
