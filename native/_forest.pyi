from typing import Any

# predict(feature, threshold, left, right, default_left, missing, value, root, x, out, features, depth, internal)
# (native/_forest.c): each row's raw score into `out`; ValueError on any bad buffer or index.
def predict(*args: Any) -> None: ...
