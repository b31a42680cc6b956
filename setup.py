from setuptools import setup

setup(
    name="vidseq",
    version="0.1.0",
    description="Video-sequence classification baselines for deepfake detection (Keras).",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # Notebooks do `import util, model_builder`; everything else lives in the vidseq package.
    py_modules=["util", "model_builder"],
    packages=["vidseq"],
    # Lower bounds are the versions the test suite ran against.
    install_requires=[
        "tensorflow>=2.21",
        "keras>=3.15",
        "opencv-python-headless>=5.0",
        "mtcnn>=1.0",
        "numpy>=2.4",
        "pandas>=3.1",
        "scikit-learn>=1.9",
        "scikit-image>=0.26",
        "matplotlib>=3.11",
        "imageio-ffmpeg>=0.8",
        "tqdm>=4.70",
    ],
    # Optional extras: the web app, Ray extraction, multi-device training (JAX). Tests use
    # them all: the slow tier executes the notebooks headlessly and drives the app in
    # Debian's chromium through Playwright (no browser download).
    extras_require={"test": ["pytest>=9.0", "nbclient>=0.11", "nbformat>=5.11", "ipykernel>=7.4",
                             "streamlit>=1.67", "playwright>=1.65", "ray[data]>=2.60", "jax>=0.10",
                             "psutil>=7.0"],
                    "app": ["streamlit>=1.67"],
                    "ray": ["ray[data]>=2.60"],
                    "jax": ["jax>=0.10"]},
    entry_points={"console_scripts": ["vidseq=vidseq.cli:main"]},
)
