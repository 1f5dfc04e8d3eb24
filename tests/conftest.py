import os

# Quiet TensorFlow's C++ start-up logging; must be set before TensorFlow loads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
