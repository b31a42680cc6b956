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
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.3",
        "opencv-python-headless>=4.9",
        "mtcnn>=1.0",
        "numpy>=1.26",
        "pandas>=2.0",
        "scikit-learn>=1.3",
        "scikit-image>=0.22",
        "matplotlib>=3.8",
        "imageio-ffmpeg>=0.5",
        "tqdm>=4.66",
    ],
    extras_require={"test": ["pytest>=8.0"]},
    entry_points={"console_scripts": ["vidseq=vidseq.cli:main"]},
)
