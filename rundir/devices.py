"""The session's settings by name, without TensorFlow: the --precision and --eval_device choices
(cli reads them before TensorFlow loads); rundir.session turns them into session configs."""

PRECISIONS = ('fp32', 'bf16', 'fp16', 'auto')
EVAL_DEVICES = ('auto', 'cpu', 'gpu')
